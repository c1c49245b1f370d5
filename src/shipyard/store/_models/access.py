"""The server's access tables: users, their API tokens and project roles, and the audit log."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String

from shipyard.store._declare import Mapped, mapped_column
from shipyard.store._models.base import IDENT_LEN, NAME_LEN, PATH_LEN, AutoId, Base, table


class User(Base):
    """Someone who may call the server; what they may do comes from ``project_roles``."""

    __tablename__ = "users"
    name: Mapped[str] = mapped_column(String(IDENT_LEN), primary_key=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


USERS = table(User)


class ApiToken(Base):
    """An API token, stored as a salted hash; ``id`` is the public part of the token."""

    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    user: Mapped[str] = mapped_column(ForeignKey("users.name", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    salt: Mapped[str] = mapped_column(String(32))
    hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


API_TOKENS = table(ApiToken)


class ProjectRole(Base):
    """A user's role on a project; project ``*`` means every project."""

    __tablename__ = "project_roles"
    user: Mapped[str] = mapped_column(
        ForeignKey("users.name", ondelete="CASCADE"), primary_key=True
    )
    project: Mapped[str] = mapped_column(String(IDENT_LEN), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))


PROJECT_ROLES = table(ProjectRole)


class AuditLog(Base):
    """One write request the server handled: who, what, when and how it ended."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    at: Mapped[int] = mapped_column(BigInteger, index=True)
    user: Mapped[str] = mapped_column(String(IDENT_LEN))
    method: Mapped[str] = mapped_column(String(16))
    route: Mapped[str] = mapped_column(String(NAME_LEN))
    path: Mapped[str] = mapped_column(String(PATH_LEN))
    status: Mapped[int] = mapped_column(Integer)
    project: Mapped[str | None] = mapped_column(String(IDENT_LEN), nullable=True, index=True)
    client: Mapped[str] = mapped_column(String(NAME_LEN), default="")


AUDIT_LOG = table(AuditLog)
