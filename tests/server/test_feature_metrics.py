"""The server's ``/metrics`` exports when each feature view was last materialized, read from
its store with one query at most every few seconds, only the views of projects the scraping
caller may read; a store that fails the read costs only that metric, never the scrape."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shipyard.client import LocalStore
from shipyard.config import Settings, load_settings
from shipyard.entities import FeatureObject, FeatureViewFreshness
from shipyard.server._feature_metrics import MATERIALIZED, SCRAPE_OK, MaterializationTimes
from tests.support.server import LiveServer

CUSTOMER = FeatureViewFreshness("default", "customer", materialized_at=1_700_000_000_500,
                                watermark=1_699_999_000_000)  # fmt: skip


class Reads:
    """A stand-in for the store's read: counts calls, answers ``views`` or raises."""

    def __init__(self, views: Sequence[FeatureViewFreshness]) -> None:
        self.views = list(views)
        self.calls = 0
        self.error: Exception | None = None

    def __call__(self) -> list[FeatureViewFreshness]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.views


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _samples(
    times: MaterializationTimes, projects: list[str] | None = None
) -> dict[str, list[tuple[dict[str, str], float]]]:
    registry = times.registry(projects)
    return {f.name: [(s.labels, s.value) for s in f.samples] for f in registry.collect()}


def test_each_view_is_exported_in_seconds_by_project_and_view() -> None:
    other = FeatureViewFreshness("fraud", "customer", 1_700_000_360_000, 0)
    collector = MaterializationTimes(Reads([CUSTOMER, other]))
    found = _samples(collector)
    assert found[MATERIALIZED] == [
        ({"project": "default", "feature_view": "customer"}, 1_700_000_000.5),
        ({"project": "fraud", "feature_view": "customer"}, 1_700_000_360.0),
    ]
    assert found[SCRAPE_OK] == [({}, 1.0)]
    assert _samples(collector, ["fraud"])[MATERIALIZED] == [found[MATERIALIZED][1]]
    assert _samples(collector, [])[MATERIALIZED] == []


def test_scrapes_within_the_ttl_share_one_read() -> None:
    reads, clock = Reads([CUSTOMER]), Clock()
    collector = MaterializationTimes(reads, ttl=10, clock=clock)
    for _ in range(5):
        _samples(collector)
    assert reads.calls == 1
    reads.views = []  # the view's definition was removed
    clock.now += 9.9
    assert _samples(collector)[MATERIALIZED] != [] and reads.calls == 1
    clock.now += 0.1
    assert _samples(collector)[MATERIALIZED] == [] and reads.calls == 2


def test_a_failed_read_keeps_the_last_times_reports_it_and_is_not_retried_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reads, clock = Reads([CUSTOMER]), Clock()
    collector = MaterializationTimes(reads, ttl=10, clock=clock)
    _samples(collector)
    reads.error = RuntimeError("database is down")
    clock.now += 10
    with caplog.at_level(logging.ERROR, logger="shipyard.server"):
        found = _samples(collector)
    assert found[SCRAPE_OK] == [({}, 0.0)]
    assert [value for _, value in found[MATERIALIZED]] == [1_700_000_000.5]
    assert "database is down" in caplog.text
    clock.now += 5
    assert _samples(collector)[SCRAPE_OK] == [({}, 0.0)] and reads.calls == 2
    reads.error = None
    clock.now += 5
    assert _samples(collector)[SCRAPE_OK] == [({}, 1.0)] and reads.calls == 3


def _scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    answer = httpx.get(url + "/metrics", timeout=30)
    assert answer.status_code == 200, answer.text
    return {
        f.name: [(s.labels, s.value) for s in f.samples]
        for f in text_string_to_metric_families(answer.text)
    }


@pytest.fixture
def serve(live_server: LiveServer) -> Callable[[LocalStore], str]:
    """Points the live server at a store; returns its URL."""

    def point(store: LocalStore) -> str:
        live_server.serve(store)
        return live_server.url

    return point


def test_the_server_exports_materialized_views_only(
    serve: Callable[[LocalStore], str], sqlite_settings: Settings
) -> None:
    store = LocalStore(sqlite_settings)
    views = [FeatureObject("feature_view", name, {"entities": ["user"]}) for name in "abc"]
    store.apply_feature_objects(views[:2])
    store.apply_feature_objects(views[2:], project="fraud")
    store.record_feature_materialization("a", 0, 1_000, 3)
    done = store.record_feature_materialization("c", 0, 2_000, 1)
    store.record_feature_materialization("gone", 0, 5_000, 1)  # no definition: no project
    found = _scrape(serve(store))
    exported = {(labels["project"], labels["feature_view"]) for labels, _ in found[MATERIALIZED]}
    assert exported == {("default", "a"), ("fraud", "c")}  # b was never materialized
    assert ({"project": "fraud", "feature_view": "c"}, done.created_at / 1000) in found[
        MATERIALIZED
    ]
    assert found[SCRAPE_OK] == [({}, 1.0)]


def test_a_store_that_fails_the_read_does_not_fail_the_scrape(
    serve: Callable[[LocalStore], str], tmp_path: Path
) -> None:
    down = load_settings(home=tmp_path, db_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    url = serve(LocalStore(down))
    httpx.get(url + "/healthz").raise_for_status()
    found = _scrape(url)
    assert found[SCRAPE_OK] == [({}, 0.0)]
    assert found[MATERIALIZED] == []
    assert any(labels.get("route") == "/healthz" for labels, _ in found["shipyard_http_requests"])


def test_with_authentication_a_scrape_sees_only_the_views_its_token_may_read(
    live_server: LiveServer, sqlite_settings: Settings
) -> None:
    store = LocalStore(sqlite_settings)
    for name, project in (("a", "default"), ("c", "fraud")):
        view = FeatureObject("feature_view", name, {"entities": ["user"]})
        store.apply_feature_objects([view], project=project)
        store.record_feature_materialization(name, 0, 1_000, 1)
    store.create_user("scraper")
    store.set_role("scraper", "fraud", "viewer")
    token = store.create_token("scraper").token
    live_server.serve(store, auth=True)
    url = live_server.url

    def views(headers: dict[str, str]) -> set[str]:
        answer = httpx.get(url + "/metrics", headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        families = {f.name: f for f in text_string_to_metric_families(answer.text)}
        assert "shipyard_http_requests" in families
        return {s.labels["feature_view"] for s in families[MATERIALIZED].samples}

    assert views({}) == set()  # no token: request metrics only
    assert views({"Authorization": f"Bearer {token}"}) == {"c"}
    refused = httpx.get(url + "/metrics", headers={"Authorization": "Bearer nope"}, timeout=30)
    assert refused.status_code == 401


# (trailing blanks never reach the server: HTTP strips them from a header's value)
@pytest.mark.parametrize("header", ["Bearer", "bearer", ""])
def test_with_authentication_blank_bearer_credentials_count_as_no_token(
    live_server: LiveServer, sqlite_settings: Settings, header: str
) -> None:
    """Prometheus sends ``Authorization: Bearer`` with nothing after it while its
    credentials file is empty: the scrape gets the request metrics, not a 401."""
    store = LocalStore(sqlite_settings)
    store.apply_feature_objects([FeatureObject("feature_view", "a", {"entities": ["user"]})])
    store.record_feature_materialization("a", 0, 1_000, 1)
    live_server.serve(store, auth=True)
    answer = httpx.get(live_server.url + "/metrics", headers={"Authorization": header}, timeout=30)
    assert answer.status_code == 200, answer.text
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    assert "shipyard_http_requests" in families
    assert families[MATERIALIZED].samples == []
    # the same blank credentials stay refused on the API
    refused = httpx.get(
        live_server.url + "/api/v1/experiments", headers={"Authorization": header}, timeout=30
    )
    assert refused.status_code == 401
