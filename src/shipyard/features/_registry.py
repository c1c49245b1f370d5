"""The registry side of the feature store: resolved specs, a per-process cache, and turning
a feature list or a service into a retrieval plan.

Definitions are read once per store and kept for ``CACHE_SECONDS`` (online lookups must not
pay a database round trip); ``apply`` in this process refreshes the cache at once.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shipyard.client import Store
from shipyard.config import put_project_on_path
from shipyard.entities import FeatureObject
from shipyard.errors import InvalidArgument, NotFound
from shipyard.features._definitions import ON_DEMAND_FUNCTIONS, FeatureService

#: How long definitions read from the registry are reused by this process.
CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class ViewSpec:
    """A feature view as retrieval needs it."""

    name: str
    join_keys: tuple[str, ...]
    source: dict[str, Any]
    features: dict[str, str]  # name -> dtype, in schema order
    timestamp_field: str
    created_field: str | None
    ttl_us: int | None
    online: bool

    @classmethod
    def from_objects(cls, obj: FeatureObject, entities: dict[str, FeatureObject]) -> ViewSpec:
        spec = obj.spec
        keys: list[str] = []
        for name in spec["entities"]:
            if name not in entities:
                raise NotFound(
                    f"feature view {obj.name!r} uses entity {name!r}, which is not applied; "
                    "define it in features.py and run `shipyard features apply`",
                    field="entity",
                )
            keys.extend(k for k in entities[name].spec["join_keys"] if k not in keys)
        ttl = spec.get("ttl_seconds")
        return cls(
            obj.name,
            tuple(keys),
            spec["source"],
            {f["name"]: f["dtype"] for f in spec["schema"]},
            spec["timestamp_field"],
            spec.get("created_timestamp_field"),
            None if ttl is None else round(ttl * 1_000_000),
            bool(spec.get("online", True)),
        )


@dataclass(frozen=True)
class OnDemandSpec:
    """An on-demand view: its source views, output features and function reference."""

    name: str
    sources: tuple[str, ...]
    features: dict[str, str]
    function: str

    def call(self, frame: Any) -> Any:
        """Run the function on a DataFrame of the source features."""
        fn = resolve_function(self.function)
        out = fn(frame)
        missing = [f for f in self.features if f not in getattr(out, "columns", [])]
        if missing:
            raise InvalidArgument(
                f"on-demand view {self.name!r}: its function returned no column "
                f"{missing[0]!r}; it must return a DataFrame with {', '.join(self.features)}",
                field="function",
            )
        return out


def resolve_function(ref: str) -> Callable[..., Any]:
    """The on-demand function named ``module:qualname`` (defined here or importable)."""
    fn = ON_DEMAND_FUNCTIONS.get(ref)
    if fn is not None:
        return fn
    module, _, qualname = ref.partition(":")
    put_project_on_path()
    try:
        target: Any = importlib.import_module(module)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError):
        raise NotFound(
            f"cannot import the on-demand function {ref!r}; make its module importable "
            "(run from the project folder: the one holding shipyard.toml, else the working "
            "directory) or define it in this process",
            field="function",
        ) from None
    if hasattr(target, "function"):  # the decorated OnDemandFeatureView itself
        target = target.function
    return target  # type: ignore[no-any-return]


@dataclass
class Registry:
    """A snapshot of the definitions in one store."""

    objects: dict[tuple[str, str], FeatureObject]
    loaded_at: float = field(default_factory=time.monotonic)
    _views: dict[str, ViewSpec] = field(default_factory=dict)
    #: Online lookup plans made from this snapshot, by (features, full names).
    plans: dict[tuple[Any, bool], Plan] = field(default_factory=dict)

    def get(self, kind: str, name: str) -> FeatureObject:
        obj = self.objects.get((kind, name))
        if obj is None:
            known = sorted(n for k, n in self.objects if k == kind)
            label = {"feature_view": "feature view", "service": "feature service"}.get(kind, kind)
            raise NotFound(
                f"no {label} named {name!r} (known: {', '.join(known[:20]) or 'none'}); "
                "define it in features.py and run `shipyard features apply`",
                field=kind,
            )
        return obj

    def view(self, name: str) -> ViewSpec:
        spec = self._views.get(name)
        if spec is None:
            entities = {n: o for (k, n), o in self.objects.items() if k == "entity"}
            spec = ViewSpec.from_objects(self.get("feature_view", name), entities)
            self._views[name] = spec
        return spec

    def on_demand(self, name: str) -> OnDemandSpec | None:
        obj = self.objects.get(("on_demand_view", name))
        if obj is None:
            return None
        s = obj.spec
        return OnDemandSpec(
            name,
            tuple(s["sources"]),
            {f["name"]: f["dtype"] for f in s["schema"]},
            s["function"],
        )

    def views(self) -> list[str]:
        return sorted(n for k, n in self.objects if k == "feature_view")


_cache: dict[int, Registry] = {}
_cache_lock = threading.Lock()


def registry(store: Store, *, fresh: bool = False) -> Registry:
    """The cached definitions of ``store`` (re-read after CACHE_SECONDS or when ``fresh``)."""
    found = None if fresh else cached(store)
    if found is not None:
        return found
    key = id(store)
    objects = {(o.kind, o.name): o for o in store.list_feature_objects()}
    snapshot = Registry(objects)
    with _cache_lock:
        _cache[key] = snapshot
    return snapshot


def cached(store: Store) -> Registry | None:
    """The definitions of ``store`` if this process holds a fresh copy (no database read)."""
    found = _cache.get(id(store))
    if found is not None and time.monotonic() - found.loaded_at < CACHE_SECONDS:
        return found
    return None


def forget(store: Store) -> None:
    """Drop the cached definitions of ``store`` (after apply)."""
    with _cache_lock:
        _cache.pop(id(store), None)


@dataclass(frozen=True)
class Plan:
    """What a retrieval reads: per view the features to fetch, the on-demand views to run,
    and the output columns in request order as (view, feature, column name)."""

    views: dict[str, list[str]]
    on_demand: list[OnDemandSpec]
    outputs: list[tuple[str, str, str]]
    specs: dict[str, ViewSpec]

    @property
    def join_keys(self) -> list[str]:
        keys: list[str] = []
        for spec in self.specs.values():
            keys.extend(k for k in spec.join_keys if k not in keys)
        return keys


def feature_refs(features: Sequence[str] | FeatureService | str | None, reg: Registry) -> list[str]:
    """The ``"view:feature"`` list a request names: a list, a service (object or name)."""
    if isinstance(features, FeatureService):
        return features.refs()
    if isinstance(features, str):
        return list(reg.get("service", features).spec["features"])
    if features is None or not len(features):
        raise InvalidArgument(
            "name the features to retrieve: a list of 'view:feature' strings or a feature service",
            field="features",
        )
    return [str(f) for f in features]


def make_plan(
    features: Sequence[str] | FeatureService | str | None,
    reg: Registry,
    *,
    full_feature_names: bool = False,
) -> Plan:
    """Resolve the requested features against the registry; unknown ones are an error."""
    views: dict[str, list[str]] = {}
    specs: dict[str, ViewSpec] = {}
    on_demand: dict[str, OnDemandSpec] = {}
    outputs: list[tuple[str, str, str]] = []
    for ref in feature_refs(features, reg):
        view, sep, feature = ref.partition(":")
        if not sep:
            raise InvalidArgument(
                f"feature {ref!r} is not of the form 'view:feature'", field="features"
            )
        odv = reg.on_demand(view)
        if odv is not None:
            known = odv.features
            on_demand[view] = odv
            for source in odv.sources:  # the function's inputs: every source feature
                specs[source] = reg.view(source)
                views.setdefault(source, [])
        else:
            specs[view] = reg.view(view)
            known = specs[view].features
            views.setdefault(view, [])
            if feature in known and feature not in views[view]:
                views[view].append(feature)
        if feature not in known:
            raise NotFound(
                f"feature view {view!r} has no feature {feature!r}; its features are "
                f"{', '.join(known)}",
                field="features",
            )
        outputs.append((view, feature, f"{view}__{feature}" if full_feature_names else feature))
    for odv in on_demand.values():
        for source in odv.sources:
            views[source] = list(specs[source].features)
    names = [c for _, _, c in outputs]
    dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        raise InvalidArgument(
            f"feature {dupes[0]!r} is requested from more than one view (or twice); pass "
            "full_feature_names=True to name columns 'view__feature'",
            field="features",
        )
    return Plan(views, list(on_demand.values()), outputs, specs)
