"""LocalStore operations for the feature-store registry (mixed into LocalStore)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection

from shipyard.entities import FEATURE_OBJECT_KINDS, FeatureMaterialization, FeatureObject
from shipyard.errors import InvalidArgument
from shipyard.store import features_db

T = TypeVar("T")
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
    return FeatureObject(obj.kind, obj.name, obj.spec, spec_digest(obj.spec))


def check_window(view: str, start: int, end: int, rows: int) -> None:
    """A materialization record: a valid view name, ``0 <= start <= end`` and ``rows >= 0``."""
    check_feature_name(view, "feature_view")
    if not all(isinstance(x, int) and x >= 0 for x in (start, end, rows)) or end < start:
        raise InvalidArgument(
            f"a materialization window needs 0 <= start <= end and rows >= 0, got "
            f"start={start!r} end={end!r} rows={rows!r}",
            field="window",
        )


class FeatureStoreMixin:
    """Feature definitions and materialization windows over the metadata database."""

    if TYPE_CHECKING:

        def _write(self) -> AbstractContextManager[Connection]: ...
        def _read(self, fn: Callable[[Connection], T]) -> T: ...
        @staticmethod
        def _now() -> int: ...

    def apply_feature_objects(
        self,
        objects: Sequence[FeatureObject],
        delete: Sequence[tuple[str, str]] = (),
    ) -> list[FeatureObject]:
        """Create or replace definitions and remove ``delete`` ((kind, name) pairs) in one
        transaction; returns the stored objects. Digests are computed here."""
        clean = [checked_object(obj) for obj in objects]
        gone = [(check_kind(k), check_feature_name(n, k)) for k, n in delete]
        with self._write() as conn:
            features_db.delete_objects(conn, gone)
            features_db.put_objects(conn, clean, self._now())
            return [features_db.get_object(conn, o.kind, o.name) for o in clean]

    def get_feature_object(self, kind: str, name: str) -> FeatureObject:
        """One definition by kind and name (NotFound names the known ones)."""
        check_kind(kind)
        check_feature_name(name, kind)
        return self._read(lambda c: features_db.get_object(c, kind, name))

    def list_feature_objects(self, kind: str | None = None) -> list[FeatureObject]:
        """Every definition (of one kind), by kind and name."""
        if kind is not None:
            check_kind(kind)
        return self._read(lambda c: features_db.list_objects(c, kind))

    def record_feature_materialization(
        self, view: str, start: int, end: int, rows: int
    ) -> FeatureMaterialization:
        """Record that ``view`` was materialized over the window ``[start, end)`` (epoch ms)."""
        check_window(view, start, end, rows)
        with self._write() as conn:
            return features_db.record_materialization(conn, view, start, end, rows, self._now())

    def list_feature_materializations(
        self, view: str, limit: int = 100
    ) -> list[FeatureMaterialization]:
        """A view's materializations, the latest window end first (the first is the
        watermark)."""
        check_feature_name(view, "feature_view")
        return self._read(lambda c: features_db.list_materializations(c, view, max(1, limit)))
