"""Feature-store definitions in Python: entities, sources, feature views, on-demand feature
views and feature services.

Each definition turns into a JSON spec (``to_spec``) that the registry stores; ``apply``
compares specs by digest, so re-applying an unchanged ``features.py`` changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar

from shipyard.client import check_feature_name
from shipyard.errors import InvalidArgument

__all__ = [
    "DTYPES",
    "DatasetSource",
    "Entity",
    "FeatureService",
    "FeatureView",
    "Field",
    "FileSource",
    "OnDemandFeatureView",
    "SqlSource",
    "on_demand_feature_view",
]

#: Feature types and the DuckDB type each is returned as.
DTYPES: dict[str, str] = {
    "int64": "BIGINT",
    "int32": "INTEGER",
    "float64": "DOUBLE",
    "float32": "FLOAT",
    "string": "VARCHAR",
    "bool": "BOOLEAN",
}

#: On-demand functions defined in this process, by "module:qualname" (see ``function_ref``).
ON_DEMAND_FUNCTIONS: dict[str, Callable[..., Any]] = {}


@dataclass(frozen=True)
class Field:
    """A typed feature: ``Field("amount", "float64")`` (types: see DTYPES)."""

    name: str
    dtype: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip() or ":" in self.name:
            raise InvalidArgument(
                f"feature name must be non-empty text without ':', got {self.name!r}",
                field="feature",
            )
        if self.dtype not in DTYPES:
            raise InvalidArgument(
                f"feature {self.name!r} has type {self.dtype!r}; use one of {', '.join(DTYPES)}",
                field="dtype",
            )

    def to_spec(self) -> dict[str, str]:
        return {"name": self.name, "dtype": self.dtype}


def _tuple(values: Any, what: str) -> tuple[Any, ...]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise InvalidArgument(f"{what} must be a list, got {values!r}", field=what)
    return tuple(values)


@dataclass(frozen=True)
class Entity:
    """What features describe (a user, a driver): a name and the join keys that identify one."""

    kind: ClassVar[str] = "entity"
    name: str
    join_keys: Sequence[str]
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_feature_name(self.name, "entity")
        keys = _tuple(self.join_keys, "join_keys")
        if not keys:
            raise InvalidArgument(f"entity {self.name!r} needs at least one join key")
        for key in keys:
            check_feature_name(key, "join key")
        object.__setattr__(self, "join_keys", keys)

    def to_spec(self) -> dict[str, Any]:
        return {
            "join_keys": list(self.join_keys),
            "description": self.description,
            "tags": dict(self.tags),
        }


@dataclass(frozen=True)
class FileSource:
    """Parquet files: one path, a folder or a glob (``"data/events/*.parquet"``)."""

    path: str

    def to_spec(self) -> dict[str, Any]:
        return {"type": "file", "path": self.path}


@dataclass(frozen=True)
class DatasetSource:
    """A Shipyard dataset version (``"transactions@3"``; ``@latest`` is resolved at use)."""

    ref: str

    def to_spec(self) -> dict[str, Any]:
        return {"type": "dataset", "ref": self.ref}


@dataclass(frozen=True)
class SqlSource:
    """A DuckDB SQL query (it may read Parquet with ``read_parquet('...')``)."""

    query: str

    def to_spec(self) -> dict[str, Any]:
        return {"type": "sql", "query": self.query}


Source = FileSource | DatasetSource | SqlSource


@dataclass(frozen=True)
class FeatureView:
    """Features of an entity read from a source with an event timestamp.

    Args:
        name: The view's name (features are requested as ``"<name>:<feature>"``).
        entities: The entities (or their names) whose join keys identify a row.
        source: A FileSource, DatasetSource, SqlSource, or a DataFrame/Arrow table (stored
            as a dataset version ``features-<name>`` when applied).
        schema: The features, as ``Field(name, dtype)``.
        timestamp_field: The source column holding each row's event time.
        created_timestamp_field: The source column that breaks ties: when two rows of one
            entity share an event timestamp, the one created last wins (then the later row).
        ttl: How long a value stays valid after its event time; forever when None.
        owner: Who answers for the view.
        tags: Free-form labels.
        description: What the view holds.
        online: Whether ``materialize()`` writes the view to the online store by default.

    Raises:
        InvalidArgument: A bad name, an empty or repeated schema, or a ttl that is not a
            positive timedelta.
    """

    kind: ClassVar[str] = "feature_view"
    name: str
    entities: Sequence[Entity | str]
    source: Any
    schema: Sequence[Field]
    timestamp_field: str = "event_timestamp"
    created_timestamp_field: str | None = None
    ttl: timedelta | None = None
    owner: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    online: bool = True

    def __post_init__(self) -> None:
        check_feature_name(self.name, "feature view")
        object.__setattr__(self, "entities", _tuple(self.entities, "entities"))
        object.__setattr__(self, "schema", _tuple(self.schema, "schema"))
        if not self.schema or not all(isinstance(f, Field) for f in self.schema):
            raise InvalidArgument(
                f"feature view {self.name!r} needs a schema: a list of Field(name, dtype)",
                field="schema",
            )
        names = [f.name for f in self.schema]
        if len(set(names)) != len(names):
            raise InvalidArgument(f"feature view {self.name!r} names a feature twice")
        if self.ttl is not None and (
            not isinstance(self.ttl, timedelta) or self.ttl <= timedelta(0)
        ):
            raise InvalidArgument(
                f"feature view {self.name!r}: ttl must be a positive timedelta or None, "
                f"got {self.ttl!r}",
                field="ttl",
            )

    @property
    def entity_names(self) -> list[str]:
        return [e.name if isinstance(e, Entity) else str(e) for e in self.entities]

    @property
    def features(self) -> list[str]:
        return [f.name for f in self.schema]

    def __getitem__(self, names: Sequence[str]) -> FeatureSelection:
        """A subset of this view's features for a FeatureService: ``view[["a", "b"]]``."""
        unknown = [n for n in names if n not in self.features]
        if unknown:
            raise InvalidArgument(f"feature view {self.name!r} has no feature {unknown[0]!r}")
        return FeatureSelection(self.name, tuple(names))

    def to_spec(self, source: dict[str, Any] | None = None) -> dict[str, Any]:
        """The registry form; ``source`` replaces the source's spec (a DataFrame's dataset)."""
        if source is None:
            if not isinstance(self.source, FileSource | DatasetSource | SqlSource):
                raise InvalidArgument(
                    f"feature view {self.name!r}: a DataFrame source is stored when applied",
                    field="source",
                )
            source = self.source.to_spec()
        return {
            "entities": self.entity_names,
            "source": source,
            "schema": [f.to_spec() for f in self.schema],
            "timestamp_field": self.timestamp_field,
            "created_timestamp_field": self.created_timestamp_field,
            "ttl_seconds": None if self.ttl is None else self.ttl.total_seconds(),
            "owner": self.owner,
            "tags": dict(self.tags),
            "description": self.description,
            "online": self.online,
        }


@dataclass(frozen=True)
class FeatureSelection:
    """Some features of one view (``view[["a", "b"]]``)."""

    view: str
    features: tuple[str, ...]


def function_ref(fn: Callable[..., Any]) -> str:
    """``"module:qualname"`` of a function, remembered so this process can call it back."""
    ref = f"{fn.__module__}:{fn.__qualname__}"
    ON_DEMAND_FUNCTIONS[ref] = fn
    return ref


@dataclass(frozen=True)
class OnDemandFeatureView:
    """Features computed at retrieval by a function of other views' features.

    ``function`` takes a pandas DataFrame with the features of ``sources`` (plain names)
    and returns a DataFrame with the columns of ``schema``. The registry stores the
    function's import path (``module:qualname``), so it must be importable where features
    are retrieved (or defined in the same process).
    """

    kind: ClassVar[str] = "on_demand_view"
    name: str
    sources: Sequence[FeatureView | str]
    schema: Sequence[Field]
    function: Callable[[Any], Any]
    description: str = ""

    def __post_init__(self) -> None:
        check_feature_name(self.name, "on-demand feature view")
        object.__setattr__(self, "sources", _tuple(self.sources, "sources"))
        object.__setattr__(self, "schema", _tuple(self.schema, "schema"))
        if not callable(self.function):
            raise InvalidArgument(f"on-demand view {self.name!r} needs a function")
        function_ref(self.function)

    @property
    def features(self) -> list[str]:
        return [f.name for f in self.schema]

    def to_spec(self) -> dict[str, Any]:
        return {
            "sources": [s.name if isinstance(s, FeatureView) else str(s) for s in self.sources],
            "schema": [f.to_spec() for f in self.schema],
            "function": function_ref(self.function),
            "description": self.description,
        }


def on_demand_feature_view(
    *, sources: Sequence[FeatureView | str], schema: Sequence[Field], name: str | None = None
) -> Callable[[Callable[[Any], Any]], OnDemandFeatureView]:
    """Decorator form of OnDemandFeatureView: the function's name is the view's name."""

    def wrap(fn: Callable[[Any], Any]) -> OnDemandFeatureView:
        return OnDemandFeatureView(name or fn.__name__, sources, schema, fn, fn.__doc__ or "")

    return wrap


@dataclass(frozen=True)
class FeatureService:
    """A named set of features a model uses: views (all their features), selections
    (``view[["a"]]``) or ``"view:feature"`` strings."""

    kind: ClassVar[str] = "service"
    name: str
    features: Sequence[FeatureView | OnDemandFeatureView | FeatureSelection | str]
    description: str = ""
    owner: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_feature_name(self.name, "feature service")
        object.__setattr__(self, "features", _tuple(self.features, "features"))

    def refs(self) -> list[str]:
        """The features as ``"view:feature"`` strings (a bare view name means all of it)."""
        out: list[str] = []
        for item in self.features:
            if isinstance(item, FeatureView | OnDemandFeatureView):
                out.extend(f"{item.name}:{f}" for f in item.features)
            elif isinstance(item, FeatureSelection):
                out.extend(f"{item.view}:{f}" for f in item.features)
            else:
                out.append(str(item))
        return out

    def to_spec(self) -> dict[str, Any]:
        return {
            "features": self.refs(),
            "description": self.description,
            "owner": self.owner,
            "tags": dict(self.tags),
        }


Definition = Entity | FeatureView | OnDemandFeatureView | FeatureService
