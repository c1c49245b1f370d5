"""The data area's tables: datasets and their immutable versions."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint

from shipyard.store._declare import Mapped, mapped_column
from shipyard.store._models.base import ID_LEN, NAME_LEN, Base, project_column, table


class Dataset(Base):
    """A named dataset; its versions live in ``dataset_versions``."""

    __tablename__ = "datasets"
    name: Mapped[str] = mapped_column(String(NAME_LEN), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    project: Mapped[str] = project_column()


DATASETS = table(Dataset)


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


DATASET_VERSIONS = table(DatasetVersion)
