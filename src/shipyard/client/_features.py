"""The feature-store slice of the Store protocol: feature definitions (entities, views,
services...) and the windows each view was materialized over, with the input checks."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol, runtime_checkable

from shipyard import _validation as v
from shipyard.client._checking import checks
from shipyard.client._checks import clamped, optional
from shipyard.entities import (
    DEFAULT_PROJECT,
    FEATURE_OBJECT_KINDS,
    FeatureMaterialization,
    FeatureObject,
    FeatureViewFreshness,
)
from shipyard.errors import InvalidArgument

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-.]*$")
MAX_FEATURE_NAME = 200


def check_feature_name(name: Any, kind: str = "name") -> str:
    """A feature-store name: a letter or ``_`` then letters, digits, ``_ - .`` (no ``:``,
    which separates a view from its feature in ``"view:feature"``), at most 200 chars."""
    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"{kind} must be a non-empty string, got {name!r}", field=kind)
    if len(name) > MAX_FEATURE_NAME or not _NAME.match(name):
        raise InvalidArgument(
            f"{kind} {name[:60]!r} is not allowed: start with a letter or '_' and use at most "
            f"{MAX_FEATURE_NAME} letters, digits, '_', '-' and '.'",
            field=kind,
        )
    return name


def check_kind(kind: Any) -> str:
    """One of FEATURE_OBJECT_KINDS."""
    if kind not in FEATURE_OBJECT_KINDS:
        raise InvalidArgument(
            f"feature object kind must be one of {', '.join(FEATURE_OBJECT_KINDS)}, got {kind!r}",
            field="kind",
        )
    return str(kind)


def spec_digest(spec: dict[str, Any]) -> str:
    """The sha256 of a spec's canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def checked_object(obj: FeatureObject) -> FeatureObject:
    """A definition with a valid kind, name and mapping spec, and its spec's digest."""
    check_kind(obj.kind)
    check_feature_name(obj.name, obj.kind)
    if not isinstance(obj.spec, dict):
        raise InvalidArgument(f"the spec of {obj.name!r} must be a mapping", field="spec")
    return replace(obj, digest=spec_digest(obj.spec))


def checked_objects(objects: Sequence[FeatureObject]) -> list[FeatureObject]:
    """Every definition, checked, with its digest."""
    return [checked_object(obj) for obj in objects]


def checked_deletions(delete: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """(kind, name) pairs of definitions to remove, each valid."""
    return [(check_kind(k), check_feature_name(n, k)) for k, n in delete]


def check_named_by_kind(kind: str, name: str) -> None:
    """A definition's name, its errors naming the kind (``entity``, ``feature_view``...)."""
    check_feature_name(name, kind)


def check_view_name(view: Any) -> str:
    """A feature view's name."""
    return check_feature_name(view, "feature_view")


def check_window(start: int, end: int, rows: int) -> None:
    """A materialization window: ``0 <= start <= end`` and ``rows >= 0``."""
    if not all(isinstance(x, int) and x >= 0 for x in (start, end, rows)) or end < start:
        raise InvalidArgument(
            f"a materialization window needs 0 <= start <= end and rows >= 0, got "
            f"start={start!r} end={end!r} rows={rows!r}",
            field="window",
        )


@runtime_checkable
class FeaturesStore(Protocol):
    """Feature definitions and materialization windows."""

    @checks(objects=checked_objects, delete=checked_deletions, project=v.check_project)
    def apply_feature_objects(
        self,
        objects: Sequence[FeatureObject],
        delete: Sequence[tuple[str, str]] = (),
        project: str = DEFAULT_PROJECT,
    ) -> list[FeatureObject]:
        """Create or replace definitions in ``project`` (an existing one keeps its project)
        and remove ``delete`` ((kind, name) pairs) at once (one transaction); returns the
        stored objects, with their spec digests."""
        ...

    @checks(check_named_by_kind, kind=check_kind)
    def get_feature_object(self, kind: str, name: str) -> FeatureObject:
        """One definition by kind and name (NotFound names the known ones)."""
        ...

    @checks(kind=optional(check_kind))
    def list_feature_objects(
        self, kind: str | None = None, projects: Sequence[str] | None = None
    ) -> list[FeatureObject]:
        """Every definition (of one kind) of ``projects`` (every project when None), by
        kind and name."""
        ...

    @checks(check_window, view=check_view_name)
    def record_feature_materialization(
        self, view: str, start: int, end: int, rows: int
    ) -> FeatureMaterialization:
        """Record that ``view`` was materialized over the window ``[start, end)`` (epoch ms)."""
        ...

    @checks(view=check_view_name, limit=clamped(1))
    def list_feature_materializations(
        self, view: str, limit: int = 100
    ) -> list[FeatureMaterialization]:
        """A view's materializations, the latest window end first (the first is the
        watermark)."""
        ...

    def list_feature_view_freshness(
        self, projects: Sequence[str] | None = None
    ) -> list[FeatureViewFreshness]:
        """When each feature view of ``projects`` (every project when None) was last
        materialized, by project and view name; a view never materialized is not listed."""
        ...
