"""Online retrieval: ``get_online_features`` reads the latest materialized values of each
entity row from the online store, with a status per value (PRESENT, MISSING, OUTSIDE_TTL)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from shipyard.client import Store
from shipyard.errors import InvalidArgument, ShipyardError
from shipyard.features._definitions import FeatureService
from shipyard.features._online import OnlineStore, encode_key, online_store
from shipyard.features._registry import Plan, cached, make_plan, registry
from shipyard.features._retrieval import _store

PRESENT, MISSING, OUTSIDE_TTL = "PRESENT", "MISSING", "OUTSIDE_TTL"
#: The most entity rows a lookup may have to be answered on a server's event loop.
INLINE_ROWS = 1_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class OnlineResponse:
    """Feature values for each requested entity row, with a status per value (PRESENT,
    MISSING, OUTSIDE_TTL) and the event time of the value (None when not present)."""

    values: dict[str, list[Any]] = field(default_factory=dict)
    statuses: dict[str, list[str]] = field(default_factory=dict)
    event_timestamps: dict[str, list[datetime | None]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "values": self.values,
            "statuses": self.statuses,
            "event_timestamps": self.event_timestamps,
        }

    def to_df(self) -> Any:
        """The values as a pandas DataFrame (one row per entity row)."""
        import pandas as pd

        return pd.DataFrame(self.values)


def _rows(entity_rows: Any, keys: Sequence[str]) -> list[Mapping[str, Any]]:
    if isinstance(entity_rows, Mapping):
        columns = {k: list(v) for k, v in entity_rows.items()}
        n = len(next(iter(columns.values()), []))
        entity_rows = [{k: v[i] for k, v in columns.items()} for i in range(n)]
    if not isinstance(entity_rows, Sequence):
        raise InvalidArgument(
            "entity_rows must be a list of {join_key: value} dicts (or a dict of lists)",
            field="entity_rows",
        )
    for row in entity_rows:
        if not isinstance(row, Mapping):
            raise InvalidArgument(f"entity row {row!r} is not a mapping", field="entity_rows")
        missing = [k for k in keys if k not in row]
        if missing:
            raise InvalidArgument(
                f"entity row {dict(row)!r} has no join key {missing[0]!r}; the features "
                f"requested need {', '.join(keys)}",
                field=missing[0],
            )
    return list(entity_rows)


def _plan(store: Store, features: Any, full: bool) -> Plan:
    """The plan of a request, kept with the definitions snapshot it was made from."""
    reg = registry(store)
    key = (features if isinstance(features, str) else tuple(features), full)
    plan = reg.plans.get(key)
    if plan is None:
        plan = make_plan(features, reg, full_feature_names=full)
        if len(reg.plans) < 1000:
            reg.plans[key] = plan
    return plan


def serves_inline(store: Store, features: Sequence[str] | str, full: bool, rows: int) -> bool:
    """True when a lookup does no blocking work beyond a local SQLite read: definitions are
    cached and fresh, no on-demand view runs (pandas), the online store is SQLite and there
    are at most INLINE_ROWS entity rows. A server answers such lookups on its event loop
    (no thread-pool hop) and the others in its thread pool."""
    url = store.settings.online_store  # type: ignore[attr-defined]
    if rows > INLINE_ROWS or cached(store) is None or (url and not url.startswith("sqlite:")):
        return False
    try:
        plan = _plan(store, features, full)
    except ShipyardError:
        return False  # the thread-pool path raises it
    return not plan.on_demand


def get_online_features(
    entity_rows: Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]],
    features: Sequence[str] | FeatureService | str,
    *,
    full_feature_names: bool = False,
    store: Store | None = None,
    as_of: datetime | None = None,
) -> OnlineResponse:
    """The latest materialized values for each entity row, from the online store.

    A value older than its view's TTL is None with status OUTSIDE_TTL; an entity never
    materialized is None with status MISSING.

    Args:
        entity_rows: A list of ``{join_key: value}`` dicts, or a dict of lists.
        features: A list of ``"view:feature"``, a FeatureService or a service's name.
        full_feature_names: Name the outputs ``view__feature``.
        store: The store whose definitions and online store are used; by default the
            configured client's.
        as_of: The time TTLs are measured against; now when None.

    Returns:
        The values, a status per value and the values' event times, by output name.

    Raises:
        InvalidArgument: Entity rows that are not mappings or lack a join key, or a
            malformed feature reference.
        NotFound: An unknown view, feature or service.
    """
    target = _store(store)
    features_key = features.refs() if isinstance(features, FeatureService) else features
    plan = _plan(target, features_key, full_feature_names)
    rows = _rows(entity_rows, plan.join_keys)
    now_us = time.time_ns() // 1000 if as_of is None else _micros(as_of)
    online = online_store(target.settings)  # type: ignore[attr-defined]
    found = {view: _lookup(online, plan, view, rows, now_us) for view in plan.views}
    response = OnlineResponse()
    for view, feature, name in plan.outputs:
        if view in found:
            values, statuses, stamps = found[view][feature]
        else:
            values, statuses, stamps = _on_demand(plan, view, feature, found, len(rows))
        response.values[name] = values
        response.statuses[name] = statuses
        response.event_timestamps[name] = stamps
    return response


def _micros(when: datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - EPOCH) // timedelta(microseconds=1)


Column = tuple[list[Any], list[str], list[datetime | None]]


def _lookup(
    online: OnlineStore,
    plan: Plan,
    view: str,
    rows: Sequence[Mapping[str, Any]],
    now_us: int,
) -> dict[str, Column]:
    spec = plan.specs[view]
    join_keys = spec.join_keys
    keys = [encode_key([row[k] for k in join_keys]) for row in rows]
    stored = online.read(view, list(dict.fromkeys(keys)))
    ttl = spec.ttl_us
    # status, event time and decoded values once per distinct entity, then a column each
    found: dict[str, tuple[str, datetime | None, dict[str, Any] | None]] = {}
    for key, (ts, raw) in stored.items():
        stamp = EPOCH + timedelta(microseconds=ts)
        if ttl is not None and now_us - ts > ttl:
            found[key] = (OUTSIDE_TTL, stamp, None)
        else:
            found[key] = (PRESENT, stamp, orjson.loads(raw))
    absent = (MISSING, None, None)
    hits = [found.get(key, absent) for key in keys]
    statuses = [hit[0] for hit in hits]
    stamps = [hit[1] for hit in hits]
    values = [hit[2] for hit in hits]
    return {
        feature: (
            [None if v is None else v.get(feature) for v in values],
            list(statuses),
            list(stamps),
        )
        for feature in plan.views[view]
    }


def _on_demand(
    plan: Plan, view: str, feature: str, found: dict[str, dict[str, Column]], n: int
) -> Column:
    import pandas as pd

    odv = next(o for o in plan.on_demand if o.name == view)
    frame = pd.DataFrame(
        {f: found[s][f][0] for s in odv.sources for f in plan.views[s]}, index=range(n)
    )
    result = odv.call(frame)
    statuses = [
        PRESENT
        if all(found[s][f][1][i] == PRESENT for s in odv.sources for f in plan.views[s])
        else MISSING
        for i in range(n)
    ]
    values = [
        None if s != PRESENT else plain_value(v)
        for s, v in zip(statuses, result[feature], strict=True)
    ]
    return values, statuses, [None] * n


def plain_value(value: Any) -> Any:
    """A numpy/pandas scalar as a plain Python value; NaN as None."""
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and math.isnan(value) else value
