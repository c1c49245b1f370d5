"""`shipyard server` as a real process: several workers that answer keep-alive requests
without the ~40 ms Nagle/delayed-ACK stall, metrics added up over workers, sixteen
clients logging at once to a server on PostgreSQL without losing a value, and SIGTERM (docker
stop, Kubernetes) as a graceful stop that exits 0."""

from __future__ import annotations

import signal
import socket
import statistics
import threading
import time
from pathlib import Path

import httpx
import pytest

from shipyard.client import LocalStore
from shipyard.config import load_settings
from shipyard.tracking import Client
from tests.support.server import running_server, server_process


@pytest.mark.slow
def test_two_workers_answer_keep_alive_requests_without_a_stall(tmp_path: Path) -> None:
    """A regression test of TCP_NODELAY (not a benchmark): without it every request on a
    kept-alive connection waits ~40 ms for the client's delayed ACK."""
    with server_process(tmp_path, "--workers", "2") as url, httpx.Client(base_url=url) as client:
        exp = client.post("/api/v1/experiments", json={"name": "e"}).json()
        run = client.post("/api/v1/runs", json={"experiment_id": exp["id"], "name": "r"}).json()
        batch = f"/api/v1/runs/{run['id']}/batch"
        for _ in range(10):  # warm up both workers' connections and caches
            client.get(f"/api/v1/runs/{run['id']}").raise_for_status()
        reads, writes = [], []
        for step in range(50):
            started = time.perf_counter()
            client.get(f"/api/v1/runs/{run['id']}").raise_for_status()
            reads.append(time.perf_counter() - started)
            started = time.perf_counter()
            point = {"key": "m", "value": step, "step": step, "timestamp": 1}
            client.post(batch, json={"metrics": [point]}).raise_for_status()
            writes.append(time.perf_counter() - started)
        assert statistics.median(reads) < 0.020, reads
        assert statistics.median(writes) < 0.020, writes
        text = client.get("/metrics").text
        counted = [
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("shipyard_http_requests_total{")
            and 'route="/api/v1/runs/{run_id}/batch"' in line
        ]
        assert sum(counted) == 50  # every worker's requests, added up


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_stops_the_server_gracefully_with_exit_status_0(
    tmp_path: Path, workers: str
) -> None:
    """An orchestrator's stop is not a crash: the server finishes its shutdown (the audit
    entry of the last write is stored, the port is released) and the process exits 0, not
    -15 (143 in a shell), which docker and Kubernetes report as a failure."""
    with running_server(tmp_path, "--workers", workers) as server:
        created = httpx.post(  # a deadline for a loaded machine (the first write migrates)
            f"{server.url}/api/v1/experiments", json={"name": "before-stop"}, timeout=120
        )
        assert created.is_success, created.text
        server.proc.send_signal(signal.SIGTERM)
        code = server.proc.wait(120)
    log = server.log.read_text()
    assert code == 0, log
    assert "Application shutdown complete" in log and "Traceback" not in log
    store = LocalStore(load_settings(home=tmp_path / ".shipyard"))
    audited = [(e.method, e.path) for e in store.list_audit()]
    assert ("POST", "/api/v1/experiments") in audited
    with socket.socket() as probe:  # nothing listens on the port any more
        probe.bind(("127.0.0.1", int(server.url.rsplit(":", 1)[1])))


CLIENTS = 16
STEPS = 200


@pytest.mark.slow
def test_sixteen_clients_logging_at_once_lose_nothing(tmp_path: Path, postgres_db_url: str) -> None:
    env = {"SHIPYARD_DB_URL": postgres_db_url}
    with server_process(tmp_path, "--workers", "2", env=env) as url:
        barrier = threading.Barrier(CLIENTS)
        run_ids: list[str] = []
        failures: list[BaseException] = []

        def client_work(index: int) -> None:
            try:
                settings = load_settings(
                    home=tmp_path / f"c{index}",
                    tracking_uri=url,
                    sync_logging=index % 2 == 0,
                    batch_size=50,
                    flush_interval=0.01,
                )
                client = Client(settings)
                exp = client.store.get_or_create_experiment("shared")
                barrier.wait(60)
                run = client.store.create_run(exp.id, f"client-{index}")
                client.log_params(run.id, {"client": index})
                for step in range(STEPS):
                    client.log_metric(run.id, "loss", step / 10, step=step)
                    if step % 50 == 0:
                        client.set_tags(run.id, {"progress": step})
                client.flush(run.id)
                client.store.update_run(run.id, status="FINISHED", end_time=int(time.time() * 1e3))
                client.close()
                run_ids.append(run.id)
            except BaseException as exc:  # reported below, with the others
                failures.append(exc)

        threads = [threading.Thread(target=client_work, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert not failures, failures
    store = LocalStore(load_settings(home=tmp_path / "check", db_url=postgres_db_url))
    assert [e.name for e in store.list_experiments()] == ["shared"]
    assert len(set(run_ids)) == CLIENTS
    for run_id in run_ids:
        run = store.get_run(run_id)
        assert run.status == "FINISHED" and run.tags["progress"] == "150"
        history = store.get_metric_history(run_id, "loss")
        assert [p.step for p in history] == list(range(STEPS))
        assert run.metrics["loss"] == (STEPS - 1) / 10
