"""The pipelines area's tables: pipelines, their runs and step runs, and schedules."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text

from shipyard.store._declare import Mapped, mapped_column
from shipyard.store._models.base import ID_LEN, NAME_LEN, PATH_LEN, Base, project_column, table


class Pipeline(Base):
    """A pipeline by name, with the ``module:function`` reference that imports it."""

    __tablename__ = "pipelines"
    name: Mapped[str] = mapped_column(String(NAME_LEN), primary_key=True)
    ref: Mapped[str] = mapped_column(String(PATH_LEN))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    project: Mapped[str] = project_column()


PIPELINES = table(Pipeline)


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
    project: Mapped[str] = project_column()

    __table_args__ = (
        Index(None, "pipeline", "created_at"),
        Index(None, "schedule", "status"),
    )


PIPELINE_RUNS = table(PipelineRun)


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


STEP_RUNS = table(StepRun)


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
    project: Mapped[str] = project_column()


SCHEDULES = table(Schedule)
