"""The metadata store's tables, declared as row classes (Core tables, no ORM: `_declare.py`).

Times are integer milliseconds since the epoch (portable and cheap to compare). Metric values
that are NaN are stored as NULL, because SQLite cannot store NaN; readers turn NULL back into
NaN. ``latest_metrics`` keeps one row per (run, key) with the value at the highest step, so
search can filter and order by a metric without scanning the full history.

Each row class is followed by its table's handle for Core queries, named after the table
(``RUNS``, ``PIPELINE_RUNS``); the query modules import those, never ``__table__``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from shipyard.entities import PACKAGE_SET_TAG, Lifecycle
from shipyard.store._declare import Mapped, TableBase, mapped_column

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


class Base(TableBase):
    metadata = MetaData(naming_convention=NAMING)


def _table(row: type[Base]) -> Table:
    """The Core table of a row class, typed as the Table it is (``__table__`` is typed as a
    FromClause)."""
    return Base.metadata.tables[row.__tablename__]


class Experiment(Base):
    __tablename__ = "experiments"
    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    lifecycle: Mapped[str] = mapped_column(String(16), default=Lifecycle.ACTIVE.value)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    project: Mapped[str] = mapped_column(
        String(IDENT_LEN), default="default", server_default="default", index=True
    )


EXPERIMENTS = _table(Experiment)


class ExperimentTag(Base):
    __tablename__ = "experiment_tags"
    experiment_id: Mapped[str] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


EXPERIMENT_TAGS = _table(ExperimentTag)


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
    lifecycle: Mapped[str] = mapped_column(String(16), default=Lifecycle.ACTIVE.value)

    # ``id`` last makes the index cover the default search order (start_time, id).
    __table_args__ = (Index(None, "experiment_id", "lifecycle", "start_time", "id"),)


RUNS = _table(Run)


class Param(Base):
    __tablename__ = "params"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    value: Mapped[str] = mapped_column(String(PARAM_VALUE_LEN))

    __table_args__ = (_CLUSTERED,)


PARAMS = _table(Param)


#: The condition of the partial index of package-set tags (``PACKAGE_SET_TAG``), which a query
#: must state with the key as a literal for the index to apply.
PACKAGE_SET_ROWS = text(f"\"key\" = '{PACKAGE_SET_TAG}'")


class RunTag(Base):
    __tablename__ = "run_tags"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    value: Mapped[str] = mapped_column(String(TAG_VALUE_LEN))

    # Which runs recorded a package set (a blob digest): reading the blob over REST asks
    # whether a run of the caller's projects did. Only those tags are indexed, and by hash on
    # PostgreSQL, whose b-tree cannot hold a value of up to 8,000 characters (that form is
    # declared by ``declare_postgresql_forms``).
    __table_args__ = (
        Index("ix_run_tags_package_set", "value", sqlite_where=PACKAGE_SET_ROWS),
        _CLUSTERED,
    )


def declare_postgresql_forms() -> None:
    """Give the indexes their PostgreSQL form (the package-set index: partial, by hash).

    Called when a PostgreSQL engine is made: naming ``postgresql_*`` options when the tables
    are declared loads SQLAlchemy's PostgreSQL dialect, which a command reading a SQLite
    store never needs (see tests/cli/test_startup.py). Idempotent.
    """
    index = next(i for i in _table(RunTag).indexes if i.name == "ix_run_tags_package_set")
    index.dialect_kwargs["postgresql_where"] = PACKAGE_SET_ROWS
    index.dialect_kwargs["postgresql_using"] = "hash"


RUN_TAGS = _table(RunTag)


class Metric(Base):
    """Every logged metric value: the full history."""

    __tablename__ = "metrics"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(KEY_LEN))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    step: Mapped[int] = mapped_column(BigInteger, default=0)
    timestamp: Mapped[int] = mapped_column(BigInteger)

    # covering for the reduced history (store/_history.py): its GROUP BY and its picks of
    # each bucket's rows read this index alone, on SQLite and PostgreSQL
    __table_args__ = (Index(None, "run_id", "key", "step", "timestamp", "id", "value"),)


METRICS = _table(Metric)


class LatestMetric(Base):
    """The value at the highest step (then latest timestamp) of each (run, key)."""

    __tablename__ = "latest_metrics"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    step: Mapped[int] = mapped_column(BigInteger, default=0)
    timestamp: Mapped[int] = mapped_column(BigInteger)

    # run_id last: a walk of one key in value order reads the run ids from the index alone
    # (SQLite's index holds the primary key anyway; PostgreSQL's needed a heap fetch each).
    __table_args__ = (Index(None, "key", "value", "run_id"), _CLUSTERED)


LATEST_METRICS = _table(LatestMetric)


class RunArtifact(Base):
    """A file in a run's artifact tree, pointing at its content-addressed blob."""

    __tablename__ = "run_artifacts"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(String(PATH_LEN), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)


RUN_ARTIFACTS = _table(RunArtifact)


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


LINEAGE_EDGES = _table(LineageEdge)


class User(Base):
    """Someone who may call the server; what they may do comes from ``project_roles``."""

    __tablename__ = "users"
    name: Mapped[str] = mapped_column(String(IDENT_LEN), primary_key=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


USERS = _table(User)


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


API_TOKENS = _table(ApiToken)


class ProjectRole(Base):
    """A user's role on a project; project ``*`` means every project."""

    __tablename__ = "project_roles"
    user: Mapped[str] = mapped_column(
        ForeignKey("users.name", ondelete="CASCADE"), primary_key=True
    )
    project: Mapped[str] = mapped_column(String(IDENT_LEN), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))


PROJECT_ROLES = _table(ProjectRole)


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


AUDIT_LOG = _table(AuditLog)


class Dataset(Base):
    """A named dataset; its versions live in ``dataset_versions``."""

    __tablename__ = "datasets"
    name: Mapped[str] = mapped_column(String(NAME_LEN), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    project: Mapped[str] = mapped_column(
        String(IDENT_LEN), default="default", server_default="default", index=True
    )


DATASETS = _table(Dataset)


class DatasetVersion(Base):
    """An immutable dataset version: a canonical Parquet blob plus its schema and profile.

    ``digest`` is the blob's sha256 and the version's content hash; one dataset holds each
    content once. ``schema_json`` and ``profile_json`` are JSON documents.
    """

    __tablename__ = "dataset_versions"
    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    dataset: Mapped[str] = mapped_column(ForeignKey("datasets.name", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    num_rows: Mapped[int] = mapped_column(BigInteger)
    schema_json: Mapped[str] = mapped_column(Text)
    profile_json: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("dataset", "version"),
        UniqueConstraint("dataset", "digest"),
    )


DATASET_VERSIONS = _table(DatasetVersion)


class Pipeline(Base):
    """A pipeline by name, with the ``module:function`` reference that imports it."""

    __tablename__ = "pipelines"
    name: Mapped[str] = mapped_column(String(NAME_LEN), primary_key=True)
    ref: Mapped[str] = mapped_column(String(PATH_LEN))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    project: Mapped[str] = mapped_column(
        String(IDENT_LEN), default="default", server_default="default", index=True
    )


PIPELINES = _table(Pipeline)


class PipelineRun(Base):
    """One execution of a pipeline; ``dag_json`` holds its steps and their dependencies."""

    __tablename__ = "pipeline_runs"
    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    pipeline: Mapped[str] = mapped_column(String(NAME_LEN))
    ref: Mapped[str] = mapped_column(String(PATH_LEN))
    status: Mapped[str] = mapped_column(String(16))
    params_json: Mapped[str] = mapped_column(Text)
    executor: Mapped[str] = mapped_column(String(32))
    dag_json: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text, default="")
    resumed_from: Mapped[str | None] = mapped_column(String(ID_LEN), nullable=True)
    schedule: Mapped[str | None] = mapped_column(String(NAME_LEN), nullable=True)
    scheduled_for: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    start_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    end_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    project: Mapped[str] = mapped_column(
        String(IDENT_LEN), default="default", server_default="default", index=True
    )

    __table_args__ = (
        Index(None, "pipeline", "created_at"),
        Index(None, "schedule", "status"),
    )


PIPELINE_RUNS = _table(PipelineRun)


class StepRun(Base):
    """One step of a pipeline run. ``cache_key`` finds earlier successful runs of the same
    code on the same inputs and params."""

    __tablename__ = "step_runs"
    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    pipeline_run_id: Mapped[str] = mapped_column(
        ForeignKey("pipeline_runs.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(NAME_LEN))
    step: Mapped[str] = mapped_column(String(PATH_LEN))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cache_key: Mapped[str] = mapped_column(String(64), default="")
    cache_hit: Mapped[bool] = mapped_column(Boolean, default=False)
    start_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    end_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    inputs_json: Mapped[str] = mapped_column(Text, default="{}")
    params_json: Mapped[str] = mapped_column(Text, default="{}")
    outputs_json: Mapped[str] = mapped_column(Text, default="[]")
    logs: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    #: A short hash of each part of the step's code fingerprint (see pipelines._code_parts).
    code_parts_json: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")

    __table_args__ = (Index(None, "cache_key", "status"),)


STEP_RUNS = _table(StepRun)


class Schedule(Base):
    """A cron schedule of a pipeline (see entities.Schedule for the policies)."""

    __tablename__ = "schedules"
    name: Mapped[str] = mapped_column(String(NAME_LEN), primary_key=True)
    pipeline: Mapped[str] = mapped_column(String(NAME_LEN))
    ref: Mapped[str] = mapped_column(String(PATH_LEN))
    cron: Mapped[str] = mapped_column(String(NAME_LEN))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    params_json: Mapped[str] = mapped_column(Text, default="{}")
    missed: Mapped[str] = mapped_column(String(16), default="skip")
    overlap: Mapped[str] = mapped_column(String(16), default="skip")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    last_fire_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    project: Mapped[str] = mapped_column(
        String(IDENT_LEN), default="default", server_default="default", index=True
    )


SCHEDULES = _table(Schedule)


# ----------------------------------------------------------------------------- model registry

ALIAS_LEN = 64


class RegisteredModel(Base):
    """A named model. ``last_version`` is the highest version number ever handed out: the
    next version takes ``last_version + 1`` under the row's write lock, so concurrent
    registrations get distinct consecutive numbers and a deleted number is never reused."""

    __tablename__ = "registered_models"
    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    last_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    project: Mapped[str] = mapped_column(
        String(IDENT_LEN), default="default", server_default="default", index=True
    )


REGISTERED_MODELS = _table(RegisteredModel)


class RegisteredModelTag(Base):
    __tablename__ = "registered_model_tags"
    model_id: Mapped[str] = mapped_column(
        ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    value: Mapped[str] = mapped_column(String(TAG_VALUE_LEN))


REGISTERED_MODEL_TAGS = _table(RegisteredModelTag)


class ModelVersion(Base):
    """An immutable registered version. JSON columns hold the signature, the metrics snapshot,
    the pinned requirements and the model folder's descriptor. The run that produced the
    version is an edge of the lineage graph, not a column."""

    __tablename__ = "model_versions"
    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("registered_models.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    flavor: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(PATH_LEN), default="")
    signature: Mapped[str | None] = mapped_column(Text, nullable=True)
    metrics: Mapped[str] = mapped_column(Text, default="{}")
    requirements: Mapped[str] = mapped_column(Text, default="[]")
    python_version: Mapped[str] = mapped_column(String(32), default="")
    descriptor: Mapped[str] = mapped_column(Text, default="{}")
    manifest_digest: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("model_id", "version"),)


MODEL_VERSIONS = _table(ModelVersion)


class ModelVersionTag(Base):
    __tablename__ = "model_version_tags"
    version_id: Mapped[str] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    value: Mapped[str] = mapped_column(String(TAG_VALUE_LEN))


MODEL_VERSION_TAGS = _table(ModelVersionTag)


class ModelVersionFile(Base):
    """The manifest of a version: each file's path in the model folder and its blob."""

    __tablename__ = "model_version_files"
    version_id: Mapped[str] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(PATH_LEN), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (_CLUSTERED,)


MODEL_VERSION_FILES = _table(ModelVersionFile)


class ModelAlias(Base):
    """A movable name (``champion``) for one version of a model."""

    __tablename__ = "model_aliases"
    model_id: Mapped[str] = mapped_column(
        ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(String(ALIAS_LEN), primary_key=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("model_versions.id"), index=True)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    updated_by: Mapped[str] = mapped_column(String(NAME_LEN), default="")


MODEL_ALIASES = _table(ModelAlias)


class ModelAliasEvent(Base):
    """The audit history of aliases: every move, removal and rejected promotion."""

    __tablename__ = "model_alias_events"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("registered_models.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(ALIAS_LEN))
    from_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    to_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(16))
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    gates: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index(None, "model_id", "alias", "id"),)


MODEL_ALIAS_EVENTS = _table(ModelAliasEvent)


# ----------------------------------------------------------------------------- feature store


class FeatureDefinition(Base):
    """A feature-store definition (entity, feature view, on-demand view, service) as JSON.
    ``digest`` is the sha256 of the canonical spec: ``apply`` rewrites only what changed."""

    __tablename__ = "feature_definitions"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN), primary_key=True)
    spec: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    project: Mapped[str] = mapped_column(
        String(IDENT_LEN), default="default", server_default="default", index=True
    )


FEATURE_DEFINITIONS = _table(FeatureDefinition)


class FeatureMaterializationRow(Base):
    """One materialization of a feature view into the online store (its event-time window
    in epoch ms); the view's watermark is its largest ``end_ms``."""

    __tablename__ = "feature_materializations"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    view: Mapped[str] = mapped_column(String(NAME_LEN))
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index(None, "view", "end_ms"),)


FEATURE_MATERIALIZATIONS = _table(FeatureMaterializationRow)


class MonitorRow(Base):
    """A monitor: which model it watches, over what window, on what schedule, and its spec
    (alert rules, channels, reference, drift options) as JSON."""

    __tablename__ = "monitors"
    name: Mapped[str] = mapped_column(String(NAME_LEN), primary_key=True)
    model: Mapped[str] = mapped_column(String(NAME_LEN))
    window: Mapped[str] = mapped_column(String(32))
    schedule: Mapped[str] = mapped_column(String(128))
    spec: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    project: Mapped[str] = mapped_column(
        String(IDENT_LEN), default="default", server_default="default", index=True
    )


MONITORS = _table(MonitorRow)


class MonitorRunRow(Base):
    """One run of a monitor: its window, the model version it scored, its status and the
    results (drift, performance, alert states, notifications) as JSON."""

    __tablename__ = "monitor_runs"
    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    monitor: Mapped[str] = mapped_column(
        String(NAME_LEN), ForeignKey("monitors.name", ondelete="CASCADE")
    )
    started_at: Mapped[int] = mapped_column(BigInteger)
    finished_at: Mapped[int] = mapped_column(BigInteger)
    window_start: Mapped[int] = mapped_column(BigInteger)
    window_end: Mapped[int] = mapped_column(BigInteger)
    model_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    result: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index(None, "monitor", "started_at"),)


MONITOR_RUNS = _table(MonitorRunRow)


class DeploymentRow(Base):
    """A model server: the model and reference it serves, the version(s) that reference
    resolves to, its rollout, address, status, start, last heartbeat and stop, and the
    project of its model."""

    __tablename__ = "deployments"
    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    model: Mapped[str] = mapped_column(String(NAME_LEN), index=True)
    reference: Mapped[str] = mapped_column(String(NAME_LEN))
    version: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))
    challenger: Mapped[str] = mapped_column(String(NAME_LEN))
    challenger_version: Mapped[int] = mapped_column(Integer)
    traffic_share: Mapped[float] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(PATH_LEN))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[int] = mapped_column(BigInteger, index=True)
    heartbeat_at: Mapped[int] = mapped_column(BigInteger)
    stopped_at: Mapped[int] = mapped_column(BigInteger)
    project: Mapped[str] = mapped_column(String(IDENT_LEN), index=True)


DEPLOYMENTS = _table(DeploymentRow)


class DeploymentEventRow(Base):
    """One change of a deployment (started, swapped, challenger, stopped) and what it
    served after it."""

    __tablename__ = "deployment_events"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    deployment: Mapped[str] = mapped_column(
        String(ID_LEN), ForeignKey("deployments.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))
    challenger_version: Mapped[int] = mapped_column(Integer)
    traffic_share: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index(None, "deployment", "id"),)


DEPLOYMENT_EVENTS = _table(DeploymentEventRow)


class LeaseRow(Base):
    """A named lease: who holds it and until when (the single active scheduler)."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(IDENT_LEN), primary_key=True)
    holder: Mapped[str] = mapped_column(String(NAME_LEN))
    acquired_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)


LEASES = _table(LeaseRow)
