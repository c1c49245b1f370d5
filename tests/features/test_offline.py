"""Point-in-time retrieval: property tests against a brute-force reference (ties, TTL edges,
missing entities, time zones), row order, and the clear errors for bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings as hsettings, strategies as st

from shipyard import features as fs
from shipyard.client import LocalStore
from shipyard.config import Settings
from shipyard.errors import InvalidArgument, NotFound, SchemaError

BASE = pd.Timestamp("2024-03-01")
USER = fs.Entity("user", ["user_id"])


@pytest.fixture
def local(sqlite_settings: Settings) -> LocalStore:
    return LocalStore(sqlite_settings)


def _view(path: Path, ttl: timedelta | None, created: bool = False) -> fs.FeatureView:
    return fs.FeatureView(
        "stats",
        [USER],
        fs.FileSource(str(path)),
        schema=[fs.Field("value", "int64")],
        created_timestamp_field="created" if created else None,
        ttl=ttl,
    )


def reference(
    source: pd.DataFrame, entity: pd.DataFrame, ttl: timedelta | None, created: bool
) -> list[float | None]:
    """For each entity row: the value of the latest source row of that user at or before its
    time (ties: latest created, then the later row), if within the TTL."""
    out: list[float | None] = []
    for user, at in zip(entity["user_id"], entity["event_timestamp"], strict=True):
        best = None
        for pos, row in enumerate(source.itertuples()):
            if row.user_id != user or row.event_timestamp > at:
                continue
            if ttl is not None and at - row.event_timestamp > ttl:
                continue
            key = (row.event_timestamp, _created_rank(row.created) if created else (0,), pos)
            if best is None or key > best[0]:
                best = (key, row.value)
        out.append(None if best is None else float(best[1]))
    return out


def _created_rank(created: pd.Timestamp) -> tuple[int, ...]:
    """A missing created timestamp loses every tie."""
    return (0,) if pd.isna(created) else (1, created.value)


rows_strategy = st.lists(
    st.tuples(
        st.integers(0, 4),
        st.integers(0, 12),
        st.one_of(st.none(), st.integers(0, 3)),
        st.integers(-50, 50),
    ),
    min_size=0,
    max_size=40,
)
entity_strategy = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 16)), min_size=1, max_size=30
)


@hsettings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=rows_strategy,
    entities=entity_strategy,
    ttl_hours=st.one_of(st.none(), st.integers(1, 8)),
    created=st.booleans(),
    tz=st.sampled_from([None, "UTC", "Asia/Kolkata", "America/New_York"]),
)
@example(  # a tie where one row has no created timestamp: the other wins, in either order
    rows=[(0, 1, None, 5), (0, 1, 2, 7), (1, 1, 0, 8), (1, 1, None, 9)],
    entities=[(0, 5), (1, 5)],
    ttl_hours=None,
    created=True,
    tz=None,
)
def test_retrieval_matches_brute_force(
    local: LocalStore,
    tmp_path: Path,
    rows: list[tuple[int, int, int | None, int]],
    entities: list[tuple[int, int]],
    ttl_hours: int | None,
    created: bool,
    tz: str | None,
) -> None:
    """Few users and hours make ties (same user and time, created times equal or missing),
    TTL edges (exactly ttl old) and unknown users (5) common; aware times are compared by
    instant."""
    ttl = None if ttl_hours is None else timedelta(hours=ttl_hours)

    def stamps(hours: list[int | None]) -> pd.Series:
        values = pd.Series(BASE + pd.to_timedelta(hours, unit="h"), dtype="datetime64[us]")
        return values.dt.tz_localize(tz) if tz else values

    source = pd.DataFrame(
        {
            "user_id": pd.Series([r[0] for r in rows], dtype="int64"),
            "event_timestamp": stamps([r[1] for r in rows]),
            "created": stamps([r[2] for r in rows]),
            "value": pd.Series([r[3] for r in rows], dtype="int64"),
        }
    )
    path = tmp_path / "source.parquet"
    source.to_parquet(path)
    fs.apply([USER, _view(path, ttl, created)], store=local)
    entity = pd.DataFrame(
        {"user_id": [e[0] for e in entities], "event_timestamp": stamps([e[1] for e in entities])}
    )
    if tz:  # the same instants in another zone: retrieval compares instants
        entity["event_timestamp"] = entity["event_timestamp"].dt.tz_convert("Europe/Oslo")
    got = fs.get_historical_features(entity, ["stats:value"], store=local)
    assert list(got["user_id"]) == list(entity["user_id"])  # every row, in order
    assert list(got["event_timestamp"]) == list(entity["event_timestamp"])
    want = reference(source, entity, ttl, created)
    have = [None if pd.isna(v) else float(v) for v in got["value"]]
    assert have == want


def _write_source(tmp_path: Path) -> Path:
    source = pd.DataFrame(
        {
            "user_id": [1, 1, 2],
            "event_timestamp": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-02"]),
            "value": [10, 11, 20],
        }
    )
    path = tmp_path / "s.parquet"
    source.to_parquet(path)
    return path


def test_large_entity_frame_keeps_order_and_every_row(local: LocalStore, tmp_path: Path) -> None:
    fs.apply([USER, _view(_write_source(tmp_path), None)], store=local)
    rng = np.random.default_rng(1)
    n = 20_000
    entity = pd.DataFrame(
        {
            "user_id": rng.integers(0, 4, n),
            "event_timestamp": BASE - pd.to_timedelta(rng.integers(0, 90, n), unit="D"),
            "row": np.arange(n),
        }
    )
    got = fs.get_historical_features(entity, ["stats:value"], store=local, output="arrow")
    assert got.num_rows == n
    assert got.column("row").to_pylist() == list(range(n))


def test_bad_input_is_a_clear_error(local: LocalStore, tmp_path: Path) -> None:
    fs.apply([USER, _view(_write_source(tmp_path), None)], store=local)
    good = pd.DataFrame({"user_id": [1], "event_timestamp": pd.to_datetime(["2024-01-03"])})
    with pytest.raises(InvalidArgument, match="no column 'user_id'"):
        fs.get_historical_features(good.drop(columns="user_id"), ["stats:value"], store=local)
    with pytest.raises(InvalidArgument, match="no column 'event_timestamp'"):
        fs.get_historical_features(good[["user_id"]], ["stats:value"], store=local)
    with pytest.raises(NotFound, match="no feature 'nope'"):
        fs.get_historical_features(good, ["stats:nope"], store=local)
    with pytest.raises(NotFound, match="no feature view named 'other'"):
        fs.get_historical_features(good, ["other:value"], store=local)
    with pytest.raises(InvalidArgument, match="must hold timestamps"):
        fs.get_historical_features(
            good.assign(event_timestamp="2024-01-03"), ["stats:value"], store=local
        )
    aware = good.assign(event_timestamp=good["event_timestamp"].dt.tz_localize("UTC"))
    with pytest.raises(InvalidArgument, match="naive and aware"):
        fs.get_historical_features(aware, ["stats:value"], store=local)
    mixed = pd.DataFrame(
        {
            "user_id": [1, 1],
            "event_timestamp": [pd.Timestamp("2024-01-03"), pd.Timestamp("2024-01-03", tz="UTC")],
        }
    )
    with pytest.raises(InvalidArgument, match="mixes naive and timezone-aware"):
        fs.get_historical_features(mixed, ["stats:value"], store=local)
    with pytest.raises(SchemaError, match="join key 'user_id'"):
        fs.get_historical_features(good.assign(user_id="1"), ["stats:value"], store=local)


def test_type_mismatch_between_definition_and_source_is_refused(
    local: LocalStore, tmp_path: Path
) -> None:
    path = _write_source(tmp_path)
    wrong = fs.FeatureView(
        "stats", [USER], fs.FileSource(str(path)), schema=[fs.Field("value", "string")]
    )
    with pytest.raises(SchemaError, match="declared string but the source column is BIGINT"):
        fs.apply([USER, wrong], store=local)
    missing = fs.FeatureView(
        "stats", [USER], fs.FileSource(str(path)), schema=[fs.Field("other", "int64")]
    )
    with pytest.raises(SchemaError, match="no column 'other'"):
        fs.apply([USER, missing], store=local)
    assert local.list_feature_objects() == []  # nothing applied


def test_sources_dataframe_dataset_and_sql_agree(local: LocalStore, tmp_path: Path) -> None:
    path = _write_source(tmp_path)
    frame = pd.read_parquet(path)
    views = [
        fs.FeatureView("a", [USER], frame, schema=[fs.Field("value", "int64")]),
        fs.FeatureView(
            "b",
            [USER],
            fs.SqlSource(f"SELECT * FROM read_parquet('{path}')"),
            schema=[fs.Field("value", "float64")],
        ),
    ]
    fs.apply([USER, *views], store=local)
    assert local.get_feature_object("feature_view", "a").spec["source"]["type"] == "dataset"
    entity = pd.DataFrame(
        {
            "user_id": [1, 2, 1],
            "event_timestamp": pd.to_datetime(["2024-01-03"] * 2 + ["2024-02-01"]),
        }
    )
    got = fs.get_historical_features(
        entity, ["a:value", "b:value"], store=local, full_feature_names=True
    )
    assert list(got["a__value"]) == [10, 20, 11]
    assert list(got["b__value"]) == [10.0, 20.0, 11.0]
    with pytest.raises(InvalidArgument, match="full_feature_names"):
        fs.get_historical_features(entity, ["a:value", "b:value"], store=local)


def test_saved_training_set_links_views_and_entity_data(sqlite_sdk: object, tmp_path: Path) -> None:
    import shipyard
    from shipyard import data

    fs.apply([USER, _view(_write_source(tmp_path), None)])
    labels = data.register(
        "labels",
        pd.DataFrame({"user_id": [1, 2], "event_timestamp": pd.to_datetime(["2024-01-09"] * 2)}),
    )
    frame = fs.get_historical_features(labels.ref, ["stats:value"], save_as="training")
    assert list(frame["value"]) == [11, 20]
    saved = data.get("training@latest")
    upstream = shipyard.lineage.upstream(saved)
    kinds = sorted(n.kind for n in upstream.nodes)
    assert "feature_view" in kinds and kinds.count("dataset_version") >= 2


def test_ties_across_the_files_of_a_glob(local: LocalStore, tmp_path: Path) -> None:
    """Same user and event time: the later created wins, a missing created loses, then the
    later file of the glob, then the later row of a file; materialization picks the same."""
    at = pd.Timestamp("2024-01-01", tz="UTC")

    def part(name: str, users: list[int], created: list[str | None], values: list[int]) -> None:
        pd.DataFrame(
            {
                "user_id": pd.Series(users, dtype="int64"),
                "event_timestamp": [at] * len(users),
                "created": pd.to_datetime(created, utc=True),
                "value": pd.Series(values, dtype="int64"),
            }
        ).to_parquet(tmp_path / name)

    # user 1: equal created everywhere -> the later file (b), its later row (13)
    # user 2: later created in the earlier file -> 21; user 3: missing created loses -> 30
    part(
        "a.parquet",
        [1, 1, 2, 3],
        ["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-01"],
        [10, 11, 21, 30],
    )
    part(
        "b.parquet",
        [1, 1, 2, 3],
        ["2024-01-01", "2024-01-01", "2024-01-01", None],
        [12, 13, 22, 31],
    )
    view = fs.FeatureView(
        "stats",
        [USER],
        fs.FileSource(str(tmp_path / "*.parquet")),
        schema=[fs.Field("value", "int64")],
        created_timestamp_field="created",
    )
    fs.apply([USER, view], store=local)
    entity = pd.DataFrame({"user_id": [3, 2, 1], "event_timestamp": [at] * 3})
    got = fs.get_historical_features(entity, ["stats:value"], store=local)
    assert list(got["value"]) == [30, 21, 13]
    fs.materialize(end=datetime(2024, 2, 1, tzinfo=UTC), store=local)
    online = fs.get_online_features(
        entity[["user_id"]].to_dict("records"), ["stats:value"], store=local
    )
    assert online.values["value"] == [30, 21, 13]
    fs.close_online_stores()
