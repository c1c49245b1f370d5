"""PostgreSQL restarted while clients log: embedded (LocalStore on PostgreSQL) and through
``shipyard server`` on PostgreSQL, and down for longer than the server waits for it.

Getting a connection is retried with back-off (nothing was sent yet); a read that broke midway
is repeated; a write that broke midway is a ServiceUnavailable naming the database, and its
transaction left nothing. No record is half-written, no buffered metric point is lost, and the
server's /readyz is 503 while the database is down and 200 once it is back.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

import shipyard
from shipyard.client import RestStore
from shipyard.config import load_settings, redact_url
from shipyard.entities import MetricPoint
from shipyard.errors import ServiceUnavailable
from shipyard.store import _engine
from tests.support.server import server_process
from tests.support.services import RestartableServer

pytestmark = pytest.mark.postgres


def _restart(server: RestartableServer, down_s: float) -> None:
    """Stop the server, keep it down ``down_s`` seconds, start it again."""
    server.stop()
    time.sleep(down_s)
    server.start()


def test_embedded_logging_rides_out_a_restart(
    restartable_postgres: RestartableServer,
    restartable_postgres_db_url: str,
    tracked: Any,
    logging_load: Any,
    check_logged_run: Any,
    tmp_path: Path,
) -> None:
    db_url = restartable_postgres_db_url
    settings = load_settings(home=tmp_path / ".shipyard", db_url=db_url)
    client, run_id = tracked(settings)
    load = logging_load(client, run_id)
    time.sleep(0.5)
    _restart(restartable_postgres, down_s=1.0)  # within the connection back-off
    time.sleep(0.5)
    load.stop()
    check_logged_run(client, run_id, load, db_url)
    # calls waited for the database rather than failing: at most the writes caught mid-flight
    # by the shutdown failed (one per connection in use)
    assert len(load.errors) <= 2, [str(e) for e in load.errors]


def test_embedded_reads_wait_for_the_database_and_then_fail_clearly(
    restartable_postgres: RestartableServer,
    restartable_postgres_db_url: str,
    tracked: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db_url = restartable_postgres_db_url
    settings = load_settings(home=tmp_path / ".shipyard", db_url=db_url, sync_logging=True)
    client, run_id = tracked(settings)
    shipyard.log_param("lr", 0.1)
    restartable_postgres.stop()
    back = threading.Timer(0.5, restartable_postgres.start)
    back.start()
    try:
        assert client.get_run(run_id).params == {"lr": "0.1"}  # waited for the restart
    finally:
        back.join()
    # an outage longer than the back-off: a clear error naming the database, then recovery
    monkeypatch.setattr(_engine, "CONNECT_RETRY_DELAYS", (0.01, 0.01))
    restartable_postgres.stop()
    with pytest.raises(ServiceUnavailable) as down:
        client.get_run(run_id)
    assert redact_url(db_url) in down.value.message
    assert "3 attempts" in down.value.message
    with pytest.raises(ServiceUnavailable):
        shipyard.log_param("momentum", 0.9)
    restartable_postgres.start()
    shipyard.log_param("momentum", 0.9)
    assert client.get_run(run_id).params == {"lr": "0.1", "momentum": "0.9"}


def test_server_logging_rides_out_a_restart_and_readyz_follows_the_database(
    restartable_postgres: RestartableServer,
    restartable_postgres_db_url: str,
    tracked: Any,
    logging_load: Any,
    check_logged_run: Any,
    tmp_path: Path,
) -> None:
    db_url = restartable_postgres_db_url
    env = {
        "SHIPYARD_DB_URL": db_url,
        "SHIPYARD_ARTIFACTS_URI": str(tmp_path / "blobs"),
    }
    with server_process(tmp_path, env=env) as url:
        settings = load_settings(home=tmp_path / ".client", tracking_uri=url)
        client, run_id = tracked(settings)
        load = logging_load(client, run_id)
        time.sleep(0.5)
        assert httpx.get(f"{url}/readyz", timeout=30).status_code == 200
        restartable_postgres.stop()
        down = httpx.get(f"{url}/readyz", timeout=30)
        time.sleep(1.0)
        restartable_postgres.start()
        up = httpx.get(f"{url}/readyz", timeout=30)
        time.sleep(0.5)
        load.stop()
        check_logged_run(client, run_id, load, db_url)
        assert len(load.errors) <= 2, [str(e) for e in load.errors]
    assert down.status_code == 503, down.text
    body = down.json()
    assert body["code"] == "unavailable"
    assert redact_url(db_url) in body["message"]
    assert make_url(db_url).password not in down.text
    assert up.status_code == 200, up.text
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log, log[-3000:]


def test_server_calls_ride_out_an_outage_longer_than_the_servers_own_wait(
    restartable_postgres: RestartableServer,
    restartable_postgres_db_url: str,
    tmp_path: Path,
) -> None:
    """PostgreSQL down for longer than the server waits for it (6.3 s): the server answers
    503, and the client repeats a read until the database is back, but not a metric batch,
    which the server may have stored: that one fails, and is stored not at all (the server
    never reached the database), never twice."""
    env = {
        "SHIPYARD_DB_URL": restartable_postgres_db_url,
        "SHIPYARD_ARTIFACTS_URI": str(tmp_path / "blobs"),
    }
    with server_process(tmp_path, env=env) as url:
        store = RestStore(load_settings(home=tmp_path / ".client", tracking_uri=url))
        sent: list[str] = []
        store.http.on_request.append(
            lambda request: sent.append(f"{request.method} {request.url.path.rsplit('/', 1)[1]}")
        )
        experiment = store.get_or_create_experiment("outage")
        run = store.create_run(experiment.id, "r")
        store.log_batch(run.id, [MetricPoint("loss", 1.0, 0, 1)])
        sent.clear()
        batch: list[BaseException] = []

        def log_during_outage() -> None:
            try:
                store.log_batch(run.id, [MetricPoint("loss", 0.5, 1, 2)])
            except BaseException as exc:  # the test inspects it
                batch.append(exc)

        restartable_postgres.stop()
        back = threading.Timer(8.0, restartable_postgres.start)
        back.start()
        writer = threading.Thread(target=log_during_outage)
        writer.start()
        try:
            found = store.get_run(run.id)  # 503 after 6.3 s, repeated, then answered
        finally:
            writer.join()
            back.join()
        assert found.id == run.id
        assert sent.count(f"GET {run.id}") >= 2, sent  # the client repeated the read
        assert sent.count("POST batch") == 1, sent  # and sent the batch once
        (error,) = batch
        assert isinstance(error, ServiceUnavailable)
        assert redact_url(restartable_postgres_db_url) in error.message
        assert [p.step for p in store.get_metric_history(run.id, "loss")] == [0]
        store.log_batch(run.id, [MetricPoint("loss", 0.5, 1, 2)])  # the caller's own retry
        assert [p.step for p in store.get_metric_history(run.id, "loss")] == [0, 1]
        store.close()
