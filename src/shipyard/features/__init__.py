"""The feature store: define features once, build point-in-time correct training data
offline (DuckDB ASOF joins over Parquet), materialize the latest values into an online
store (SQLite, or Redis) and look them up at serving time.

    from shipyard import features as fs

    user = fs.Entity("user", join_keys=["user_id"])
    stats = fs.FeatureView("user_stats", [user], fs.FileSource("stats.parquet"),
                           schema=[fs.Field("clicks", "int64")], ttl=timedelta(days=7))
    fs.apply([user, stats])
    train = fs.get_historical_features(labels, ["user_stats:clicks"])
    fs.materialize()
    fs.get_online_features([{"user_id": 1}], ["user_stats:clicks"]).values
"""

from shipyard.entities import FeatureMaterialization, FeatureObject
from shipyard.features._apply import Change, apply, load_definitions, plan
from shipyard.features._definitions import (
    DTYPES,
    DatasetSource,
    Entity,
    FeatureSelection,
    FeatureService,
    FeatureView,
    Field,
    FileSource,
    OnDemandFeatureView,
    SqlSource,
    on_demand_feature_view,
)
from shipyard.features._materialize import materialize, materialize_incremental
from shipyard.features._online import (
    OnlineStore,
    RedisOnlineStore,
    SqliteOnlineStore,
    close_online_stores,
    online_store,
)
from shipyard.features._online_lookup import (
    MISSING,
    OUTSIDE_TTL,
    PRESENT,
    OnlineResponse,
    get_online_features,
    serves_inline,
)
from shipyard.features._retrieval import get_historical_features
from shipyard.features._skew import Mismatch, SkewReport, check_skew


def list_definitions(kind: str | None = None) -> list[FeatureObject]:
    """The definitions in the registry (of one kind: entity, feature_view, on_demand_view,
    service)."""
    from shipyard.features._retrieval import _store

    return _store(None).list_feature_objects(kind)


def get_definition(kind: str, name: str) -> FeatureObject:
    """One definition from the registry."""
    from shipyard.features._retrieval import _store

    return _store(None).get_feature_object(kind, name)


def materializations(view: str, limit: int = 100) -> list[FeatureMaterialization]:
    """A view's materialization windows, latest first (the first ends at the watermark)."""
    from shipyard.features._retrieval import _store

    return _store(None).list_feature_materializations(view, limit)


__all__ = [
    "DTYPES",
    "MISSING",
    "OUTSIDE_TTL",
    "PRESENT",
    "Change",
    "DatasetSource",
    "Entity",
    "FeatureMaterialization",
    "FeatureObject",
    "FeatureSelection",
    "FeatureService",
    "FeatureView",
    "Field",
    "FileSource",
    "Mismatch",
    "OnDemandFeatureView",
    "OnlineResponse",
    "OnlineStore",
    "RedisOnlineStore",
    "SkewReport",
    "SqlSource",
    "SqliteOnlineStore",
    "apply",
    "check_skew",
    "close_online_stores",
    "get_definition",
    "get_historical_features",
    "get_online_features",
    "list_definitions",
    "load_definitions",
    "materializations",
    "materialize",
    "materialize_incremental",
    "on_demand_feature_view",
    "online_store",
    "plan",
    "serves_inline",
]
