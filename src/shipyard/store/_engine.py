"""Engines for the metadata database, and bringing its schema to the newest migration.

SQLite runs in WAL mode with a busy timeout, and every write transaction starts with
``BEGIN IMMEDIATE``: several processes may log to one file at once, and a deferred transaction
that later needs the write lock would fail with "database is locked" instead of waiting.
Every SQLite connection reads the file through a memory map and keeps a larger page cache
(:data:`SQLITE_PRAGMAS`, applied on each new connection, the server's included), and the pool
hands out the connection returned last, so a search reads pages it read a moment ago instead
of asking the OS for each one again.
PostgreSQL needs nothing special; migrations there take an advisory lock so concurrent first
uses do not race. Its pool keeps every connection it opens (up to :data:`PG_POOL_SIZE`; see
there why).

A database server that cannot be reached for a moment (a restart, a fail-over) is waited for:
:func:`connect` retries with back-off for about six seconds before raising
:class:`ServiceUnavailable` naming the database. Only getting a connection is retried here,
since nothing was sent yet; whether a statement that failed midway may be repeated is the
caller's decision (a read may, a write may not: it might have taken effect).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError

from shipyard.config import redact_url
from shipyard.errors import ConfigError, ServiceUnavailable

#: The newest migration. A test checks it equals Alembic's head, so a new migration that
#: forgets to bump it fails CI; comparing against it avoids loading Alembic on every start.
HEAD_REVISION = "0014"

_MIGRATIONS = Path(__file__).parent / "migrations"
_PG_MIGRATION_LOCK = 74_311_730  # an arbitrary constant advisory-lock key
_engines: dict[tuple[str, int], Engine] = {}
_engines_lock = threading.Lock()
#: Seconds slept between attempts to connect to a database server that cannot be reached:
#: 6.3 s in all, about what a PostgreSQL restart takes, before ServiceUnavailable.
CONNECT_RETRY_DELAYS = (0.1, 0.2, 0.4, 0.8, 1.6, 3.2)
#: The most connections a process holds to a PostgreSQL server, all kept once opened (none
#: beyond). SQLAlchemy's default shape, 5 kept and 10 more on demand, closed each of those
#: 10 as soon as it was returned while 5 sat idle: under more than five concurrent requests
#: (a server with many clients) requests kept paying for a new PostgreSQL session, a forked
#: backend and its start-up, instead of reusing one. Connections are opened only when
#: needed, so a process that never has two requests at once still holds one.
PG_POOL_SIZE = 15
#: What every SQLite connection is set to, besides the busy timeout. Measured on a search
#: page over 10,000 and 100,000 runs (bench/README.md, tracking search): with SQLite's
#: defaults (a 2 MiB page cache, no memory map) each search re-read pages of the filter's key
#: tables from the OS, 2-4 ms of system CPU per page; either setting below removes it.
#:
#: - ``mmap_size`` 256 MiB: pages of the database file are read from a memory map, that is
#:   the OS's page cache, shared by every connection and process on the file (no copy per
#:   connection; the address space is reserved, memory is used only by pages read). Writes
#:   are unchanged (WAL: they go to the log, and the checkpoint writes the file as before).
#: - ``cache_size`` 16 MiB (negative: KiB): the private cache of each connection, for pages
#:   the map does not serve (the WAL's newest frames, a file past the map). It grows only as
#:   pages are read: a connection that reads little keeps little.
#: - ``temp_store`` MEMORY: the sorts and temporary indexes of a query (ordering a page by
#:   a param, DISTINCT) stay in memory instead of a temporary file.
SQLITE_PRAGMAS: dict[str, str] = {
    "journal_mode": "WAL",
    "synchronous": "NORMAL",
    "foreign_keys": "ON",
    "mmap_size": str(256 * 1024 * 1024),
    "cache_size": str(-16 * 1024),
    "temp_store": "MEMORY",
}


def connect(engine: Engine) -> Connection:
    """A connection from ``engine``'s pool (checked alive first), retrying with back-off while
    a database server cannot be reached; then :class:`ServiceUnavailable` naming it.

    SQLite is a file, not a server: a failure to open it is not waited out.
    """
    delays = () if engine.dialect.name == "sqlite" else CONNECT_RETRY_DELAYS
    for delay in (*delays, None):
        try:
            return engine.connect()
        except OperationalError as exc:
            if delay is None:
                raise unavailable(engine, exc, attempts=len(delays) + 1) from None
        time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def unavailable(engine: Engine, exc: DBAPIError, *, attempts: int = 1) -> ServiceUnavailable:
    """The error for a database that failed: which database (its URL without the password)
    and the driver's reason in one line, without SQLAlchemy's statement and links."""
    url = redact_url(engine.url.render_as_string(hide_password=False))
    reason = " ".join(str(exc.orig if exc.orig is not None else exc).split())
    tries = f" ({attempts} attempts over {sum(CONNECT_RETRY_DELAYS):.1f}s)" if attempts > 1 else ""
    hint = (
        "check the file, its folder's permissions and free disk space"
        if engine.dialect.name == "sqlite"
        else "check that the database server is running and reachable"
    )
    return ServiceUnavailable(
        f"the metadata database {url} failed{tries}: {reason}; {hint} (SHIPYARD_DB_URL)",
        database=url,
    )


def _sqlite_setup(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        for name, value in SQLITE_PRAGMAS.items():
            cursor.execute(f"PRAGMA {name} = {value}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # straight on the driver's connection: SQLAlchemy's statement machinery (events,
        # result set-up) cost more than the BEGIN itself, and every transaction starts so
        begin = "BEGIN" if conn.get_execution_options().get("readonly") else "BEGIN IMMEDIATE"
        conn.connection.driver_connection.execute(begin)


def get_engine(url: str, *, busy_timeout_ms: int = 30_000) -> Engine:
    """A shared engine for ``url`` whose schema is at the newest migration."""
    key = (url, busy_timeout_ms)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _create(url, busy_timeout_ms)
            upgrade(engine)
            _engines[key] = engine
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (after a fork, or at the end of tests)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _create(url: str, busy_timeout_ms: int) -> Engine:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise ConfigError(
            f"database URL {redact_url(url)!r} is not a valid SQLAlchemy URL; "
            "use sqlite:///path/to/file.db or postgresql+psycopg://user:pw@host/db",
            field="db_url",
        ) from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        pool: dict[str, Any] = {}
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            # a file's pool hands out the connection returned last, whose page cache is warm
            # (FIFO, the default, rotated through every connection a burst had opened)
            pool["pool_use_lifo"] = True
        engine = create_engine(url, connect_args={"check_same_thread": False}, **pool)
        _sqlite_setup(engine, busy_timeout_ms)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "postgresql":
        from shipyard.store._models.tracking import declare_postgresql_forms  # PostgreSQL only

        declare_postgresql_forms()
    try:
        return create_engine(parsed, pool_pre_ping=True, pool_size=PG_POOL_SIZE, max_overflow=0)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise ConfigError(
            f"no database driver for {parsed.drivername!r} ({exc}); for PostgreSQL install "
            "the extra: pip install 'shipyard[postgres]'",
            field="db_url",
        ) from None


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, "alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> None:
    """Migrate the database to the newest schema (a no-op when it is already there)."""
    try:  # not waited for: a first use (or a readiness probe) answers at once
        if current_revision(engine) == HEAD_REVISION:
            return
    except OperationalError as exc:
        raise unavailable(engine, exc) from None
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
