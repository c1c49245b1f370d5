"""Queries for leases: taking, renewing and giving up a named lease in one statement each.

Taking is one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE``: the row is created, or taken
over only when its holder is the caller (a renewal) or it has expired. The database
serialises the two writes of a race on the row (SQLite has one writer; PostgreSQL locks the
row for the conflicting insert), so two callers can never both come out as the holder.
"""

from __future__ import annotations

from sqlalchemy import Connection, case, delete, or_, select

from shipyard.entities import Lease
from shipyard.store._models.leases import LEASES
from shipyard.store._sql import record, upsert


def acquire(conn: Connection, name: str, holder: str, now: int, ttl_ms: int) -> Lease:
    """Take or renew the lease ``name`` for ``holder`` until ``now + ttl_ms`` when it is
    free, expired or already theirs; the lease as it stands afterwards (compare its
    ``holder``)."""
    statement = upsert(conn, LEASES).values(
        name=name, holder=holder, acquired_at=now, expires_at=now + ttl_ms
    )
    fresh = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=["name"],
        set_={
            "holder": fresh.holder,
            # a renewal keeps when the lease was first taken
            "acquired_at": case(
                (LEASES.c.holder == fresh.holder, LEASES.c.acquired_at), else_=fresh.acquired_at
            ),
            "expires_at": fresh.expires_at,
        },
        where=or_(LEASES.c.holder == fresh.holder, LEASES.c.expires_at <= now),
    )
    conn.execute(statement)
    row = conn.execute(select(LEASES).where(LEASES.c.name == name)).one()
    return record(Lease, row)


def release(conn: Connection, name: str, holder: str) -> None:
    """Give up the lease ``name`` if ``holder`` holds it (else nothing happens)."""
    conn.execute(delete(LEASES).where(LEASES.c.name == name, LEASES.c.holder == holder))
