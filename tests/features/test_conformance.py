"""The feature-store registry on every backend: definitions and materialization windows."""

from __future__ import annotations

import pytest

from shipyard.client import Store
from shipyard.entities import FeatureObject
from shipyard.errors import InvalidArgument, NotFound


@pytest.fixture
def fstore(store: Store) -> Store:
    """Every backend: LocalStore and RestStore, each over SQLite and PostgreSQL."""
    return store


def test_apply_is_an_upsert_that_keeps_unchanged_rows(fstore: Store) -> None:
    user = FeatureObject("entity", "user", {"join_keys": ["user_id"]})
    view = FeatureObject("feature_view", "stats", {"entities": ["user"]})
    first = fstore.apply_feature_objects([user, view])
    assert [(o.kind, o.name) for o in first] == [("entity", "user"), ("feature_view", "stats")]
    again = fstore.apply_feature_objects([user])
    assert again[0].digest == first[0].digest and again[0].updated_at == first[0].updated_at
    changed = fstore.apply_feature_objects([FeatureObject("entity", "user", {"join_keys": ["id"]})])
    assert changed[0].digest != first[0].digest
    assert fstore.get_feature_object("entity", "user").spec == {"join_keys": ["id"]}
    assert [o.name for o in fstore.list_feature_objects("feature_view")] == ["stats"]
    fstore.apply_feature_objects([], delete=[("feature_view", "stats")])
    assert [o.kind for o in fstore.list_feature_objects()] == ["entity"]


def test_bad_definitions_change_nothing(fstore: Store) -> None:
    with pytest.raises(InvalidArgument, match="kind"):
        fstore.apply_feature_objects([FeatureObject("table", "x", {})])
    with pytest.raises(InvalidArgument, match="not allowed"):
        fstore.apply_feature_objects(
            [FeatureObject("entity", "ok", {}), FeatureObject("entity", "a:b", {})]
        )
    assert fstore.list_feature_objects() == []
    with pytest.raises(NotFound, match="no feature view named 'nope'"):
        fstore.get_feature_object("feature_view", "nope")


def test_materialization_windows_give_the_watermark(fstore: Store) -> None:
    assert fstore.list_feature_materializations("stats") == []
    fstore.record_feature_materialization("stats", 0, 1_000, 5)
    fstore.record_feature_materialization("stats", 1_000, 3_000, 2)
    latest = fstore.list_feature_materializations("stats", limit=1)
    assert [(m.start, m.end, m.rows) for m in latest] == [(1_000, 3_000, 2)]
    with pytest.raises(InvalidArgument, match="window"):
        fstore.record_feature_materialization("stats", 5, 1, 0)
    assert len(fstore.list_feature_materializations("stats")) == 2


def test_freshness_lists_each_materialized_view_once_by_project(fstore: Store) -> None:
    views = [FeatureObject("feature_view", name, {"entities": ["user"]}) for name in "abc"]
    fstore.apply_feature_objects(views[:2])
    fstore.apply_feature_objects(views[2:], project="fraud")
    assert fstore.list_feature_view_freshness() == []
    first = fstore.record_feature_materialization("a", 0, 3_000, 5)
    second = fstore.record_feature_materialization("a", 1_000, 2_000, 2)  # a backfill
    fraud = fstore.record_feature_materialization("c", 0, 500, 1)
    fstore.record_feature_materialization("gone", 0, 9_000, 1)  # no definition, no project
    found = fstore.list_feature_view_freshness()
    assert [(f.project, f.view, f.watermark) for f in found] == [
        ("default", "a", 3_000),
        ("fraud", "c", 500),
    ]
    assert found[0].materialized_at == max(first.created_at, second.created_at)
    assert found[1].materialized_at == fraud.created_at
    assert fstore.list_feature_view_freshness(["fraud"]) == [found[1]]
