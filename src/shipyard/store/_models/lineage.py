"""The lineage graph's table: its edges (nodes are other tables' records)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, String, UniqueConstraint

from shipyard.store._declare import Mapped, mapped_column
from shipyard.store._models.base import NAME_LEN, AutoId, Base, table


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


LINEAGE_EDGES = table(LineageEdge)
