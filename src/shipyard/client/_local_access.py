"""LocalStore's access control: users, API tokens, project roles and the audit log in the
metadata database.

Embedded there is no current user, so a token is always for a named user. A Shipyard server
uses the extra methods here (``authenticate``, ``record_audit``, ``project_of``...) to decide
and record what each caller may do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from shipyard.client._access import AccessStore
from shipyard.client._local_base import LocalBase
from shipyard.entities import AuditEntry, LineageNode, NewToken, TokenInfo, User
from shipyard.errors import InvalidArgument
from shipyard.store import access_db, owners_db


class LocalAccess(LocalBase, AccessStore):
    """Users, tokens, roles and audit entries in the metadata database."""

    # ------------------------------------------------------------------ users and roles

    def create_user(self, name: str) -> User:
        with self._write() as conn:
            return access_db.create_user(conn, name, self._now())

    def get_user(self, name: str) -> User:
        """A user and their roles."""
        return self._read(lambda c: access_db.get_user(c, name))

    def list_users(self) -> list[User]:
        return self._read(access_db.list_users)

    def set_role(self, user: str, project: str, role: str | None) -> None:
        with self._write() as conn:
            access_db.set_role(conn, user, project, role)

    # ------------------------------------------------------------------ tokens

    def create_token(
        self, user: str | None = None, name: str = "", expires_at: int | None = None
    ) -> NewToken:
        if user is None:
            raise InvalidArgument(
                "say which user the token is for (embedded there is no current user): "
                "`shipyard tokens create --user NAME`",
                field="user",
            )
        with self._write() as conn:
            return access_db.create_token(conn, user, name, expires_at, self._now())

    def list_tokens(self, user: str | None = None) -> list[TokenInfo]:
        return self._read(lambda c: access_db.list_tokens(c, user))

    def get_token(self, token_id: str) -> TokenInfo:
        """One token's metadata."""
        return self._read(lambda c: access_db.get_token(c, token_id))

    def revoke_token(self, token_id: str) -> None:
        with self._write() as conn:
            access_db.revoke_token(conn, token_id, self._now())

    def authenticate(self, token: str) -> User:
        """The user an API token belongs to (Unauthenticated when it is not valid now)."""
        return self._read(lambda c: access_db.authenticate(c, token, self._now()))

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
        return self._read(
            lambda c: access_db.list_audit(
                c, limit=limit, before_id=before_id, user=user, projects=projects
            )
        )

    # ------------------------------------------------------------------ projects

    def project_of(self, kind: str, ident: str) -> str:
        """The project owning the ``kind`` record ``ident`` (any object or lineage node
        kind; NotFound when there is none)."""
        return self._read(lambda c: owners_db.project_of(c, kind, ident))

    def projects_of(self, nodes: Iterable[LineageNode]) -> dict[LineageNode, str]:
        """The owning project of each lineage node that has one."""
        wanted = list(nodes)
        return self._read(lambda c: owners_db.projects_of(c, wanted))

    def blob_referenced(self, digest: str, projects: Sequence[str] | None) -> bool:
        """True when a record of ``projects`` (None: any) references the blob ``digest``."""
        return self._read(lambda c: owners_db.blob_referenced(c, digest, projects))

    def model_project(self, name: str) -> str | None:
        """The project a registered model belongs to (None when there is no such model)."""
        return self._read(lambda c: access_db.model_project(c, name))
