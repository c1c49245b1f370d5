"""The PostgreSQL connection pool keeps the connections it opens: a burst of concurrent
requests (a server with many clients) reuses PostgreSQL sessions instead of opening one per
request beyond the first five."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from shipyard.store import connect, get_engine
from shipyard.store._engine import PG_POOL_SIZE


@pytest.mark.postgres
def test_a_postgresql_pool_keeps_every_connection_it_opens(postgres_db_url: str) -> None:
    engine = get_engine(postgres_db_url)
    opened: list[object] = []
    event.listen(engine, "connect", lambda dbapi_connection, _record: opened.append(1))
    for burst in range(3):
        held = [connect(engine) for _ in range(PG_POOL_SIZE)]  # as many requests at once
        for conn in held:
            conn.close()
        if burst == 0:
            first = len(opened)
    assert first <= PG_POOL_SIZE
    assert len(opened) == first  # the later bursts opened no new session
    engine.dispose()
