"""The access-control slice of the Store protocol: users, project roles, API tokens and the
audit log, with the input checks of each method.

Embedded, whoever opens the database is trusted with everything (this is how an operator
bootstraps a server); a server decides what each caller may do from their roles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from shipyard import _validation as v
from shipyard.client._checking import checks
from shipyard.client._checks import optional, page_limit, text_of
from shipyard.entities import AuditEntry, NewToken, TokenInfo, User

#: The most audit entries one page holds.
MAX_AUDIT_PAGE = 10_000


def check_user_name(name: Any) -> str:
    """A user name: 1-64 letters, digits and ``_ - . @``, starting with a letter or digit."""
    return v.check_identifier(name, "user")


def check_grant_project(project: Any) -> str:
    """The project of a role grant: a project name, or ``*`` for every project."""
    return v.check_project(project, allow_all=True)


@runtime_checkable
class AccessStore(Protocol):
    """Users, roles, API tokens and the audit log."""

    @checks(name=check_user_name)
    def create_user(self, name: str) -> User:
        """Add a user; they can do nothing until given a role (``set_role``)."""
        ...

    def list_users(self) -> list[User]:
        """Every user and their roles."""
        ...

    @checks(project=check_grant_project)
    def set_role(self, user: str, project: str, role: str | None) -> None:
        """Give ``user`` a role on ``project`` (``*``: every project), or remove it (None)."""
        ...

    @checks(name=text_of("name", v.MAX_NAME_LEN), expires_at=optional(v.check_timestamp))
    def create_token(
        self, user: str | None = None, name: str = "", expires_at: int | None = None
    ) -> NewToken:
        """A new API token for ``user`` (None: the caller, on a server), expiring at
        ``expires_at`` (epoch ms; never when None). The secret is in the result only, never
        stored."""
        ...

    def list_tokens(self, user: str | None = None) -> list[TokenInfo]:
        """API tokens of ``user`` (everyone's when None), revoked and expired ones included."""
        ...

    def revoke_token(self, token_id: str) -> None:
        """Make an API token unusable from now on."""
        ...

    @checks(limit=page_limit(MAX_AUDIT_PAGE))
    def list_audit(
        self,
        limit: int = 100,
        before_id: int | None = None,
        user: str | None = None,
        projects: Sequence[str] | None = None,
    ) -> list[AuditEntry]:
        """Audit entries, newest first (of one user, in some projects); page with
        ``before_id``, the last id seen."""
        ...
