"""The monitoring area's tables: monitors and their runs."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text

from shipyard.store._declare import Mapped, mapped_column
from shipyard.store._models.base import ID_LEN, NAME_LEN, Base, project_column, table


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
    project: Mapped[str] = project_column()


MONITORS = table(MonitorRow)


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


MONITOR_RUNS = table(MonitorRunRow)
