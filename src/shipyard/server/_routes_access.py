"""REST endpoints for users, project roles, API tokens and the audit log.

Admins (``admin`` on some project) create and list users and read the audit entries of their
projects; granting a role on a project needs ``admin`` there (on ``*`` for every project).
Anyone authenticated manages their own tokens; an admin of every project manages anyone's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from shipyard import _validation as v
from shipyard.server import _schemas as s
from shipyard.server._access import Caller, CallerDep, projects_with
from shipyard.server._http import ProjectsQuery, api_router, no_content, respond

router = api_router()


@router.get("/whoami", response_model=s.UserOut, tags=["access"])
def whoami(caller: CallerDep) -> Response:
    """The calling user and their roles."""
    return respond(caller.user.to_dict())


@router.post("/users", response_model=s.UserOut, tags=["access"])
def create_user(body: s.CreateUser, caller: CallerDep) -> Response:
    """Add a user with no roles (needs admin on some project)."""
    caller.require_somewhere("admin")
    return respond(caller.store.create_user(body.name).to_dict())


@router.get("/users", response_model=s.UserList, tags=["access"])
def list_users(caller: CallerDep) -> Response:
    """Every user and their roles (needs admin on some project)."""
    caller.require_somewhere("admin")
    return respond({"users": [u.to_dict() for u in caller.store.list_users()]})


@router.put("/users/{name}/roles/{project}", status_code=204, tags=["access"])
def set_role(name: str, project: str, body: s.SetRole, caller: CallerDep) -> Response:
    """Give a user a role on a project (``*``: every project), or take it away with
    ``{"role": null}`` (needs admin on that project)."""
    caller.require(v.check_project(project, allow_all=True), "admin")
    caller.store.set_role(name, project, body.role)
    caller.backend.forget_principals()
    return no_content()


@router.post("/tokens", response_model=s.NewTokenOut, tags=["access"])
def create_token(body: s.CreateToken, caller: CallerDep) -> Response:
    """A new API token (for yourself, or for anyone as an admin of every project). The
    token is in this response only; the server keeps a salted hash."""
    user = body.user
    if caller.backend.auth:
        user = user or caller.user.name
        _require_self_or_admin(caller, user)
    new = caller.store.create_token(user, body.name, body.expires_at)
    return respond(new.to_dict())


@router.get("/tokens", response_model=s.TokenList, tags=["access"])
def list_tokens(caller: CallerDep, user: str | None = None) -> Response:
    """API tokens: your own; an admin of every project sees anyone's (everyone's by default)."""
    if caller.backend.auth:
        if user is None and projects_with(caller.user, "admin") is not None:
            user = caller.user.name
        if user is not None:
            _require_self_or_admin(caller, user)
    return respond({"tokens": [t.to_dict() for t in caller.store.list_tokens(user)]})


@router.delete("/tokens/{token_id}", status_code=204, tags=["access"])
def revoke_token(token_id: str, caller: CallerDep) -> Response:
    """Revoke an API token: your own, or anyone's as an admin of every project."""
    _require_self_or_admin(caller, caller.store.get_token(token_id).user)
    caller.store.revoke_token(token_id)
    caller.backend.forget_principals()
    return no_content()


def _require_self_or_admin(caller: Caller, user: str) -> None:
    if user != caller.user.name:
        caller.require_admin()


@router.get("/audit", response_model=s.AuditList, tags=["access"])
def list_audit(
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    before_id: Annotated[int | None, Query(ge=0, le=s.INT64)] = None,
    user: str | None = None,
    project: ProjectsQuery = None,
) -> Response:
    """Audit entries of writes, newest first (needs admin; a project's admin sees that
    project's entries). Page with ``before_id``, the smallest id of the previous page."""
    caller.require_somewhere("admin")
    caller.backend.audit.flush()
    entries = caller.store.list_audit(limit, before_id, user, caller.projects_for("admin", project))
    return respond({"entries": [entry.to_dict() for entry in entries]})
