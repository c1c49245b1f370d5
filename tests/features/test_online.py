"""Materialization and online lookups, on the SQLite and the Redis online store."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings as hsettings, strategies as st

from shipyard import features as fs
from shipyard.client import LocalStore
from shipyard.config import Settings, load_settings
from shipyard.errors import InvalidArgument
from shipyard.features._registry import forget
from tests.support.server import LiveServer

USER = fs.Entity("user", ["user_id"])


@pytest.fixture(params=["sqlite", "redis"])
def local(request: pytest.FixtureRequest, tmp_path: Path) -> LocalStore:
    online = ""
    if request.param == "redis":
        online = request.getfixturevalue("redis_url")
    # A project of its own per test: the Redis server is shared by a worker's tests, and its
    # keys are prefixed by the project (id(tmp_path) could repeat once an object is freed).
    settings: Settings = load_settings(
        home=tmp_path / ".shipyard", online_store=online, project=f"p{uuid.uuid4().hex}"
    )
    yield LocalStore(settings)
    fs.close_online_stores()


def _define(local: LocalStore, tmp_path: Path, ttl: timedelta | None = None) -> pd.DataFrame:
    source = pd.DataFrame(
        {
            "user_id": [1, 1, 2, 3],
            "event_timestamp": pd.to_datetime(
                ["2024-01-01", "2024-01-05", "2024-01-02", "2024-02-01"], utc=True
            ),
            "clicks": [10, 11, 20, 30],
            "country": ["NO", "IT", "PE", "NO"],
        }
    )
    source.to_parquet(tmp_path / "s.parquet")
    view = fs.FeatureView(
        "stats",
        [USER],
        fs.FileSource(str(tmp_path / "s.parquet")),
        schema=[fs.Field("clicks", "int64"), fs.Field("country", "string")],
        ttl=ttl,
    )
    fs.apply([USER, view, fs.FeatureService("svc", [view])], store=local)
    return source


def test_materialize_then_lookup(local: LocalStore, tmp_path: Path) -> None:
    _define(local, tmp_path, ttl=timedelta(days=10))
    seen: list[tuple[str, int, int]] = []
    done = fs.materialize(
        end=datetime(2024, 1, 10, tzinfo=UTC), store=local, progress=lambda *a: seen.append(a)
    )
    assert [(m.view, m.rows) for m in done] == [("stats", 2)]
    assert seen[-1] == ("stats", 2, 2)
    at = datetime(2024, 1, 12, tzinfo=UTC)
    got = fs.get_online_features(
        [{"user_id": 1}, {"user_id": 2}, {"user_id": 3}], "svc", store=local, as_of=at
    )
    assert got.values == {"clicks": [11, 20, None], "country": ["IT", "PE", None]}
    assert got.statuses["clicks"] == ["PRESENT", "PRESENT", "MISSING"]
    assert got.event_timestamps["clicks"][0] == datetime(2024, 1, 5, tzinfo=UTC)
    late = fs.get_online_features(
        {"user_id": [1, 2]}, ["stats:clicks"], store=local, as_of=datetime(2024, 1, 14, tzinfo=UTC)
    )
    assert late.statuses["clicks"] == ["PRESENT", "OUTSIDE_TTL"]  # 2024-01-02 + 10 days
    assert late.values["clicks"] == [11, None]
    assert got.to_df().shape == (3, 2)


def test_incremental_continues_from_the_watermark(local: LocalStore, tmp_path: Path) -> None:
    _define(local, tmp_path)
    fs.materialize(end=datetime(2024, 1, 3, tzinfo=UTC), store=local)
    assert fs.get_online_features([{"user_id": 1}], ["stats:clicks"], store=local).values == {
        "clicks": [10]
    }
    (step,) = fs.materialize_incremental(end=datetime(2024, 3, 1, tzinfo=UTC), store=local)
    assert (step.start, step.rows) == (int(datetime(2024, 1, 3, tzinfo=UTC).timestamp() * 1000), 2)
    got = fs.get_online_features([{"user_id": 1}, {"user_id": 3}], ["stats:clicks"], store=local)
    assert got.values == {"clicks": [11, 30]}
    # an older window never overwrites newer values
    fs.materialize(end=datetime(2024, 1, 3, tzinfo=UTC), store=local)
    assert fs.get_online_features([{"user_id": 1}], ["stats:clicks"], store=local).values == {
        "clicks": [11]
    }
    report = fs.check_skew("svc", store=local)
    assert report.ok and report.checked == 6


def test_skew_is_reported(local: LocalStore, tmp_path: Path) -> None:
    source = _define(local, tmp_path)
    fs.materialize(end=datetime(2024, 3, 1, tzinfo=UTC), store=local)
    source.assign(clicks=source["clicks"] + 1).to_parquet(tmp_path / "s.parquet")
    report = fs.check_skew(["stats:clicks"], store=local)
    assert not report.ok
    assert {(m.entity["user_id"], m.online, m.offline) for m in report.mismatches} == {
        (1, 11, 12),
        (2, 20, 21),
        (3, 30, 31),
    }


def test_online_bad_input(local: LocalStore, tmp_path: Path) -> None:
    _define(local, tmp_path)
    with pytest.raises(InvalidArgument, match="no join key 'user_id'"):
        fs.get_online_features([{"id": 1}], "svc", store=local)
    with pytest.raises(InvalidArgument, match="list of"):
        fs.get_online_features(5, "svc", store=local)  # type: ignore[arg-type]


@hsettings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 3),
            st.integers(0, 4),
            st.one_of(st.none(), st.integers(0, 2)),
            st.one_of(st.integers(-9, 9), st.sampled_from([math.nan, math.inf])),
        ),
        max_size=30,
    ),
    window=st.tuples(st.integers(0, 4), st.integers(0, 6)),
)
@example(rows=[(0, 1, None, 5.0), (0, 1, 0, 7.0), (1, 2, 1, math.nan)], window=(0, 3))
def test_materialized_rows_match_brute_force(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[int, int, int | None, float]],
    window: tuple[int, int],
) -> None:
    """Each entity gets the values of its latest row with event time in [start, end): ties
    broken as offline (later created, a missing one losing, then the later row); NaN and
    infinities are stored as null, like any value JSON cannot hold."""
    folder = tmp_path_factory.mktemp("mat")
    base = datetime(2024, 1, 1, tzinfo=UTC)
    source = pd.DataFrame(
        {
            "user_id": pd.Series([r[0] for r in rows], dtype="int64"),
            "event_timestamp": pd.Series(
                [base + timedelta(hours=r[1]) for r in rows], dtype="datetime64[us, UTC]"
            ),
            "created": pd.Series(
                [None if r[2] is None else base + timedelta(hours=r[2]) for r in rows],
                dtype="datetime64[us, UTC]",
            ),
            "score": pd.Series([r[3] for r in rows], dtype="float64"),
        }
    )
    source.to_parquet(folder / "s.parquet")
    local = LocalStore(load_settings(home=folder / ".shipyard"))
    view = fs.FeatureView(
        "stats",
        [USER],
        fs.FileSource(str(folder / "s.parquet")),
        schema=[fs.Field("score", "float64")],
        created_timestamp_field="created",
    )
    fs.apply([USER, view], store=local)
    start, end = base + timedelta(hours=window[0]), base + timedelta(hours=window[1])
    if end < start:
        return
    try:
        fs.materialize(start, end, store=local)
        users = [{"user_id": u} for u in range(5)]
        got = fs.get_online_features(users, ["stats:score"], store=local, as_of=end)
    finally:
        fs.close_online_stores()
    want: list[float | None] = []
    for user in range(5):
        best = None
        for pos, (u, hour, created, score) in enumerate(rows):
            if u != user or not window[0] <= hour < window[1]:
                continue
            key = (hour, (0,) if created is None else (1, created), pos)
            if best is None or key > best[0]:
                best = (key, None if not math.isfinite(score) else score)
        want.append(None if best is None else best[1])
    assert got.values["score"] == want
    assert got.statuses["score"] == [
        "MISSING"
        if all(r[0] != u or not window[0] <= r[1] < window[1] for r in rows)
        else "PRESENT"
        for u in range(5)
    ]


def test_lookup_over_http(local: LocalStore, tmp_path: Path, live_server: LiveServer) -> None:
    """The server answers as the SDK does, whether the definitions come from its cache (the
    lookup runs on the event loop with SQLite) or must be read first (the thread pool)."""
    _define(local, tmp_path)
    fs.materialize(end=datetime(2024, 3, 1, tzinfo=UTC), store=local)
    live_server.serve(local)
    url = f"{live_server.url}/api/v1/features/online"
    body = {"entity_rows": [{"user_id": 1}, {"user_id": 9}], "service": "svc"}
    for cached in (False, True):
        if not cached:
            forget(local)
        got = httpx.post(url, json=body).json()
        assert got["values"] == {"clicks": [11, None], "country": ["IT", None]}
        assert got["statuses"]["clicks"] == ["PRESENT", "MISSING"]
        assert got["event_timestamps"]["clicks"][0].startswith("2024-01-05T00:00:00")
    bad = httpx.post(url, json={"entity_rows": [{"id": 1}], "service": "svc"})
    assert bad.json()["code"] == "invalid_argument" and "no join key" in bad.json()["message"]
    unknown = httpx.post(url, json={"entity_rows": [{"user_id": 1}], "service": "nope"})
    assert unknown.status_code == 404
