"""The server side of the UI: the shell at every page address, its static files and
security headers, the reduced metric history and the experiment's columns, and the links
the CLI prints."""

from __future__ import annotations

import math

import httpx
import numpy as np
import pytest

from shipyard.client import LocalStore
from shipyard.config import Settings
from shipyard.entities import MetricPoint
from shipyard.server._routes_views import min_max_buckets
from shipyard.ui import PAGE_ROUTES, STATIC_DIR, object_link, object_path
from tests.support.server import LiveServer


@pytest.fixture
def served(live_server: LiveServer, sqlite_settings: Settings) -> LocalStore:
    """The live server on a fresh SQLite store (no auth); the store, to seed."""
    store = LocalStore(sqlite_settings)
    live_server.serve(LocalStore(sqlite_settings))
    return store


def test_every_page_address_serves_the_shell_with_a_strict_policy(
    live_server: LiveServer, served: LocalStore
) -> None:
    for path in ("/", "/experiments/abc", "/runs/abc", "/models/churn/3", "/lineage", "/settings"):
        answer = httpx.get(live_server.url + path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"].startswith("text/html")
        assert '<script type="module" src="/static/js/app.js">' in answer.text
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert httpx.get(live_server.url + "/no-such-page").status_code == 404


def test_the_static_files_and_vendored_libraries_are_served(
    live_server: LiveServer, served: LocalStore
) -> None:
    for path in ("js/app.js", "vendor/uplot/uPlot.esm.js", "vendor/cytoscape/cytoscape.esm.min.js"):
        answer = httpx.get(f"{live_server.url}/static/{path}")
        assert answer.status_code == 200, path
        assert "javascript" in answer.headers["content-type"]
        assert answer.content == (STATIC_DIR / path).read_bytes()
    assert httpx.get(live_server.url + "/static/../__init__.py").status_code == 404


def test_every_page_module_the_shell_routes_to_exists() -> None:
    app = (STATIC_DIR / "js/app.js").read_text()
    pages = {p.stem for p in (STATIC_DIR / "js/pages").glob("*.js")}
    routed = {line.split('"')[1] for line in app.splitlines() if line.strip().startswith("[/^")}
    assert routed <= pages
    assert len(PAGE_ROUTES) == len(set(PAGE_ROUTES))


def test_a_long_history_is_reduced_keeping_its_ends_and_extremes(
    live_server: LiveServer, served: LocalStore
) -> None:
    exp = served.create_experiment("e")
    run = served.create_run(exp.id, "r")
    values = [math.sin(step / 100) for step in range(10_000)]
    values[7_777] = 50.0  # a spike
    values[1_234] = math.nan
    served.log_batch(run.id, [MetricPoint("val.loss", v, s, s) for s, v in enumerate(values)])
    url = f"{live_server.url}/api/v1/runs/{run.id}/metrics/val.loss/history"
    body = httpx.get(url, params={"max_points": 500}).json()
    assert body["total"] == 10_000 and body["sampled"] is True
    assert len(body["step"]) == len(body["value"]) <= 500
    assert body["step"] == sorted(body["step"]) and body["step"][0] == 0
    assert body["step"][-1] == 9_999
    assert 50.0 in body["value"] and min(v for v in body["value"] if v is not None) < -0.99
    whole = httpx.get(url, params={"max_points": 20_000}).json()
    assert whole["sampled"] is False and len(whole["value"]) == 10_000
    assert whole["value"][1_234] is None  # NaN travels as null


@pytest.mark.parametrize("bad", ["1", "20001", "many"])
def test_a_bad_max_points_is_refused_naming_it(
    live_server: LiveServer, served: LocalStore, bad: str
) -> None:
    exp = served.create_experiment("e")
    run = served.create_run(exp.id, "r")
    answer = httpx.get(
        f"{live_server.url}/api/v1/runs/{run.id}/metrics/m/history", params={"max_points": bad}
    )
    assert answer.status_code == 422
    assert answer.json()["field"] == "max_points"


def test_an_unknown_run_or_experiment_is_a_404(live_server: LiveServer, served: LocalStore) -> None:
    api = f"{live_server.url}/api/v1"
    assert httpx.get(f"{api}/runs/{'0' * 32}/metrics/m/history").status_code == 404
    assert httpx.get(f"{api}/experiments/{'0' * 32}/columns").status_code == 404


def test_the_columns_are_every_key_of_the_experiments_runs(
    live_server: LiveServer, served: LocalStore
) -> None:
    exp = served.create_experiment("e")
    other = served.create_experiment("other")
    for i, experiment in enumerate((exp, exp, other)):
        run = served.create_run(experiment.id, f"r{i}", tags={f"team{i}": "x"})
        served.log_batch(run.id, [MetricPoint(f"m{i}", 1.0, 0, 1)], {f"p{i}": "1"}, {})
    body = httpx.get(f"{live_server.url}/api/v1/experiments/{exp.id}/columns").json()
    assert body == {
        "truncated": False,
        "params": ["p0", "p1"],
        "metrics": ["m0", "m1"],
        "tags": ["team0", "team1"],
    }


def test_min_max_buckets_keep_everything_when_it_fits() -> None:
    values = np.array([3.0, 1.0, 2.0])
    assert min_max_buckets(values, 10).tolist() == [0, 1, 2]
    keep = min_max_buckets(np.arange(1000, dtype=float), 100)
    assert len(keep) <= 100 and keep[0] == 0 and keep[-1] == 999


def test_object_links_name_stable_addresses() -> None:
    assert object_path("model_version", "churn", 3) == "/models/churn/3"
    assert object_path("run", "abc") == "/runs/abc"
    assert object_path("dataset_version", "sales/eu", 2) == "/datasets/sales%2Feu/2"
    assert object_path("lineage", "run", "abc") == "/lineage?node=run:abc"
    assert object_link("http://host:8080/", "experiment", "e1") == "http://host:8080/experiments/e1"
    assert object_link("", "run", "abc") is None  # embedded: no server to link to
    assert object_link("/some/folder", "run", "abc") is None
    with pytest.raises(ValueError, match="no UI page for 'widget'"):
        object_path("widget", "x")
    with pytest.raises(ValueError, match="takes 2 part"):
        object_path("model_version", "churn")
