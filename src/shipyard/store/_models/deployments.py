"""The deployments' tables: model servers and each change of what they serve."""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String

from shipyard.store._declare import Mapped, mapped_column
from shipyard.store._models.base import ID_LEN, IDENT_LEN, NAME_LEN, PATH_LEN, AutoId, Base, table


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


DEPLOYMENTS = table(DeploymentRow)


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


DEPLOYMENT_EVENTS = table(DeploymentEventRow)
