"""The training/serving skew check: online values compared with offline point-in-time values
for a sample of entities."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from shipyard.client import Store
from shipyard.features._definitions import FeatureService
from shipyard.features._online_lookup import EPOCH, get_online_features, plain_value
from shipyard.features._registry import make_plan, registry
from shipyard.features._retrieval import _store


@dataclass(frozen=True)
class Mismatch:
    """An entity whose online value differs from the offline value at the watermark."""

    view: str
    entity: dict[str, Any]
    feature: str
    online: Any
    offline: Any


@dataclass
class SkewReport:
    """The outcome of a skew check: how many values were compared, and the differences."""

    checked: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=0)
    return bool(a == b)


def check_skew(
    features: Sequence[str] | FeatureService | str,
    *,
    sample: int = 100,
    seed: int = 0,
    store: Store | None = None,
) -> SkewReport:
    """Compare online values with offline (point-in-time) values for a sample of entities.

    For each view, ``sample`` entities of its source are looked up online and retrieved
    offline as of the view's watermark (the end of its last materialization); every value
    that differs is a Mismatch. Views never materialized are skipped.
    """
    import pandas as pd

    from shipyard.features._offline import arrow_table, connect, quote, source_relation
    from shipyard.features._retrieval import get_historical_features

    target = _store(store)
    plan = make_plan(features, registry(target, fresh=True))
    report = SkewReport()
    for view, wanted in plan.views.items():
        done = target.list_feature_materializations(view, limit=1)
        if not done or not wanted:
            continue
        spec = plan.specs[view]
        as_of = EPOCH + timedelta(milliseconds=done[0].end) - timedelta(microseconds=1)
        keys = ", ".join(quote(k) for k in spec.join_keys)
        clause, _ = source_relation(spec, target)
        con = connect()
        try:
            entities = arrow_table(
                con.sql(
                    f"SELECT DISTINCT {keys} FROM {clause} ORDER BY hash({keys}, {int(seed)}) "
                    f"LIMIT {int(sample)}"
                )
            ).to_pandas()
        finally:
            con.close()
        rows = entities.to_dict("records")
        refs = [f"{view}:{f}" for f in wanted]
        stamp = pd.Timestamp(as_of)
        if not _aware(target, spec):
            stamp = stamp.tz_localize(None)
        offline = get_historical_features(
            entities.assign(event_timestamp=stamp), refs, full_feature_names=True, store=target
        )
        online = get_online_features(rows, refs, full_feature_names=True, store=target, as_of=as_of)
        for i, row in enumerate(rows):
            for feature in wanted:
                name = f"{view}__{feature}"
                a, b = online.values[name][i], plain_value(offline[name].iloc[i])
                b = None if b is pd.NA else b
                report.checked += 1
                if not (
                    (a is None and b is None) or (a is not None and b is not None and _same(a, b))
                ):
                    report.mismatches.append(Mismatch(view, row, feature, a, b))
    return report


def _aware(store: Store, spec: Any) -> bool:
    from shipyard.features._offline import _AWARE, connect, source_schema

    con = connect()
    try:
        return source_schema(con, spec, store)[spec.timestamp_field] == _AWARE
    finally:
        con.close()
