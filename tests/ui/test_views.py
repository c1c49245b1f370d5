"""The server side of the UI: the shell at every page address, its static files and
security headers, the reduced metric history and the experiment's columns, and the links
the CLI prints."""

from __future__ import annotations

import math
import re
from pathlib import Path

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from shipyard.client import LocalStore
from shipyard.config import Settings
from shipyard.entities import MetricPoint
from shipyard.ui import PAGE_ROUTES, PAGES, STATIC_DIR, object_link, object_path, static_imports
from tests.support.predictions import log_prediction
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


def test_the_server_and_the_browser_route_each_address_to_the_same_page() -> None:
    """The server preloads the module of the page ``PAGES`` names; ``app.js`` must render
    that same page at that address, or the preload is wasted and the page waits."""
    app = (STATIC_DIR / "js/app.js").read_text()
    in_browser = dict(re.findall(r'^\s*\[/(\^[^,]*\$)/, "([a-z_]+)"', app, re.MULTILINE))
    on_server = {
        "^" + re.sub(r"\{[^}]+\}", "([^/]+)", path.replace("/", "\\/")) + "$": page
        for path, page in PAGES.items()
    }
    assert in_browser == on_server


def test_each_address_preloads_its_page_module_and_what_it_imports(
    live_server: LiveServer, served: LocalStore
) -> None:
    def preloaded(path: str) -> list[str]:
        shell = httpx.get(live_server.url + path).text
        return re.findall(r'<link rel="modulepreload" href="([^"]+)">', shell)

    run_page = preloaded("/runs/abc")
    for module in ("js/pages/run.js", "js/charts.js", "js/api.js", "vendor/uplot/uPlot.esm.js"):
        assert f"/static/{module}" in run_page
    assert len(run_page) == len(set(run_page)) and "/static/js/app.js" not in run_page
    runs_page = preloaded("/experiments/abc")
    assert "/static/js/pages/runs.js" in runs_page
    assert not any("vendor" in m for m in runs_page)  # the runs table draws no chart
    assert "/static/vendor/cytoscape/cytoscape.esm.min.js" in preloaded("/lineage")
    for module in {*run_page, *runs_page}:
        assert httpx.get(live_server.url + module).status_code == 200, module


def test_an_import_that_leaves_the_static_folder_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        static_imports("../__init__.py")


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


@pytest.mark.parametrize(
    ("field", "bad"),
    [("max_points", "1"), ("max_points", "20001"), ("max_points", "many"), ("axis", "epoch")],
)
def test_a_bad_max_points_or_axis_is_refused_naming_it(
    live_server: LiveServer, served: LocalStore, field: str, bad: str
) -> None:
    exp = served.create_experiment("e")
    run = served.create_run(exp.id, "r")
    answer = httpx.get(
        f"{live_server.url}/api/v1/runs/{run.id}/metrics/m/history", params={field: bad}
    )
    assert answer.status_code == 422
    assert answer.json()["field"] == field


def test_the_time_axis_reduces_and_orders_by_timestamp(
    live_server: LiveServer, served: LocalStore
) -> None:
    exp = served.create_experiment("e")
    run = served.create_run(exp.id, "r")
    # logged out of step order in time: the chart's x must still rise
    points = [MetricPoint("m", float(s % 7), s, 5_000_000 - s * 1000) for s in range(5_000)]
    served.log_batch(run.id, points)
    url = f"{live_server.url}/api/v1/runs/{run.id}/metrics/m/history"
    body = httpx.get(url, params={"max_points": 400, "axis": "time"}).json()
    assert body["axis"] == "time" and body["sampled"] is True and len(body["value"]) <= 400
    assert body["timestamp"] == sorted(body["timestamp"])
    assert min(body["value"]) == 0.0 and max(body["value"]) == 6.0


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


def _numpy_min_max_buckets(values: np.ndarray, max_points: int) -> np.ndarray:
    """The reduction the history route did in numpy before it moved into the database
    (index buckets, each keeping its lowest and highest finite value): the reference the
    database's reduction is held to."""
    n = len(values)
    if n <= max_points:
        return np.arange(n)
    buckets = max(1, (max_points - 2) // 2)
    starts = np.linspace(0, n, buckets + 1).astype(np.int64)[:-1]
    keep = [0, n - 1]
    for lo, hi in zip(starts, [*starts[1:], n], strict=True):
        chunk = values[lo:hi]
        if not np.isnan(chunk).all():
            keep += [lo + int(np.nanargmin(chunk)), lo + int(np.nanargmax(chunk))]
    return np.unique(keep)[:max_points]


@pytest.fixture(scope="module")
def history_store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    """One SQLite store for the property test's many series (a new run per example)."""
    from shipyard.config import load_settings

    return LocalStore(load_settings(home=tmp_path_factory.mktemp("history") / ".shipyard"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(
        st.one_of(st.floats(-1e6, 1e6), st.just(math.nan), st.sampled_from([0.0, 1.0])),
        min_size=1,
        max_size=1_500,
    ),
    max_points=st.integers(2, 300),
)
def test_the_database_reduction_keeps_the_envelope_of_the_numpy_one(
    history_store: LocalStore, values: list[float], max_points: int
) -> None:
    exp = history_store.get_or_create_experiment("envelope")
    run = history_store.create_run(exp.id, "r")
    history_store.log_batch(run.id, [MetricPoint("m", v, s, s) for s, v in enumerate(values)])
    sample = history_store.sampled_metric_history(run.id, "m", max_points)
    series = np.array(values)
    steps = [p.step for p in sample.points]
    assert len(steps) <= max_points and steps == sorted(set(steps))
    for point in sample.points:  # real points
        assert point.value == values[point.step] or math.isnan(values[point.step])
    if len(values) <= max_points:
        assert steps == list(range(len(values)))
        return
    new = np.array([p.value for p in sample.points])
    if not np.isnan(series).all():  # the true extremes, whatever the size
        assert np.nanmax(new) == np.nanmax(series) and np.nanmin(new) == np.nanmin(series)
    if max_points >= 4:  # (below 4 the numpy reduction cut its own extremes off)
        old = series[_numpy_min_max_buckets(series, max_points)]
        assert np.nanmax(new) == np.nanmax(old) or np.isnan(old).all()
        assert np.nanmin(new) == np.nanmin(old) or np.isnan(old).all()
        assert steps[0] == 0 and steps[-1] == len(values) - 1
        # no logged value lies outside the kept points' range within one bucket of it
        width = -(-len(values) // max(1, max_points // 4 - 2))
        for step, value in enumerate(values):
            if math.isnan(value):
                continue
            near = new[(np.array(steps) >= step - width) & (np.array(steps) <= step + width)]
            assert np.nanmin(near) <= value <= np.nanmax(near)


def test_a_prediction_names_the_version_and_deployment_that_answered_it(
    live_server: LiveServer, served: LocalStore, tmp_path: Path
) -> None:
    exp = served.create_experiment("e")
    run = served.create_run(exp.id, "train")
    model_file = tmp_path / "model.txt"
    model_file.write_text("model")
    [stored] = served.log_artifact(run.id, model_file, "model.txt")
    served.create_registered_model("churn")
    version = served.create_model_version("churn", [stored], flavor="pyfunc", run_id=run.id)
    api = f"{live_server.url}/api/v1/predictions"
    direct = log_prediction(served.settings, "churn", 1)
    body = httpx.get(f"{api}/{direct}").json()
    assert (body["model"], body["version"], body["role"]) == ("churn", 1, "primary")
    assert body["model_version_id"] == version.id and body["run_id"] == run.id
    assert body["node"] == {"kind": "model_version", "id": version.id}
    served_by = log_prediction(served.settings, "churn", 1, deployment="prod-eu")
    assert httpx.get(f"{api}/{served_by}").json()["node"] == {"kind": "deployment", "id": "prod-eu"}
    missing = httpx.get(f"{api}/{'f' * 32}")
    assert missing.status_code == 404 and missing.json()["field"] == "prediction"
    too_long = httpx.get(f"{api}/{'a' * 201}")
    assert too_long.status_code == 422 and too_long.json()["field"] == "prediction_id"


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
