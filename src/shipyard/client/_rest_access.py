"""RestStore's access control: users, roles, API tokens and the audit log, managed through
the server (most of it needs the admin role)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from shipyard.client._access import AccessStore
from shipyard.client._rest_base import RestBase
from shipyard.entities import AuditEntry, NewToken, TokenInfo, User


class RestAccess(RestBase, AccessStore):
    """Users, roles, tokens and audit entries, managed through the server."""

    def create_user(self, name: str) -> User:
        body = {"name": name}  # a repeat would answer 409: not repeated
        return User.from_dict(self.http.send("POST", "/users", json=body, idempotent=False))

    def list_users(self) -> list[User]:
        return [User.from_dict(u) for u in self.http.send("GET", "/users")["users"]]

    def whoami(self) -> User:
        """The user the token belongs to, with their roles."""
        return User.from_dict(self.http.send("GET", "/whoami"))

    def set_role(self, user: str, project: str, role: str | None) -> None:
        path = f"/users/{quote(user, safe='')}/roles/{quote(project, safe='')}"
        self.http.send("PUT", path, json={"role": role})

    def create_token(
        self, user: str | None = None, name: str = "", expires_at: int | None = None
    ) -> NewToken:
        """A token for yourself unless ``user`` names someone else (that needs admin)."""
        body = {"user": user, "name": name, "expires_at": expires_at}
        return NewToken.from_dict(self.http.send("POST", "/tokens", json=body, idempotent=False))

    def list_tokens(self, user: str | None = None) -> list[TokenInfo]:
        """Your API tokens (an admin sees anyone's)."""
        found = self.http.send("GET", "/tokens", params={"user": user})
        return [TokenInfo.from_dict(t) for t in found["tokens"]]

    def revoke_token(self, token_id: str) -> None:
        self.http.send("DELETE", f"/tokens/{quote(token_id, safe='')}")

    def list_audit(
        self,
        limit: int = 100,
        before_id: int | None = None,
        user: str | None = None,
        projects: Sequence[str] | None = None,
    ) -> list[AuditEntry]:
        params = {
            "limit": limit,
            "before_id": before_id,
            "user": user,
            "project": list(projects) if projects is not None else None,
        }
        found = self.http.send("GET", "/audit", params=params)
        return [AuditEntry.from_dict(e) for e in found["entries"]]
