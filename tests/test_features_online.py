"""Materialization and online lookups, on the SQLite and the Redis online store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from shipyard import features as fs
from shipyard.client import LocalStore
from shipyard.config import Settings, load_settings
from shipyard.errors import InvalidArgument

USER = fs.Entity("user", ["user_id"])


@pytest.fixture(params=["sqlite", "redis"])
def local(request: pytest.FixtureRequest, tmp_path: Path) -> LocalStore:
    online = ""
    if request.param == "redis":
        online = request.getfixturevalue("redis_url")
    settings: Settings = load_settings(
        home=tmp_path / ".shipyard", online_store=online, project=f"p{id(tmp_path)}"
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
