"""PostgreSQL crashing, not stopping: its postmaster and every backend killed with SIGKILL
while one client logs metrics through ``shipyard server`` and another registers models
through it. PostgreSQL recovers from its write-ahead log on the next start.

While it is down the server's /readyz answers 503, calls fail with a ServiceUnavailable naming
the database (or wait, where repeating them is safe); after the restart /readyz answers 200,
the logged run ends FINISHED with every point, and ``shipyard fsck`` finds nothing: no version
half-registered, every blob a record names present and whole.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import shipyard
from shipyard import maintenance
from shipyard.config import load_settings, redact_url
from shipyard.errors import ServiceUnavailable
from tests.support.server import server_process
from tests.support.services import RestartableServer

pytestmark = pytest.mark.postgres
MODEL = "crash-proof"


@pytest.fixture
def durable_db_url(restartable_postgres_db_url: str) -> str:
    """The test database, with commits written out before they are acknowledged: the test
    cluster runs with ``synchronous_commit=off``, which a crash (unlike a clean stop) turns
    into lost commits. (``fsync`` stays off: a process crash leaves the kernel's cache.)"""
    url = make_url(restartable_postgres_db_url)
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{url.database}" SET synchronous_commit = on'))
    finally:
        engine.dispose()
    return restartable_postgres_db_url


def _wait_for(condition: Callable[[], bool], timeout_s: float = 180) -> None:
    """Wait until ``condition()`` holds (the loads are under way); fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the loads did not get going"
        time.sleep(0.1)


def test_a_postgres_crash_under_load_loses_nothing_and_leaves_nothing_half_done(
    restartable_postgres: RestartableServer,
    durable_db_url: str,
    tracked: Any,
    logging_load: Any,
    check_logged_run: Any,
    registering_load: Any,
    tmp_path: Path,
) -> None:
    blobs = tmp_path / "blobs"
    env = {"SHIPYARD_DB_URL": durable_db_url, "SHIPYARD_ARTIFACTS_URI": str(blobs)}
    with server_process(tmp_path, env=env) as url:
        settings = load_settings(home=tmp_path / ".client", tracking_uri=url)
        client, run_id = tracked(settings)
        load = logging_load(client, run_id)
        registering = registering_load(MODEL)
        _wait_for(lambda: len(registering.slopes) >= 2 and load.steps >= 10)
        before = httpx.get(f"{url}/readyz", timeout=30)
        restartable_postgres.crash()
        down = httpx.get(f"{url}/readyz", timeout=30)
        time.sleep(2.0)
        restartable_postgres.start()  # crash recovery from the WAL
        up = httpx.get(f"{url}/readyz", timeout=30)
        recovered_at = (len(registering.slopes), load.steps)
        time.sleep(3.0)
        registering.stop()
        load.stop()
        check_logged_run(client, run_id, load, durable_db_url)
        versions = {v.version: v for v in client.store.list_model_versions(MODEL)}
        newest = max(registering.slopes, default=0)
        loaded = shipyard.models.load(f"{MODEL}/{newest}") if newest else None
    assert before.status_code == 200, before.text
    assert down.status_code == 503 and down.json()["code"] == "unavailable", down.text
    assert redact_url(durable_db_url) in down.json()["message"]
    assert up.status_code == 200, up.text
    for error in registering.errors:  # only clear errors, naming the database
        assert isinstance(error, ServiceUnavailable), repr(error)
        assert redact_url(durable_db_url) in error.message, error.message
    # both clients went on once the database was back; every registration that returned is
    # there, from before the crash and after it
    assert len(registering.slopes) > recovered_at[0] and load.steps > recovered_at[1]
    assert set(registering.slopes) <= set(versions)
    # and the newest version registered loads and predicts its own slope
    assert loaded is not None
    assert loaded.predict(np.array([[2.0]]))[0] == pytest.approx(2 * registering.slopes[newest])
    direct = load_settings(
        home=tmp_path / ".check", db_url=durable_db_url, artifacts_uri=str(blobs)
    )
    report = maintenance.fsck(direct)
    assert report.ok, report.problems
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log, log[-3000:]
