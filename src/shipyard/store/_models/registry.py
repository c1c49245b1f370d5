"""The model registry's tables: models, their versions with tags and files, aliases and the
aliases' history."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)

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
    project: Mapped[str] = project_column()


REGISTERED_MODELS = table(RegisteredModel)


class RegisteredModelTag(Base):
    __tablename__ = "registered_model_tags"
    model_id: Mapped[str] = mapped_column(
        ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    value: Mapped[str] = mapped_column(String(TAG_VALUE_LEN))


REGISTERED_MODEL_TAGS = table(RegisteredModelTag)


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


MODEL_VERSIONS = table(ModelVersion)


class ModelVersionTag(Base):
    __tablename__ = "model_version_tags"
    version_id: Mapped[str] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    value: Mapped[str] = mapped_column(String(TAG_VALUE_LEN))


MODEL_VERSION_TAGS = table(ModelVersionTag)


class ModelVersionFile(Base):
    """The manifest of a version: each file's path in the model folder and its blob."""

    __tablename__ = "model_version_files"
    version_id: Mapped[str] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(PATH_LEN), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (CLUSTERED,)


MODEL_VERSION_FILES = table(ModelVersionFile)


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


MODEL_ALIASES = table(ModelAlias)


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


MODEL_ALIAS_EVENTS = table(ModelAliasEvent)
