"""Users, API tokens and the audit log of a Shipyard server."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class User:
    """Someone who may call a Shipyard server, with a role per project (``*``: every project)."""

    name: str
    created_at: int
    roles: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> User:
        return cls(**data)


@dataclass(frozen=True)
class TokenInfo:
    """What is kept of an API token: never the token itself, only its id and metadata.

    Attributes:
        id: The token's id (the secret is never kept).
        user: The user it authenticates.
        name: Its name, chosen by the user.
        created_at: When it was created (milliseconds since the epoch).
        expires_at: When it stops working, or None for never.
        revoked_at: When it was revoked, or None.
    """

    id: str
    user: str
    name: str
    created_at: int
    expires_at: int | None = None
    revoked_at: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenInfo:
        return cls(**data)


@dataclass(frozen=True)
class NewToken:
    """A token just created: ``token`` is the secret, shown this once and stored nowhere."""

    token: str
    info: TokenInfo

    def to_dict(self) -> dict[str, Any]:
        return {"token": self.token, "info": self.info.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NewToken:
        return cls(data["token"], TokenInfo.from_dict(data["info"]))


@dataclass(frozen=True)
class AuditEntry:
    """One write request a server handled: who, what (method, route, path), when, outcome.

    Attributes:
        id: The entry's number, in the order requests were handled.
        at: When (milliseconds since the epoch).
        user: Who made the request.
        method: The HTTP method.
        route: The route template (``/api/v1/runs/{run_id}``).
        path: The path requested.
        status: The HTTP status of the answer.
        project: The project the request acted on, when it named one.
        client: The caller's address (``host:port``).
    """

    id: int
    at: int
    user: str
    method: str
    route: str
    path: str
    status: int
    project: str | None = None
    client: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditEntry:
        return cls(**data)


#: The kinds of record the lineage graph links.
