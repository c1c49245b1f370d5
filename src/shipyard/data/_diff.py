"""Comparing two dataset versions: schema changes, row counts, and how far each column moved.

The comparison uses the stored profiles only, so it costs no data scan. A numeric column's
shift is the largest move of its mean or quartiles, in units of the older version's standard
deviation; a text or boolean column's shift is the total variation distance between the
frequencies of their top values. Both add the change in the fraction of nulls.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from shipyard.entities import DatasetVersion

_NUMERIC_POINTS = ("mean", "p25", "p50", "p75")


@dataclass(frozen=True)
class ColumnChange:
    """How one column present in both versions moved; ``score`` ranks the changes."""

    column: str
    score: float
    detail: str


@dataclass(frozen=True)
class DatasetDiff:
    """What changed from version ``a`` to version ``b``.

    Attributes:
        a: The first version's reference (``name@version``).
        b: The second version's reference.
        rows_a: The first version's number of rows.
        rows_b: The second version's number of rows.
        added: The columns only ``b`` has (``{"name", "type"}``).
        removed: The columns only ``a`` has (``{"name", "type"}``).
        type_changed: The columns whose type changed (``{"name", "from", "to"}``).
        columns: How each column both have moved, the largest change first.
    """

    a: str
    b: str
    rows_a: int
    rows_b: int
    added: list[dict[str, str]] = field(default_factory=list)
    removed: list[dict[str, str]] = field(default_factory=list)
    type_changed: list[dict[str, str]] = field(default_factory=list)
    columns: list[ColumnChange] = field(default_factory=list)

    @property
    def row_change(self) -> int:
        return self.rows_b - self.rows_a

    @property
    def same_schema(self) -> bool:
        return not (self.added or self.removed or self.type_changed)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "row_change": self.row_change}


def _numeric_point(stats: dict[str, Any], key: str) -> float | None:
    value = stats.get(key) if key == "mean" else (stats.get("quantiles") or {}).get(key)
    return float(value) if isinstance(value, (int, float)) else None


def _numeric_shift(a: dict[str, Any], b: dict[str, Any]) -> tuple[float, str]:
    scale = a.get("std") or b.get("std") or 0.0
    best, detail = 0.0, ""
    for key in _NUMERIC_POINTS:
        old, new = _numeric_point(a, key), _numeric_point(b, key)
        if old is None or new is None or old == new:
            continue
        unit = scale if scale else max(abs(old), 1e-12)
        moved = abs(new - old) / unit
        if moved > best:
            best = moved
            sign = "+" if new > old else "-"
            units = "sd" if scale else "x"
            detail = f"{key} {old:.4g} -> {new:.4g} ({sign}{moved:.2f} {units})"
    return best, detail


def _top_shift(a: dict[str, Any], b: dict[str, Any]) -> tuple[float, str]:
    def freqs(stats: dict[str, Any]) -> dict[str, float]:
        count = stats.get("count") or 0
        return {str(v): n / count for v, n in stats.get("top", [])} if count else {}

    fa, fb = freqs(a), freqs(b)
    keys = set(fa) | set(fb)
    distance = 0.5 * sum(abs(fa.get(k, 0.0) - fb.get(k, 0.0)) for k in keys)
    if not distance:
        return 0.0, ""
    new = sorted(set(fb) - set(fa))
    detail = f"top values moved (TVD {distance:.2f})"
    if new:
        detail += f"; new among top: {', '.join(new[:3])}"
    return distance, detail


def column_change(name: str, a: dict[str, Any], b: dict[str, Any]) -> ColumnChange:
    """The shift of one column between two profiles."""
    if a.get("kind") == "number" and b.get("kind") == "number":
        score, detail = _numeric_shift(a, b)
    elif "top" in a or "top" in b:
        score, detail = _top_shift(a, b)
    else:
        score, detail = 0.0, ""
    nulls = abs(float(b.get("null_fraction", 0.0)) - float(a.get("null_fraction", 0.0)))
    if nulls:
        score += nulls
        note = f"nulls {a.get('null_fraction', 0.0):.1%} -> {b.get('null_fraction', 0.0):.1%}"
        detail = f"{detail}; {note}" if detail else note
    return ColumnChange(name, score, detail or "unchanged")


def diff_versions(a: DatasetVersion, b: DatasetVersion) -> DatasetDiff:
    """Compare two versions (of one dataset or of two)."""
    types_a = {c["name"]: c["type"] for c in a.schema}
    types_b = {c["name"]: c["type"] for c in b.schema}
    added = [{"name": n, "type": t} for n, t in types_b.items() if n not in types_a]
    removed = [{"name": n, "type": t} for n, t in types_a.items() if n not in types_b]
    changed = [
        {"name": n, "from": types_a[n], "to": t}
        for n, t in types_b.items()
        if n in types_a and types_a[n] != t
    ]
    columns = [
        column_change(n, a.profile.get(n, {}), b.profile.get(n, {}))
        for n in types_b
        if n in types_a
    ]
    columns.sort(key=lambda c: (-c.score, c.column))
    return DatasetDiff(a.ref, b.ref, a.num_rows, b.num_rows, added, removed, changed, columns)
