"""The serving soak test: `shipyard serve` as a real process, with the prediction log on,
under a bounded mixed load for several minutes (``SHIPYARD_SOAK_SECONDS``, 180 by default).

Asserts what the issue promises: no errors (every response 2xx, no client error), no lost
prediction-log rows (every answered prediction id is in the log after shutdown with all its
rows, and the server's shed counter is 0), and flat memory (the server's RSS slope over the
second half of the run, and its growth since warm-up, stay under small bounds). The load
generator runs in its own process (tests/serving/soak_load.py) so the test measures the server, and
its rate is bounded so parallel tests on 2 cores still pass. The summary line (requests, rate,
p99, RSS) is printed at the end of the test session.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from shipyard.config import Settings
from shipyard.serving import read_predictions

ROOT = Path(__file__).resolve().parents[2]
# Read at import: the test fixtures clear SHIPYARD_* variables from the environment.
SECONDS = float(os.environ.get("SHIPYARD_SOAK_SECONDS", "180"))
RATE = float(os.environ.get("SHIPYARD_SOAK_RATE", "200"))
CLIENTS = 4
SAMPLE_EVERY = 2.0
MAX_SLOPE_MIB_PER_MIN = 2.0
MAX_GROWTH_MIB = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def _metric(text: str, name: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the model server did not start:\n" + log.read_text())
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.soak
def test_minutes_of_load_lose_nothing_fail_nothing_and_leak_nothing(
    register: Any,
    sqlite_settings: Settings,
    sqlite_sdk: Any,
    tmp_path: Path,
    soak_summary: list[str],
) -> None:
    register()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["SHIPYARD_HOME"] = str(sqlite_settings.home)
    server_log = tmp_path / "server.log"
    with open(server_log, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "shipyard", "serve", "churn@champion", "--port", str(port),
             "--log-level", "warning"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_ready(url, server, server_log)
        samples: list[tuple[float, float]] = []
        stop = threading.Event()

        def sample() -> None:
            started = time.monotonic()
            while not stop.is_set():
                samples.append((time.monotonic() - started, _rss_mib(server.pid)))
                stop.wait(SAMPLE_EVERY)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        result_file = tmp_path / "load.json"
        subprocess.run(
            [sys.executable, "-m", "tests.serving.soak_load", url, str(SECONDS), str(RATE),
             str(CLIENTS), str(result_file)],
            cwd=ROOT, check=True, timeout=SECONDS + 300,
        )  # fmt: skip
        stop.set()
        sampler.join()
        metrics = httpx.get(f"{url}/metrics").text
    finally:
        server.send_signal(signal.SIGTERM)  # drains, then writes the prediction log
        try:
            server.wait(120)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
    # uvicorn re-raises the signal once it has drained, so a clean stop ends "killed" by it.
    assert server.returncode in (0, -signal.SIGTERM), server_log.read_text()[-3000:]

    load = json.loads(result_file.read_text())
    answered: dict[str, int] = dict(load["answered"])
    latencies = np.asarray(load["latencies"])
    requests = sum(load["codes"].values()) + len(load["client_errors"])
    times = np.asarray([t for t, _ in samples])
    rss = np.asarray([r for _, r in samples])
    warm = rss[times >= min(30.0, SECONDS / 6)][0]
    second_half = times >= times[-1] / 2
    slope = float(np.polyfit(times[second_half] / 60, rss[second_half], 1)[0])
    logged = read_predictions("churn", settings=sqlite_settings)
    summary = (
        f"soak: {requests} requests in {load['seconds']:.0f} s ({requests / load['seconds']:.0f}"
        f" req/s, {CLIENTS} clients), codes {load['codes']}, client errors "
        f"{len(load['client_errors'])}, p50 {np.percentile(latencies, 50) * 1000:.1f} ms, p99 "
        f"{np.percentile(latencies, 99) * 1000:.1f} ms; log rows {len(logged)}, shed "
        f"{_metric(metrics, 'shipyard_serving_prediction_log_shed_rows_total'):.0f}; RSS start "
        f"{rss[0]:.1f} MiB, after warm-up {warm:.1f}, end {rss[-1]:.1f}, peak {rss.max():.1f}, "
        f"second-half slope {slope:+.2f} MiB/min"
    )
    soak_summary.append(summary)
    print(summary)

    assert load["client_errors"] == [] and set(load["codes"]) == {"200"}, load["bad"][:5]
    assert requests >= 10 * SECONDS, f"the server answered too few requests: {summary}"
    assert _metric(metrics, "shipyard_serving_prediction_log_shed_rows_total") == 0
    rows_per_id = logged.groupby("prediction_id").size().to_dict()
    lost = {pid: rows for pid, rows in answered.items() if rows_per_id.get(pid) != rows}
    assert lost == {}, f"{len(lost)} answered predictions missing from the log"
    assert len(logged) == sum(answered.values())
    assert slope < MAX_SLOPE_MIB_PER_MIN, summary
    assert rss[-1] - warm < MAX_GROWTH_MIB, summary
