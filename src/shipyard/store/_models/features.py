"""The feature store's tables: its definitions and the materializations of feature views."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, String, Text

from shipyard.store._declare import Mapped, mapped_column
from shipyard.store._models.base import NAME_LEN, AutoId, Base, project_column, table


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
    project: Mapped[str] = project_column()


FEATURE_DEFINITIONS = table(FeatureDefinition)


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


FEATURE_MATERIALIZATIONS = table(FeatureMaterializationRow)
