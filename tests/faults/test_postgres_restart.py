"""PostgreSQL restarted while clients log: embedded (LocalStore on PostgreSQL) and through
``shipyard server`` on PostgreSQL.

Getting a connection is retried with back-off (nothing was sent yet); a read that broke midway
is repeated; a write that broke midway is a ServiceUnavailable naming the database, and its
transaction left nothing. No record is half-written, no buffered metric point is lost, and the
server's /readyz is 503 while the database is down and 200 once it is back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

import shipyard
from shipyard.config import Settings, load_settings
from shipyard.errors import ServiceUnavailable
from shipyard.store import _engine
from shipyard.tracking import Client, _fluent
from shipyard.tracking._run import active_stack
from tests.support.server import server_process
from tests.support.services import RestartableServer

pytestmark = pytest.mark.postgres


@pytest.fixture
def tracked(restartable_postgres_db_url: str) -> Iterator[Any]:
    """Starts a run through the module-level API on ``settings`` and returns (client, run id);
    runs left open are ended and the default client is closed after."""

    def start(settings: Settings) -> tuple[Client, str]:
        client = _fluent.configure(settings)
        run = shipyard.start_run(name="under-restart")
        return client, run.id

    yield start
    for run in reversed(list(active_stack())):
        run.end("KILLED")
    if _fluent._default is not None:
        _fluent._default.close()
        _fluent._default = None


def _restart(server: RestartableServer, down_s: float) -> None:
    """Stop the server, keep it down ``down_s`` seconds, start it again."""
    server.stop()
    time.sleep(down_s)
    server.start()


def _redacted(db_url: str) -> str:
    return make_url(db_url).render_as_string(hide_password=True)


def _check_logged_run(client: Client, run_id: str, load: Any, db_url: str) -> None:
    """What every restart test proves about the run the load logged to."""
    password = make_url(db_url).password
    assert password
    for error in load.errors:  # only clear errors, naming the database, never its password
        assert isinstance(error, ServiceUnavailable), repr(error)
        assert _redacted(db_url) in error.message, error.message
        assert password not in error.message
    shipyard.end_run()
    run = client.get_run(run_id)
    assert run.status == "FINISHED"
    # every buffered point is stored exactly once, the outage notwithstanding
    loss = [p.step for p in client.get_metric_history(run_id, "loss")]
    assert sorted(loss) == list(range(load.steps))
    # each log_batch is one transaction: its metric and its param are both stored or neither
    acc = {p.step for p in client.get_metric_history(run_id, "acc")}
    params = {int(key[1:]) for key in run.params}
    assert acc == params
    assert set(load.returned) <= acc  # every call that returned normally was kept


def test_embedded_logging_rides_out_a_restart(
    restartable_postgres: RestartableServer,
    restartable_postgres_db_url: str,
    tracked: Any,
    logging_load: Any,
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
    _check_logged_run(client, run_id, load, db_url)
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
    assert _redacted(db_url) in down.value.message
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
        _check_logged_run(client, run_id, load, db_url)
        assert len(load.errors) <= 2, [str(e) for e in load.errors]
    assert down.status_code == 503, down.text
    body = down.json()
    assert body["code"] == "unavailable"
    assert _redacted(db_url) in body["message"]
    assert make_url(db_url).password not in down.text
    assert up.status_code == 200, up.text
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log, log[-3000:]
