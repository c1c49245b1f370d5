"""The web UI against MLflow's, in headless Chromium, on the same data in one run.

With N runs (default 100,000) of 10 params and 10 metrics in one experiment, and one more run
holding a P-point metric history (default 100,000), both stores on SQLite:

- **runs page**: from navigation until the runs table shows its first page (the newest
  run's name is on screen);
- **re-sort**: from asking for the order by metric ``m0`` (descending) until the run with
  the highest ``m0`` is on top; both UIs load the sorted view by its address
  (``?order=`` for Shipyard, ``orderByKey=`` for MLflow), and Shipyard's in-page click on
  the column header is reported too;
- **chart**: from navigation to the long run's page until its metric chart is drawn (a
  canvas for Shipyard's uPlot, a plotted trace for MLflow).

Data goes in with bulk SQL inserts (the same rows for both, in each tool's own schema,
created by its own API first), so seeding takes seconds per million rows rather than
hours of API calls. Each figure is the median of ``--repeat`` fresh browser contexts.

    uv run python bench/ui.py                       # 100,000 runs, 100,000 points
    uv run python bench/ui.py --runs 10000 --no-mlflow
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _competitors import WORK_DIR, Competitor, clean_env

MLFLOW = Competitor("mlflow", ("mlflow==3.17.2",))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]  # fmt: skip
PARAMS, METRICS = 10, 10


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _rows(runs: int, seed: int = 7) -> list[tuple[str, str, int, list[str], list[float]]]:
    """(id, name, start ms, params, metrics) of every run: the same data for both tools."""
    rng = random.Random(seed)
    start = 1_700_000_000_000
    return [
        (
            uuid.uuid4().hex,
            f"run-{i:06d}",
            start + i * 1000,
            [str(rng.choice([0.001, 0.01, 0.1, 1.0])) for _ in range(PARAMS)],
            [round(rng.random(), 6) for _ in range(METRICS)],
        )
        for i in range(runs)
    ]


def _history(points: int) -> list[tuple[int, float]]:
    rng = random.Random(3)
    return [(s, 2.0 / (1 + s / 1000) + rng.random() * 0.05) for s in range(points)]


def seed_shipyard(home: Path, rows: list[Any], points: int) -> tuple[str, str]:
    """A Shipyard store with the runs (bulk inserted into its tables); experiment and long
    run ids."""
    from sqlalchemy import MetaData, insert

    from shipyard.client import LocalStore
    from shipyard.config import load_settings
    from shipyard.entities import MetricPoint

    store = LocalStore(load_settings(home=home))
    exp = store.create_experiment("bench-ui")
    meta = MetaData()
    meta.reflect(store.engine, only=["runs", "params", "latest_metrics", "metrics"])
    t = meta.tables
    chunk = 5_000
    with store.engine.begin() as conn:
        for lo in range(0, len(rows), chunk):
            part = rows[lo : lo + chunk]
            conn.execute(insert(t["runs"]), [
                {"id": rid, "experiment_id": exp.id, "name": name, "status": "FINISHED",
                 "start_time": start, "end_time": start + 500, "parent_run_id": None,
                 "user": "bench", "lifecycle": "active"}
                for rid, name, start, _, _ in part])  # fmt: skip
            conn.execute(insert(t["params"]), [
                {"run_id": rid, "key": f"p{k}", "value": v}
                for rid, _, _, ps, _ in part for k, v in enumerate(ps)])  # fmt: skip
            metric_rows = [
                {"run_id": rid, "key": f"m{k}", "value": v, "step": 0, "timestamp": start}
                for rid, _, start, _, ms in part for k, v in enumerate(ms)]  # fmt: skip
            conn.execute(insert(t["latest_metrics"]), metric_rows)
            conn.execute(insert(t["metrics"]), metric_rows)
    long = store.create_run(exp.id, "long-history", start_time=rows[-1][2] + 10_000)
    history = _history(points)
    for lo in range(0, points, 20_000):
        store.log_batch(
            long.id, [MetricPoint("loss", v, s, s) for s, v in history[lo : lo + 20_000]]
        )
    store.update_run(long.id, status="FINISHED", end_time=rows[-1][2] + 20_000)
    store.close()
    return exp.id, long.id


MLFLOW_SEED = r"""
import json, sqlite3, sys
import mlflow
from mlflow.tracking import MlflowClient
db, rows_file, points = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = MlflowClient(tracking_uri=f"sqlite:///{db}")
exp = client.create_experiment("bench-ui", artifact_location="/tmp/mlflow-bench-artifacts")
probe = client.create_run(exp)  # makes every table; removed below
client.delete_run(probe.info.run_id)
rows = json.load(open(rows_file))
conn = sqlite3.connect(db)
conn.execute("DELETE FROM runs WHERE run_uuid = ?", (probe.info.run_id,))
for lo in range(0, len(rows), 5000):
    part = rows[lo:lo + 5000]
    conn.executemany(
        "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id,"
        " status, start_time, end_time, source_version, lifecycle_stage, artifact_uri,"
        " experiment_id) VALUES"
        " (?, ?, 'LOCAL', '', '', 'bench', 'FINISHED', ?, ?, '', 'active', ?, ?)",
        [(r[0], r[1], r[2], r[2] + 500, f"/tmp/mlflow-bench-artifacts/{r[0]}", exp) for r in part])
    conn.executemany("INSERT INTO tags (key, value, run_uuid) VALUES ('mlflow.runName', ?, ?)",
                     [(r[1], r[0]) for r in part])
    conn.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
                     [(f"p{k}", v, r[0]) for r in part for k, v in enumerate(r[3])])
    ms = [(f"m{k}", v, r[2], r[0], 0, 0) for r in part for k, v in enumerate(r[4])]
    conn.executemany("INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan)"
                     " VALUES (?, ?, ?, ?, ?, ?)", ms)
    conn.executemany("INSERT INTO latest_metrics (key, value, timestamp, run_uuid, step, is_nan)"
                     " VALUES (?, ?, ?, ?, ?, ?)", ms)
conn.commit()
long = client.create_run(exp, run_name="long-history", start_time=rows[-1][2] + 10000)
rid = long.info.run_id
import random
rng = random.Random(3)
hist = [("loss", 2.0 / (1 + s / 1000) + rng.random() * 0.05, s, rid, s, 0) for s in range(points)]
conn.executemany("INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan)"
                 " VALUES (?, ?, ?, ?, ?, ?)", hist)
last = hist[-1]
conn.execute("INSERT INTO latest_metrics (key, value, timestamp, run_uuid, step, is_nan)"
             " VALUES (?, ?, ?, ?, ?, ?)", last)
conn.commit()
client.set_terminated(rid)
print("@@BENCH-RESULT@@ " + json.dumps({"experiment": exp, "long_run": rid}))
"""


def seed_mlflow(work: Path, rows: list[Any], points: int) -> tuple[Path, str, str]:
    python = MLFLOW.ensure()
    db = work / "mlflow.db"
    rows_file = work / "rows.json"
    rows_file.write_text(json.dumps(rows))
    script = work / "seed_mlflow.py"
    script.write_text(MLFLOW_SEED)
    out = subprocess.run(
        [str(python), str(script), str(db), str(rows_file), str(points)],
        env=clean_env(python), capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = next(x for x in out.stdout.splitlines() if x.startswith("@@BENCH-RESULT@@ "))
    found = json.loads(line.split(" ", 1)[1])
    return db, found["experiment"], found["long_run"]


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer")


def _timed(
    browser: Any, url: str, ready: str, repeat: int, limit: float, click: str | None = None
) -> float | str:
    """Median seconds from navigation (or from ``click``) until ``ready`` is visible, after
    one untimed visit (so neither server pays its first-request start-up in the figure); a
    page that is not ready within ``limit`` seconds is reported as ``"> limit"`` (and not
    visited again)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    wait = int(limit * 1000)
    try:
        warm = browser.new_context()
        warm_page = warm.new_page()
        warm_page.goto(url, timeout=wait)
        warm_page.wait_for_selector(click or ready, timeout=wait, state="visible")
        warm.close()
        times = []
        for _ in range(repeat):
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            if click:
                page.goto(url)
                page.wait_for_selector(click, timeout=wait)
                t0 = time.perf_counter()
                page.click(click)
            else:
                t0 = time.perf_counter()
                page.goto(url, wait_until="commit", timeout=wait)
            page.wait_for_selector(ready, timeout=wait, state="visible")
            times.append(time.perf_counter() - t0)
            context.close()
    except PlaywrightTimeout:
        return f"> {limit:.0f}"
    return statistics.median(times)


def _breakdown(browser: Any, url: str, ready: str) -> dict[str, Any]:
    """Where one visit's time goes, from the browser's own performance timings (ms since
    navigation start): the shell, each module and API request (start and end), and the
    moment ``ready`` was found visible."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(url, wait_until="commit")
    page.wait_for_selector(ready, timeout=300_000, state="visible")
    visible = page.evaluate("performance.now()")
    entries = page.evaluate(
        """() => [...performance.getEntriesByType("navigation"),
                  ...performance.getEntriesByType("resource")].map(
            (e) => [e.name, e.startTime, e.responseEnd])"""
    )
    context.close()
    found: dict[str, Any] = {}
    for name, start, end in entries:
        short = name.split("//", 1)[-1].split("/", 1)[-1].split("?")[0]
        found[short or "shell"] = [round(start), round(end)]
    found["ready_visible"] = round(visible)
    return found


def _api_ms(base: str, exp: str, long_run: str, repeat: int = 5) -> dict[str, float]:
    """Median milliseconds of the API calls behind the measured pages, without a browser:
    where a page's time goes on the server."""
    import httpx

    calls = {
        "experiment": ("GET", f"/api/v1/experiments/{exp}", None),
        "search_first_page": ("POST", "/api/v1/runs/search",
                              {"experiment_ids": [exp], "limit": 50}),
        "search_by_metric": ("POST", "/api/v1/runs/search",
                             {"experiment_ids": [exp], "limit": 50,
                              "order_by": ["metrics.m0 desc"]}),
        "history_2000_of_long_run": ("GET", f"/api/v1/runs/{long_run}/metrics/loss/history"
                                     "?max_points=2000", None),
    }  # fmt: skip
    found = {}
    with httpx.Client(base_url=base, timeout=300) as client:
        for name, (method, path, body) in calls.items():
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                client.request(method, path, json=body).raise_for_status()
                times.append((time.perf_counter() - t0) * 1000)
            found[name] = round(statistics.median(times), 1)
    return found


def _ratio(theirs: float | str, ours: float | str) -> str | float:
    """MLflow's time over Shipyard's; a lower bound (``">= r"``) when MLflow's page hit the
    time limit."""
    if isinstance(ours, str):
        return "n/a"
    if isinstance(theirs, str):
        return f">= {float(theirs.lstrip('> ')) / ours:.1f}"
    return round(theirs / ours, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument(
        "--page-limit",
        type=float,
        default=300,
        help="seconds a page may take before it is reported as '> limit'",
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    work = WORK_DIR / "ui"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    rows = _rows(args.runs)
    newest = rows[-1][1]
    top = max(rows, key=lambda r: r[4][0])[1]
    t0 = time.perf_counter()
    exp, long_run = seed_shipyard(work / "shipyard", rows, args.points)
    print(f"seeded Shipyard in {time.perf_counter() - t0:.0f} s", flush=True)
    procs = []
    results: dict[str, Any] = {"runs": args.runs, "points": args.points,
                               "load_before": os.getloadavg()}  # fmt: skip
    try:
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
        env["SHIPYARD_HOME"] = str(work / "shipyard")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "shipyard", "server", "--port", str(port),
             "--log-level", "warning"],
            env=env))  # fmt: skip
        shipyard = f"http://127.0.0.1:{port}"
        _wait_http(shipyard + "/healthz", procs[-1])
        mlflow_url = ""
        if not args.no_mlflow:
            t0 = time.perf_counter()
            db, m_exp, m_long = seed_mlflow(work, rows, args.points)
            print(f"seeded MLflow in {time.perf_counter() - t0:.0f} s", flush=True)
            m_port = _free_port()
            python = MLFLOW.ensure()
            procs.append(subprocess.Popen(
                [str(python), "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{db}",
                 "--host", "127.0.0.1", "--port", str(m_port), "--workers", "1"],
                env=clean_env(python), stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))  # fmt: skip
            mlflow_url = f"http://127.0.0.1:{m_port}"
            _wait_http(mlflow_url + "/health", procs[-1])
        results["shipyard_api_ms"] = _api_ms(shipyard, exp, long_run)
        print(json.dumps(results["shipyard_api_ms"]), flush=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            r, limit = args.repeat, args.page_limit
            results["shipyard"] = {
                "runs_page_s": _timed(browser, f"{shipyard}/experiments/{exp}",
                                      f"#runs a:text-is('{newest}')", r, limit),
                "resort_s": _timed(browser, f"{shipyard}/experiments/{exp}?order=metrics.m0%20desc",
                                   f"#runs tbody tr:first-child a:text-is('{top}')", r, limit),
                "resort_click_s": _timed(browser, f"{shipyard}/experiments/{exp}",
                                         f"#runs tbody tr:first-child a:text-is('{top}')", r, limit,
                                         click="#runs thead button[data-column='metrics.m0']"),
                "chart_s": _timed(browser, f"{shipyard}/runs/{long_run}",
                                  "#charts figure.chart canvas", r, limit),
            }  # fmt: skip
            print(json.dumps(results["shipyard"]), flush=True)
            results["shipyard_breakdown_ms"] = {
                "runs_page": _breakdown(browser, f"{shipyard}/experiments/{exp}",
                                        f"#runs a:text-is('{newest}')"),
                "chart": _breakdown(browser, f"{shipyard}/runs/{long_run}",
                                    "#charts figure.chart canvas"),
            }  # fmt: skip
            print(json.dumps(results["shipyard_breakdown_ms"]), flush=True)
            if mlflow_url:
                base = f"{mlflow_url}/#/experiments/{m_exp}"
                results["mlflow"] = {
                    "runs_page_s": _timed(browser, f"{base}/runs", f"text={newest}", r, limit),
                    "resort_s": _timed(browser,
                                       f"{base}/runs?orderByKey=metrics.%60m0%60&orderByAsc=false",
                                       f"text={top}", r, limit),
                    "chart_s": _timed(browser, f"{base}/runs/{m_long}/model-metrics",
                                      ".js-plotly-plot .scatterlayer .trace, .uplot canvas",
                                      r, limit),
                }  # fmt: skip
                s, m = results["shipyard"], results["mlflow"]
                results["ratios"] = {
                    k: _ratio(m[k], s[k]) for k in ("runs_page_s", "resort_s", "chart_s")
                }
            browser.close()
    finally:
        # the figures first: a server slow to stop must not lose a finished run's results
        results["load_after"] = os.getloadavg()
        print(json.dumps(results, indent=2), flush=True)
        (work / "result.json").write_text(json.dumps(results, indent=2))
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:  # `mlflow server` and its job runners
                proc.kill()
                proc.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
