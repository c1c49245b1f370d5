"""Every SQLite connection Shipyard opens, embedded or in the server, reads the file through
a memory map with a larger page cache (``SQLITE_PRAGMAS``), and the pool hands out the
connection returned last (its cache is warm). The map never serves a stale page: what
another connection commits and checkpoints is what the next search reads."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event

from shipyard.client import LocalStore
from shipyard.config import Settings
from shipyard.entities import MetricPoint
from shipyard.store import connect, get_engine
from shipyard.store._engine import SQLITE_PRAGMAS
from tests.support.server import LiveServer

_NAMES = ("journal_mode", "synchronous", "foreign_keys", "mmap_size", "cache_size", "temp_store")
#: How SQLite reports each value it was set to (the enumerations as their numbers).
_EXPECTED = {
    "journal_mode": "wal",
    "synchronous": 1,  # NORMAL
    "foreign_keys": 1,
    "mmap_size": 256 * 1024 * 1024,
    "cache_size": -16 * 1024,
    "temp_store": 2,  # MEMORY
}


def _settings_of(dbapi_connection: Any) -> dict[str, Any]:
    cursor = dbapi_connection.cursor()
    try:
        return {name: cursor.execute(f"PRAGMA {name}").fetchone()[0] for name in _NAMES}
    finally:
        cursor.close()


@pytest.fixture
def opened(sqlite_settings: Settings) -> Iterator[tuple[Engine, list[dict[str, Any]]]]:
    """The store's engine with no connection open yet, and the settings of each connection
    it opens from now on (read as it is opened, after Shipyard's own set-up)."""
    engine = get_engine(sqlite_settings.db_url)
    engine.dispose()
    seen: list[dict[str, Any]] = []

    def record(dbapi_connection: Any, _record: Any) -> None:
        seen.append(_settings_of(dbapi_connection))

    event.listen(engine, "connect", record)
    yield engine, seen
    event.remove(engine, "connect", record)


def test_the_settings_are_the_documented_ones() -> None:
    assert set(SQLITE_PRAGMAS) == set(_NAMES)


def test_every_connection_of_the_pool_gets_the_settings(
    opened: tuple[Engine, list[dict[str, Any]]],
) -> None:
    engine, seen = opened
    held = [connect(engine) for _ in range(3)]  # three at once: three connections
    for conn in held:
        conn.close()
    assert seen == [_EXPECTED] * 3


def test_the_servers_connections_get_the_settings(
    live_server: LiveServer,
    sqlite_settings: Settings,
    opened: tuple[Engine, list[dict[str, Any]]],
) -> None:
    store = LocalStore(sqlite_settings)
    experiment = store.create_experiment("e").id
    live_server.serve(store)
    engine, seen = opened
    engine.dispose()  # the create above opened one before the server ran a request
    seen.clear()
    body = {"experiment_ids": [experiment], "filter": "metrics.m > 0.5", "limit": 10}

    def search(_: int) -> int:
        with httpx.Client(base_url=live_server.url + "/api/v1") as http:
            return http.post("/runs/search", json=body).status_code

    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(search, range(16))) == {200}
    assert seen  # the server's requests opened connections, each set up
    assert all(settings == _EXPECTED for settings in seen)


def test_the_pool_hands_out_the_connection_returned_last(
    opened: tuple[Engine, list[dict[str, Any]]],
) -> None:
    engine, _ = opened
    first, second = connect(engine), connect(engine)
    warm = second.connection.dbapi_connection
    first.close()
    second.close()  # returned last: its page cache holds what it just read
    with connect(engine) as again:
        assert again.connection.dbapi_connection is warm


def test_a_search_reads_what_another_connection_committed_and_checkpointed(
    sqlite_settings: Settings,
) -> None:
    store = LocalStore(sqlite_settings)
    experiment = store.create_experiment("e").id
    run = store.create_run(experiment, "r").id
    store.log_batch(run, metrics=[MetricPoint("m", 0.1, 0, 1)])
    assert store.search_runs([experiment], "metrics.m > 0.5").runs == []  # pages now mapped
    path = sqlite_settings.db_url.removeprefix("sqlite:///")
    with closing(sqlite3.connect(path)) as other:  # as another process would
        other.execute("UPDATE latest_metrics SET value = 0.9 WHERE run_id = ?", (run,))
        other.commit()
        other.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # into the mapped file itself
    found = store.search_runs([experiment], "metrics.m > 0.5").runs
    assert [r.id for r in found] == [run]
    assert found[0].metrics == {"m": 0.9}
