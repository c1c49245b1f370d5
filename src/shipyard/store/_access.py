"""Queries for access control: users, API tokens, project roles, the audit log, and which
project a run or experiment belongs to.

API tokens look like ``shy_<id>_<secret>``: ``id`` (12 hex characters) is public and is the
row's key; the whole token is kept only as ``HMAC-SHA256(salt, token)`` with a random 16-byte
salt per token. A fast salted hash is the right tool here, not a slow password KDF (scrypt,
PBKDF2): those exist to make guessing *low-entropy* passwords expensive, but a token carries
256 bits from the OS's CSPRNG (``secrets.token_urlsafe(32)``), so no number of guesses per
second makes a search feasible. A slow KDF would only add tens of milliseconds of CPU to every
authenticated request. The salt still keeps a leaked table from being matched against a
precomputed list, and a leaked hash does not give the token back (preimage resistance).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, select, update

from shipyard.entities import ROLES, AuditEntry, NewToken, TokenInfo, User
from shipyard.errors import AlreadyExists, InvalidArgument, NotFound, Unauthenticated
from shipyard.store._models.access import API_TOKENS, AUDIT_LOG, PROJECT_ROLES, USERS
from shipyard.store._models.registry import REGISTERED_MODELS
from shipyard.store._sql import chunks, in_projects, record

TOKEN_PREFIX = "shy_"
_ID_HEX = 12
_BAD_TOKEN = (
    "the API token is not valid; check SHIPYARD_TOKEN or the credentials file, or create a "
    "new token with `shipyard tokens create`"
)


def _hash(salt: str, token: str) -> str:
    return hmac.new(bytes.fromhex(salt), token.encode(), hashlib.sha256).hexdigest()


# ----------------------------------------------------------------------------- users


def create_user(conn: Connection, name: str, now: int) -> User:
    """Add a user (with no roles yet); a taken name raises AlreadyExists."""
    if conn.execute(select(USERS.c.name).where(USERS.c.name == name)).first() is not None:
        raise AlreadyExists(f"user {name!r} already exists", field="name")
    conn.execute(USERS.insert().values(name=name, created_at=now))
    return User(name, now, {})


def get_user(conn: Connection, name: str) -> User:
    """A user with their roles, or NotFound."""
    row = conn.execute(select(USERS).where(USERS.c.name == name)).first()
    if row is None:
        raise NotFound(
            f"no user named {name!r}; create it with `shipyard users create {name}`", field="user"
        )
    roles = conn.execute(
        select(PROJECT_ROLES.c.project, PROJECT_ROLES.c.role).where(PROJECT_ROLES.c.user == name)
    )
    return record(User, row, roles={project: role for project, role in roles})


def list_users(conn: Connection) -> list[User]:
    """Every user with their roles, by name."""
    roles: dict[str, dict[str, str]] = {}
    for user, project, role in conn.execute(
        select(PROJECT_ROLES.c.user, PROJECT_ROLES.c.project, PROJECT_ROLES.c.role)
    ):
        roles.setdefault(user, {})[project] = role
    rows = conn.execute(select(USERS).order_by(USERS.c.name))
    return [record(User, row, roles=roles.get(row.name, {})) for row in rows]


def set_role(conn: Connection, user: str, project: str, role: str | None) -> None:
    """Give ``user`` ``role`` on ``project`` (replacing the one they had), or take it away."""
    get_user(conn, user)
    conn.execute(
        delete(PROJECT_ROLES).where(
            PROJECT_ROLES.c.user == user, PROJECT_ROLES.c.project == project
        )
    )
    if role is not None:
        if role not in ROLES:
            raise InvalidArgument(f"role {role!r} is not one of {', '.join(ROLES)}", field="role")
        conn.execute(PROJECT_ROLES.insert().values(user=user, project=project, role=role))


# ----------------------------------------------------------------------------- tokens


def _token_info(row: Any) -> TokenInfo:
    return record(TokenInfo, row)


def create_token(
    conn: Connection, user: str, name: str, expires_at: int | None, now: int
) -> NewToken:
    """A new random token for ``user``; only its salted hash is stored."""
    get_user(conn, user)
    if expires_at is not None and expires_at <= now:
        raise InvalidArgument("a token's expiry must be in the future", field="expires_at")
    token_id = secrets.token_hex(_ID_HEX // 2)
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    salt = secrets.token_hex(16)
    conn.execute(
        API_TOKENS.insert().values(
            id=token_id,
            user=user,
            name=name,
            salt=salt,
            hash=_hash(salt, token),
            created_at=now,
            expires_at=expires_at,
            revoked_at=None,
        )
    )
    return NewToken(token, TokenInfo(token_id, user, name, now, expires_at, None))


def get_token(conn: Connection, token_id: str) -> TokenInfo:
    """A token's metadata by its id, or NotFound."""
    row = conn.execute(select(API_TOKENS).where(API_TOKENS.c.id == token_id)).first()
    if row is None:
        raise NotFound(f"no API token with id {token_id!r}", field="token_id")
    return _token_info(row)


def list_tokens(conn: Connection, user: str | None = None) -> list[TokenInfo]:
    """Tokens (of one user, or everyone's), oldest first; revoked ones included."""
    query = select(API_TOKENS).order_by(API_TOKENS.c.created_at, API_TOKENS.c.id)
    if user is not None:
        query = query.where(API_TOKENS.c.user == user)
    return [_token_info(row) for row in conn.execute(query)]


def revoke_token(conn: Connection, token_id: str, now: int) -> None:
    """Make a token unusable from now on (revoking twice is harmless)."""
    get_token(conn, token_id)
    conn.execute(
        update(API_TOKENS)
        .where(API_TOKENS.c.id == token_id, API_TOKENS.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def authenticate(conn: Connection, token: str, now: int) -> User:
    """The user a token belongs to; an unknown, revoked or expired token is Unauthenticated."""
    token_id = token[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + _ID_HEX]
    if not token.startswith(TOKEN_PREFIX) or len(token) < len(TOKEN_PREFIX) + _ID_HEX + 2:
        raise Unauthenticated(_BAD_TOKEN)
    row = conn.execute(select(API_TOKENS).where(API_TOKENS.c.id == token_id)).first()
    if row is None or not hmac.compare_digest(row.hash, _hash(row.salt, token)):
        raise Unauthenticated(_BAD_TOKEN)
    if row.revoked_at is not None:
        raise Unauthenticated(
            f"API token {token_id} was revoked; create a new one with `shipyard tokens create`"
        )
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthenticated(
            f"API token {token_id} has expired; create a new one with `shipyard tokens create`"
        )
    return get_user(conn, row.user)


# ----------------------------------------------------------------------------- audit


def record_audit(conn: Connection, entries: Sequence[dict[str, Any]]) -> None:
    """Append audit entries (dicts with the columns of ``audit_log`` but ``id``)."""
    for chunk in chunks(list(entries)):
        conn.execute(AUDIT_LOG.insert(), list(chunk))


def prune_audit(conn: Connection, before_ms: int) -> int:
    """Delete audit entries recorded before ``before_ms``; returns how many went."""
    return conn.execute(AUDIT_LOG.delete().where(AUDIT_LOG.c.at < before_ms)).rowcount


def list_audit(
    conn: Connection,
    *,
    limit: int,
    before_id: int | None = None,
    user: str | None = None,
    projects: Sequence[str] | None = None,
) -> list[AuditEntry]:
    """Audit entries newest first; ``projects`` limits them to those projects' entries."""
    query = select(AUDIT_LOG).order_by(AUDIT_LOG.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AUDIT_LOG.c.id < before_id)
    if user is not None:
        query = query.where(AUDIT_LOG.c.user == user)
    query = in_projects(query, AUDIT_LOG.c.project, projects)
    return [record(AuditEntry, row) for row in conn.execute(query)]


# ----------------------------------------------------------------------------- projects


def model_project(conn: Connection, name: str) -> str | None:
    """The project of a registered model, or None when no model has that name."""
    project = conn.execute(
        select(REGISTERED_MODELS.c.project).where(REGISTERED_MODELS.c.name == name)
    ).scalar()
    return None if project is None else str(project)
