"""The tracking area's tables: experiments, runs, their params, tags, metrics and artifacts.

Metric values that are NaN are stored as NULL, because SQLite cannot store NaN; readers turn
NULL back into NaN. ``latest_metrics`` keeps one row per (run, key) with the value at the
highest step, so search can filter and order by a metric without scanning the full history.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text, text

from shipyard.entities import PACKAGE_SET_TAG, Lifecycle
from shipyard.store._declare import Mapped, mapped_column
from shipyard.store._models.base import (
    CLUSTERED,
    ID_LEN,
    KEY_LEN,
    NAME_LEN,
    PATH_LEN,
    TAG_VALUE_LEN,
    AutoId,
    Base,
    project_column,
    table,
)

PARAM_VALUE_LEN = 6000


class Experiment(Base):
    __tablename__ = "experiments"
    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    lifecycle: Mapped[str] = mapped_column(String(16), default=Lifecycle.ACTIVE.value)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    project: Mapped[str] = project_column()


EXPERIMENTS = table(Experiment)


class ExperimentTag(Base):
    __tablename__ = "experiment_tags"
    experiment_id: Mapped[str] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


EXPERIMENT_TAGS = table(ExperimentTag)


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


RUNS = table(Run)


class Param(Base):
    __tablename__ = "params"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    value: Mapped[str] = mapped_column(String(PARAM_VALUE_LEN))

    __table_args__ = (CLUSTERED,)


PARAMS = table(Param)


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
        CLUSTERED,
    )


def declare_postgresql_forms() -> None:
    """Give the indexes their PostgreSQL form (the package-set index: partial, by hash).

    Called when a PostgreSQL engine is made: naming ``postgresql_*`` options when the tables
    are declared loads SQLAlchemy's PostgreSQL dialect, which a command reading a SQLite
    store never needs (see tests/cli/test_startup.py). Idempotent.
    """
    index = next(i for i in table(RunTag).indexes if i.name == "ix_run_tags_package_set")
    index.dialect_kwargs["postgresql_where"] = PACKAGE_SET_ROWS
    index.dialect_kwargs["postgresql_using"] = "hash"


RUN_TAGS = table(RunTag)


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


METRICS = table(Metric)


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
    __table_args__ = (Index(None, "key", "value", "run_id"), CLUSTERED)


LATEST_METRICS = table(LatestMetric)


class RunArtifact(Base):
    """A file in a run's artifact tree, pointing at its content-addressed blob."""

    __tablename__ = "run_artifacts"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(String(PATH_LEN), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)


RUN_ARTIFACTS = table(RunArtifact)
