"""Serving soak: `shipyard serve` as a real process, with the prediction log on, under a
bounded mixed load for minutes.

    uv run --all-extras python bench/serving_soak.py                  # 180 s at 200 req/s
    uv run --all-extras python bench/serving_soak.py --seconds 600 --rate 400

It checks what serving promises under load: no errors (every response 200, no client error),
no lost prediction-log rows (every answered prediction id is in the log after shutdown with
all its rows, and the server's shed counter is 0), and flat memory (the server's RSS grows
less than ``MAX_GROWTH_MIB`` after warm-up and, on runs of a minute or more, its slope over
the second half stays under ``MAX_SLOPE_MIB_PER_MIN``; a shorter run has too few samples for
a slope). It prints one summary line (requests, rate, p50/p99, log rows, RSS) and exits 1
naming each check that failed.

The load generator (``_soak_load.py``) runs in its own process so the soak measures the
server, and its rate is bounded so a loaded machine slows it down instead of queueing.
tests/serving/test_soak.py runs this same soak, with the same checks, for 20 s in the suite.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

HERE = Path(__file__).resolve().parent
MODEL = "churn"  # the load generator's V2 route names it
CLIENTS = 4
MAX_SLOPE_MIB_PER_MIN = 2.0
MAX_GROWTH_MIB = 30.0
#: Runs shorter than this check memory growth only: a slope needs a longer second half.
SLOPE_MIN_SECONDS = 60.0
SHED_METRIC = "shipyard_serving_prediction_log_shed_rows_total"


def register_champion() -> None:
    """Register a logistic regression on the breast-cancer data as ``churn@champion`` in the
    store the module-level API is configured for."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    import shipyard

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=5000).fit(X, y)
    version = shipyard.register_model(model, MODEL, input_example=X.head())
    shipyard.set_alias(MODEL, "champion", version.version)


@dataclass
class SoakReport:
    """What one soak measured: the load generator's results, the server's RSS samples
    (seconds since the load started, MiB), its metrics and the prediction log's rows."""

    planned_seconds: float
    clients: int
    load: dict[str, Any]
    samples: list[tuple[float, float]]
    shed_rows: float
    logged_rows: dict[str, int]
    server_exit: int | None
    server_log: str

    @property
    def requests(self) -> int:
        return sum(self.load["codes"].values()) + len(self.load["client_errors"])

    def _rss(self) -> tuple[np.ndarray, np.ndarray, float, float | None]:
        """Sample times, RSS values, RSS after warm-up, and the second-half slope (MiB/min)
        when the run was long enough to have one."""
        times = np.asarray([t for t, _ in self.samples])
        rss = np.asarray([r for _, r in self.samples])
        warm = float(rss[times >= min(30.0, self.planned_seconds / 6)][0])
        if self.planned_seconds < SLOPE_MIN_SECONDS:
            return times, rss, warm, None
        second_half = times >= times[-1] / 2
        slope = float(np.polyfit(times[second_half] / 60, rss[second_half], 1)[0])
        return times, rss, warm, slope

    def summary(self) -> str:
        """One line: requests, rate, status codes, latencies, log rows, shed rows, RSS."""
        latencies = np.asarray(self.load["latencies"]) * 1000
        _, rss, warm, slope = self._rss()
        seconds = self.load["seconds"]
        slope_text = "n/a (short run)" if slope is None else f"{slope:+.2f} MiB/min"
        return (
            f"soak: {self.requests} requests in {seconds:.0f} s ({self.requests / seconds:.0f} "
            f"req/s, {self.clients} clients), codes {self.load['codes']}, client errors "
            f"{len(self.load['client_errors'])}, p50 {np.percentile(latencies, 50):.1f} ms, p99 "
            f"{np.percentile(latencies, 99):.1f} ms; log rows {sum(self.logged_rows.values())}, "
            f"shed {self.shed_rows:.0f}; RSS start {rss[0]:.1f} MiB, after warm-up {warm:.1f}, "
            f"end {rss[-1]:.1f}, peak {rss.max():.1f}, second-half slope {slope_text}"
        )

    def failures(self) -> list[str]:
        """Each promise the run broke, in words (empty when it held them all)."""
        found: list[str] = []
        if self.server_exit not in (0, -signal.SIGTERM):
            # uvicorn re-raises the signal once it has drained: a clean stop ends "killed" by it.
            found.append(f"the server exited with {self.server_exit}:\n{self.server_log[-3000:]}")
        if self.load["client_errors"] or set(self.load["codes"]) != {"200"}:
            found.append(
                f"errors: codes {self.load['codes']}, client errors "
                f"{self.load['client_errors'][:5]}, bad answers {self.load['bad'][:5]}"
            )
        if self.requests < 10 * self.planned_seconds:
            found.append(f"the server answered too few requests ({self.requests})")
        if self.shed_rows:
            found.append(f"the prediction log shed {self.shed_rows:.0f} rows")
        answered = dict(self.load["answered"])
        lost = [pid for pid, rows in answered.items() if self.logged_rows.get(pid) != rows]
        if lost:
            found.append(f"{len(lost)} answered predictions missing from the log: {lost[:5]}")
        if sum(self.logged_rows.values()) != sum(answered.values()):
            found.append(
                f"the log holds {sum(self.logged_rows.values())} rows for "
                f"{sum(answered.values())} answered"
            )
        _, rss, warm, slope = self._rss()
        if rss[-1] - warm >= MAX_GROWTH_MIB:
            found.append(f"RSS grew {rss[-1] - warm:.1f} MiB after warm-up")
        if slope is not None and slope >= MAX_SLOPE_MIB_PER_MIN:
            found.append(f"RSS kept growing: {slope:+.2f} MiB/min over the second half")
        return found


def run(home: Path, workdir: Path, *, seconds: float, rate: float, clients: int) -> SoakReport:
    """Serve ``churn@champion`` from the Shipyard home ``home`` (registered already) as a
    real ``shipyard serve`` process and put it under ``rate`` requests per second from
    ``clients`` clients for ``seconds``; stop it (SIGTERM drains and writes the prediction
    log), then read what the log holds. Files (server log, load results) go to
    ``workdir``."""
    from shipyard.config import load_settings
    from shipyard.serving import read_predictions

    url = f"http://127.0.0.1:{_free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["SHIPYARD_HOME"] = str(home)
    server_log = workdir / "server.log"
    with open(server_log, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "shipyard", "serve", f"{MODEL}@champion", "--port",
             url.rsplit(":", 1)[1], "--log-level", "warning"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    samples: list[tuple[float, float]] = []
    try:
        _wait_ready(url, server, server_log)
        stop = threading.Event()
        every = min(2.0, seconds / 20)

        def sample() -> None:
            started = time.monotonic()
            while not stop.is_set():
                samples.append((time.monotonic() - started, _rss_mib(server.pid)))
                stop.wait(every)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        result_file = workdir / "load.json"
        subprocess.run(
            [sys.executable, str(HERE / "_soak_load.py"), url, str(seconds), str(rate),
             str(clients), str(result_file)],
            check=True, timeout=seconds + 300,
        )  # fmt: skip
        stop.set()
        sampler.join()
        shed = _metric(httpx.get(f"{url}/metrics").text, SHED_METRIC)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(120)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
    logged = read_predictions(MODEL, settings=load_settings(home=home))
    return SoakReport(
        planned_seconds=seconds,
        clients=clients,
        load=json.loads(result_file.read_text()),
        samples=samples,
        shed_rows=shed,
        logged_rows={str(k): int(v) for k, v in logged.groupby("prediction_id").size().items()},
        server_exit=server.returncode,
        server_log=server_log.read_text(errors="replace"),
    )


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
    deadline = time.monotonic() + 300  # reached only on a badly loaded machine
    while True:
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            state = "not ready after 300 s" if proc.poll() is None else f"exit {proc.returncode}"
            raise RuntimeError(f"the model server did not start ({state}):\n" + log.read_text())
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="length of the load")
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--clients", type=int, default=CLIENTS, help="concurrent clients")
    args = parser.parse_args()
    if args.seconds <= 0 or args.rate <= 0 or args.clients < 1:
        parser.error("--seconds and --rate must be positive, --clients at least 1")
    import shipyard

    with tempfile.TemporaryDirectory(prefix="shipyard-soak-") as tmp:
        work = Path(tmp)
        shipyard.configure(home=work / ".shipyard")
        register_champion()
        report = run(
            work / ".shipyard", work, seconds=args.seconds, rate=args.rate, clients=args.clients
        )
    print(report.summary())
    for failure in report.failures():
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if report.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
