"""SQLAlchemy 2 models of the metadata store.

Times are integer milliseconds since the epoch (portable and cheap to compare). Metric values
that are NaN are stored as NULL, because SQLite cannot store NaN; readers turn NULL back into
NaN. ``latest_metrics`` keeps one row per (run, key) with the value at the highest step, so
search can filter and order by a metric without scanning the full history.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}

KEY_LEN = 250
NAME_LEN = 256
ID_LEN = 32
PARAM_VALUE_LEN = 6000
TAG_VALUE_LEN = 8000
PATH_LEN = 1024
IDENT_LEN = 64

# SQLite only makes INTEGER PRIMARY KEY an alias of the rowid (auto-increment).
AutoId = BigInteger().with_variant(Integer(), "sqlite")


# On SQLite, store rows keyed by (run_id, key) in primary-key order, so a lookup by run and key
# reaches the value without a second b-tree probe (search is a PK lookup per candidate run).
_CLUSTERED = {"sqlite_with_rowid": False}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Experiment(Base):
    __tablename__ = "experiments"
    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    lifecycle: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    project: Mapped[str] = mapped_column(
        String(IDENT_LEN), default="default", server_default="default", index=True
    )


class ExperimentTag(Base):
    __tablename__ = "experiment_tags"
    experiment_id: Mapped[str] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Run(Base):
    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    experiment_id: Mapped[str] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_LEN))
    status: Mapped[str] = mapped_column(String(16))
    start_time: Mapped[int] = mapped_column(BigInteger)
    end_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    parent_run_id: Mapped[str | None] = mapped_column(String(ID_LEN), nullable=True, index=True)
    user: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    lifecycle: Mapped[str] = mapped_column(String(16), default="active")

    # ``id`` last makes the index cover the default search order (start_time, id).
    __table_args__ = (Index(None, "experiment_id", "lifecycle", "start_time", "id"),)


class Param(Base):
    __tablename__ = "params"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    value: Mapped[str] = mapped_column(String(PARAM_VALUE_LEN))

    __table_args__ = (_CLUSTERED,)


class RunTag(Base):
    __tablename__ = "run_tags"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    value: Mapped[str] = mapped_column(String(TAG_VALUE_LEN))

    __table_args__ = (_CLUSTERED,)


class Metric(Base):
    """Every logged metric value: the full history."""

    __tablename__ = "metrics"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(KEY_LEN))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    step: Mapped[int] = mapped_column(BigInteger, default=0)
    timestamp: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index(None, "run_id", "key", "step"),)


class LatestMetric(Base):
    """The value at the highest step (then latest timestamp) of each (run, key)."""

    __tablename__ = "latest_metrics"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    step: Mapped[int] = mapped_column(BigInteger, default=0)
    timestamp: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index(None, "key", "value"), _CLUSTERED)


class RunArtifact(Base):
    """A file in a run's artifact tree, pointing at its content-addressed blob."""

    __tablename__ = "run_artifacts"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(String(PATH_LEN), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)


class LineageEdge(Base):
    """One arrow of the lineage graph, pointing downstream (from input to output).

    Nodes are ``(kind, id)`` pairs of other tables' records: ``dataset_version``, ``run``,
    ``model_version``, ``pipeline_run``, ``step_run``, ``feature_view``, ``deployment`` ...
    ``relation`` says what the downstream node did: ``consumed`` the upstream one, or was
    ``produced`` by it.
    """

    __tablename__ = "lineage_edges"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    src_kind: Mapped[str] = mapped_column(String(32))
    src_id: Mapped[str] = mapped_column(String(NAME_LEN))
    dst_kind: Mapped[str] = mapped_column(String(32))
    dst_id: Mapped[str] = mapped_column(String(NAME_LEN))
    relation: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("src_kind", "src_id", "dst_kind", "dst_id", "relation"),
        Index(None, "dst_kind", "dst_id"),
    )


class User(Base):
    """Someone who may call the server; what they may do comes from ``project_roles``."""

    __tablename__ = "users"
    name: Mapped[str] = mapped_column(String(IDENT_LEN), primary_key=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


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


class ProjectRole(Base):
    """A user's role on a project; project ``*`` means every project."""

    __tablename__ = "project_roles"
    user: Mapped[str] = mapped_column(
        ForeignKey("users.name", ondelete="CASCADE"), primary_key=True
    )
    project: Mapped[str] = mapped_column(String(IDENT_LEN), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))


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
