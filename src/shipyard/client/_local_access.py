"""LocalStore's access-control operations: users, API tokens, project roles and the audit log.

Embedded, whoever opens the database is trusted with everything (this is how an operator
bootstraps a server: ``shipyard users create`` on the server's database). A Shipyard server
uses the extra methods here (``authenticate``, ``record_audit``, ``run_project``...) to decide
and record what each caller may do.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar

from shipyard import _validation as v
from shipyard.entities import AuditEntry, NewToken, TokenInfo, User
from shipyard.errors import InvalidArgument
from shipyard.store import access_db

if TYPE_CHECKING:
    from sqlalchemy import Connection

T = TypeVar("T")
MAX_AUDIT_PAGE = 10_000


def _now() -> int:
    return time.time_ns() // 1_000_000


class AccessMixin:
    """Users, tokens, roles and audit entries in the metadata database."""

    if TYPE_CHECKING:

        def _write(self) -> AbstractContextManager[Connection]: ...
        def _read(self, fn: Callable[[Connection], T]) -> T: ...

    # ------------------------------------------------------------------ users and roles

    def create_user(self, name: str) -> User:
        """Add a user; they can do nothing until given a role (``set_role``)."""
        v.check_identifier(name, "user")
        with self._write() as conn:
            return access_db.create_user(conn, name, _now())

    def get_user(self, name: str) -> User:
        """A user and their roles."""
        return self._read(lambda c: access_db.get_user(c, name))

    def list_users(self) -> list[User]:
        """Every user and their roles."""
        return self._read(access_db.list_users)

    def set_role(self, user: str, project: str, role: str | None) -> None:
        """Give ``user`` a role on ``project`` (``*``: every project), or remove it (None)."""
        v.check_project(project, allow_all=True)
        with self._write() as conn:
            access_db.set_role(conn, user, project, role)

    # ------------------------------------------------------------------ tokens

    def create_token(
        self, user: str | None = None, name: str = "", expires_at: int | None = None
    ) -> NewToken:
        """A new API token for ``user``; the secret is in the result only, never stored."""
        if user is None:
            raise InvalidArgument(
                "say which user the token is for (embedded there is no current user): "
                "`shipyard tokens create --user NAME`",
                field="user",
            )
        v.check_text(name, "name", v.MAX_NAME_LEN)
        if expires_at is not None:
            v.check_timestamp(expires_at)
        with self._write() as conn:
            return access_db.create_token(conn, user, name, expires_at, _now())

    def list_tokens(self, user: str | None = None) -> list[TokenInfo]:
        """API tokens of ``user`` (everyone's when None), revoked and expired ones included."""
        return self._read(lambda c: access_db.list_tokens(c, user))

    def get_token(self, token_id: str) -> TokenInfo:
        """One token's metadata."""
        return self._read(lambda c: access_db.get_token(c, token_id))

    def revoke_token(self, token_id: str) -> None:
        """Make a token unusable from now on."""
        with self._write() as conn:
            access_db.revoke_token(conn, token_id, _now())

    def authenticate(self, token: str) -> User:
        """The user an API token belongs to (Unauthenticated when it is not valid now)."""
        return self._read(lambda c: access_db.authenticate(c, token, _now()))

    # ------------------------------------------------------------------ audit

    def record_audit(self, entries: Sequence[dict[str, Any]]) -> None:
        """Append audit entries (the server calls this for every write request)."""
        if entries:
            with self._write() as conn:
                access_db.record_audit(conn, entries)

    def prune_audit(self, before_ms: int) -> int:
        """Delete audit entries older than ``before_ms`` (epoch ms); returns how many."""
        with self._write() as conn:
            return access_db.prune_audit(conn, before_ms)

    def list_audit(
        self,
        limit: int = 100,
        before_id: int | None = None,
        user: str | None = None,
        projects: Sequence[str] | None = None,
    ) -> list[AuditEntry]:
        """Audit entries, newest first; page with ``before_id`` (the last id seen)."""
        if not 1 <= limit <= MAX_AUDIT_PAGE:
            raise InvalidArgument(
                f"limit must be between 1 and {MAX_AUDIT_PAGE}, got {limit}", field="limit"
            )
        return self._read(
            lambda c: access_db.list_audit(
                c, limit=limit, before_id=before_id, user=user, projects=projects
            )
        )

    # ------------------------------------------------------------------ projects

    def run_project(self, run_id: str) -> str:
        """The project a run belongs to (through its experiment)."""
        return self._read(lambda c: access_db.run_project(c, run_id))

    def experiment_project(self, experiment_id: str) -> str:
        """The project an experiment belongs to."""
        return self._read(lambda c: access_db.experiment_project(c, experiment_id))

    def model_project(self, name: str) -> str | None:
        """The project a registered model belongs to (None when there is no such model)."""
        return self._read(lambda c: access_db.model_project(c, name))
