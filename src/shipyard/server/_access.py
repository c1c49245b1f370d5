"""Who is calling, and may they do this: authentication and role checks for every endpoint.

Roles are per project and ordered, each including the ones before it:

- ``viewer`` reads experiments, runs, metrics, artifacts and lineage;
- ``editor`` also writes: creates experiments and runs, logs to runs, records lineage;
- ``maintainer`` also renames, deletes and restores (and, with the registry, moves aliases
  and promotes versions);
- ``admin`` also manages the project's members; ``admin`` on ``*`` manages users.

A role on project ``*`` applies to every project. Without authentication (a server bound to
loopback) the caller is an anonymous admin.

Every record belongs to a project (its own ``project``, or that of the record it hangs off:
a step run's pipeline run, a materialization's feature view, a monitor run's monitor), and
every endpoint checks the caller's role there: a record of a project the caller has no
role on is a 403, as for runs and models. Listings are narrowed to the projects the caller
may read before their limit applies; a lineage walk stops at nodes of other projects; a
blob the caller may not read is a 404, as if it were not stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from shipyard._validation import ALL_PROJECTS
from shipyard.client import LocalStore
from shipyard.entities import ROLES, LineageEdge, LineageNode, User
from shipyard.errors import NotFound, PermissionDenied, Unauthenticated
from shipyard.server._state import ANONYMOUS, Backend

LEVEL = {role: i for i, role in enumerate(ROLES)}


def level(user: User, project: str) -> int:
    """How much ``user`` may do on ``project``: the index of their role in ROLES, or -1."""
    own = LEVEL.get(user.roles.get(project, ""), -1)
    everywhere = LEVEL.get(user.roles.get(ALL_PROJECTS, ""), -1)
    return max(own, everywhere)


def projects_with(user: User, role: str) -> list[str] | None:
    """The projects where ``user`` has at least ``role``; None means every project."""
    if LEVEL.get(user.roles.get(ALL_PROJECTS, ""), -1) >= LEVEL[role]:
        return None
    return [p for p, r in user.roles.items() if LEVEL.get(r, -1) >= LEVEL[role]]


class Caller:
    """The authenticated caller of one request, with the checks the endpoints need."""

    def __init__(self, request: Request, backend: Backend, user: User) -> None:
        self.request = request
        self.backend = backend
        self.user = user

    @property
    def store(self) -> LocalStore:
        return self.backend.store

    def require(self, project: str, role: str) -> None:
        """Refuse (403) unless the caller has ``role`` on ``project``; note the project for
        the audit log."""
        self.request.state.project = project
        if self.backend.auth and level(self.user, project) < LEVEL[role]:
            held = self.user.roles.get(project) or self.user.roles.get(ALL_PROJECTS)
            raise PermissionDenied(
                f"user {self.user.name!r} needs the {role} role on project {project!r} "
                f"(has {held or 'no role'}); ask an admin to run "
                f"`shipyard users grant {self.user.name} {role} --project {project}`",
                field="project",
            )

    def require_on(self, kind: str, ident: str, role: str) -> None:
        """``require`` on the project owning the ``kind`` record ``ident`` (NotFound when
        there is none; skipped, with no look-up, without auth)."""
        if self.backend.auth:
            self.require(self.backend.project_of(kind, ident), role)

    def require_run(self, run_id: str, role: str) -> None:
        """``require`` on the project of a run."""
        self.require_on("run", run_id, role)

    def require_experiment(self, experiment_id: str, role: str) -> None:
        """``require`` on the project of an experiment."""
        self.require_on("experiment", experiment_id, role)

    def require_put(self, kind: str, name: str, project: str, role: str) -> None:
        """``require`` for a create-or-replace by name: on the project of the existing
        record (which keeps its project), else on ``project``, where it will be created."""
        if not self.backend.auth:
            return
        try:
            owner = self.backend.project_of(kind, name)
        except NotFound:
            owner = project
        self.require(owner, role)

    def require_somewhere(self, role: str) -> None:
        """Refuse unless the caller has ``role`` on at least one project."""
        if self.backend.auth and projects_with(self.user, role) == []:
            raise PermissionDenied(
                f"user {self.user.name!r} needs the {role} role on some project; ask an admin "
                f"to run `shipyard users grant {self.user.name} {role} --project PROJECT`",
                field="project",
            )

    def require_admin(self) -> None:
        """Refuse unless the caller is an admin of every project (``admin`` on ``*``)."""
        self.require(ALL_PROJECTS, "admin")

    def projects_for(self, role: str, wanted: Sequence[str] | None) -> list[str] | None:
        """The projects a listing covers: ``wanted`` (None: every project) narrowed to those
        where the caller has ``role``; None means every project. Narrowing happens before a
        query's limit, so a page is never emptied by records the caller may not see."""
        allowed = projects_with(self.user, role) if self.backend.auth else None
        if allowed is None:
            return None if wanted is None else list(wanted)
        return [p for p in (wanted or allowed) if p in allowed]

    def lineage_edges(self, edges: Iterable[BaseModel]) -> list[LineageEdge]:
        """The lineage edges of a request body; refused unless the caller is an editor on
        the project of both ends of every edge. A node no project owns (a kind with no
        records, or a record that does not exist) needs editor on every project."""
        found = [LineageEdge.from_dict(edge.model_dump()) for edge in edges]
        if self.backend.auth and found:
            nodes = {node for edge in found for node in (edge.src, edge.dst)}
            owners = self.store.projects_of(nodes)
            for project in sorted({owners.get(node, ALL_PROJECTS) for node in nodes}):
                self.require(project, "editor")
        return found

    def require_node(self, node: LineageNode, role: str) -> None:
        """``require`` on the project of a lineage node (a node no project owns needs the
        role on every project)."""
        if self.backend.auth:
            self.require(self.store.projects_of([node]).get(node, ALL_PROJECTS), role)

    def require_blob(self, digest: str) -> None:
        """Refuse (404, as for a blob that is not stored) unless a record of a project the
        caller may read references the blob: storing a blob grants no right to read it."""
        if not self.backend.auth:
            return
        if not self.store.blob_referenced(digest, projects_with(self.user, "viewer")):
            raise NotFound(f"no blob {digest} is stored", field="digest")

    def may_see(self, project: str) -> bool:
        """True when the caller may read ``project``."""
        return not self.backend.auth or level(self.user, project) >= LEVEL["viewer"]


_NO_TOKEN = (
    "this server requires an API token: set SHIPYARD_TOKEN or put it in "
    "~/.shipyard/credentials (ask an admin for one: `shipyard tokens create --user NAME`)"
)


async def get_caller(request: Request) -> Caller:
    """The caller of this request; 401 when authentication is on and no valid token came."""
    backend: Backend = request.app.state.backend
    if not backend.auth:
        return Caller(request, backend, ANONYMOUS)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise Unauthenticated(_NO_TOKEN)
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send the API token as the header 'Authorization: Bearer <token>'")
    token = token.strip()
    user = backend.cached_user(token)
    if user is None:
        user = await run_in_threadpool(backend.authenticate, token)
    request.state.user = user.name
    return Caller(request, backend, user)


CallerDep = Annotated[Caller, Depends(get_caller)]
