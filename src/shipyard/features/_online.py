"""Online stores: the latest feature values per entity, for low-latency lookups.

Two implementations of one small protocol: SQLite (a file under the Shipyard home, the
default; one connection per thread) and Redis (the ``redis`` extra). Each row is an entity
key, the event time of its values (epoch µs) and the values as JSON. A write never replaces
newer values with older ones, so materializing windows out of order is safe.

Redis is a server that can hang as well as go away: its calls are bounded by
``online_store_timeout`` (connecting and each answer; materialization writes wait up to
10 s, a batch being larger than a lookup) and are never repeated (a lookup is on a request's
latency path). A call that times out opens a circuit (``_circuit.py``): for the next few
seconds every call fails at once with ServiceUnavailable, then one call tries Redis again.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import orjson

from shipyard.config import Settings
from shipyard.errors import ConfigError, ServiceUnavailable
from shipyard.features._circuit import OPEN_SECONDS, Circuit, CircuitOpen

Row = tuple[str, int, bytes]  # entity key, event time (epoch µs), values JSON
_T = TypeVar("_T")


def encode_key(values: Sequence[Any]) -> str:
    """The online key of an entity: its join-key values as a JSON array."""
    return orjson.dumps(list(values), option=orjson.OPT_SERIALIZE_NUMPY).decode()


class OnlineStore(Protocol):
    """Where materialized features are read from at serving time."""

    url: str

    def write(self, view: str, rows: Iterable[Row]) -> int: ...
    def read(self, view: str, keys: Sequence[str]) -> dict[str, tuple[int, bytes]]: ...
    def close(self) -> None: ...


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS feature_rows (view TEXT NOT NULL, key TEXT NOT NULL, "
    "ts INTEGER NOT NULL, value BLOB NOT NULL, PRIMARY KEY (view, key)) WITHOUT ROWID"
)
_UPSERT = (
    "INSERT INTO feature_rows (view, key, ts, value) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (view, key) DO UPDATE SET ts = excluded.ts, value = excluded.value "
    "WHERE excluded.ts >= feature_rows.ts"
)


class SqliteOnlineStore:
    """The default online store: one SQLite file (WAL), one connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn().execute(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
        return conn

    def write(self, view: str, rows: Iterable[Row]) -> int:
        conn = self._conn()
        batch = [(view, key, ts, value) for key, ts, value in rows]
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(_UPSERT, batch)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return len(batch)

    def read(self, view: str, keys: Sequence[str]) -> dict[str, tuple[int, bytes]]:
        if not keys:
            return {}
        conn = self._conn()
        if len(keys) == 1:
            found = conn.execute(
                "SELECT key, ts, value FROM feature_rows WHERE view = ? AND key = ?",
                (view, keys[0]),
            ).fetchall()
        else:
            marks = ",".join("?" * len(keys))
            found = conn.execute(
                f"SELECT key, ts, value FROM feature_rows WHERE view = ? AND key IN ({marks})",
                (view, *keys),
            ).fetchall()
        return {key: (ts, value) for key, ts, value in found}

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


# Keep newer values: the stored value starts with "<event time>|". One call writes a batch:
# KEYS are the entity keys, ARGV their event times and values in pairs.
_WRITE_IF_NEWER = """
local written = 0
for i, key in ipairs(KEYS) do
  local ts = tonumber(ARGV[2 * i - 1])
  local cur = redis.call('GET', key)
  local old = cur and tonumber(string.match(cur, '^(-?%d+)|'))
  if not (old and old > ts) then
    redis.call('SET', key, ARGV[2 * i])
    written = written + 1
  end
end
return written
"""
#: Rows per script call, and calls per pipeline round trip.
_SCRIPT_ROWS, _PIPELINE_CALLS = 500, 8
#: Seconds a materialization write may wait for Redis's answer (at least the timeout).
_WRITE_SECONDS = 10.0


class RedisOnlineStore:
    """Features in Redis: one string per (view, entity), ``"<event µs>|<values JSON>"``.

    ``timeout`` bounds connecting and each lookup's answer, in seconds; after a timeout the
    calls of the next few seconds fail at once (see the module's docstring).
    """

    def __init__(self, url: str, prefix: str = "shipyard:features", timeout: float = 1.0) -> None:
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError:
            raise ConfigError(
                "the Redis online store needs the redis extra: `pip install 'shipyard[redis]'`",
                field="online_store",
            ) from None
        self.url = url
        self.prefix = prefix
        self.timeout = timeout

        def client(read_timeout: float) -> Any:
            return redis.Redis.from_url(
                url,
                socket_connect_timeout=timeout,
                socket_timeout=read_timeout,
                retry=Retry(NoBackoff(), 0),  # redis-py would repeat a call 10 times
            )

        self._reader = client(timeout)
        self._writer = client(max(timeout, _WRITE_SECONDS))
        self._script = self._writer.register_script(_WRITE_IF_NEWER)
        self._circuit = Circuit()
        self._errors = (redis.RedisError,)
        self._timeouts = (redis.TimeoutError,)

    def _key(self, view: str, key: str) -> str:
        return f"{self.prefix}:{view}:{key}"

    def _call(self, call: Callable[[], _T]) -> _T:
        """``call()`` unless the circuit is open; Redis's failures become ServiceUnavailable
        naming it, and a timeout opens the circuit."""
        try:
            self._circuit.before()
        except CircuitOpen as exc:
            raise ServiceUnavailable(
                f"Redis online store {self.url}: did not answer within {self.timeout:g}s "
                f"moments ago; {exc} (SHIPYARD_ONLINE_STORE_TIMEOUT)"
            ) from None
        try:
            found = call()
        except self._timeouts as exc:
            self._circuit.timed_out()
            raise ServiceUnavailable(
                f"Redis online store {self.url}: no answer within {self.timeout:g}s ({exc}); "
                f"calls fail at once for the next {OPEN_SECONDS:g}s "
                "(SHIPYARD_ONLINE_STORE_TIMEOUT)"
            ) from None
        except self._errors as exc:
            self._circuit.answered()  # it failed, but fast: not hung
            raise ServiceUnavailable(f"Redis online store {self.url}: {exc}") from None
        except BaseException:
            self._circuit.answered()  # never leave a probe out
            raise
        self._circuit.answered()
        return found

    def write(self, view: str, rows: Iterable[Row]) -> int:
        def send() -> int:
            count = 0
            pipe = self._writer.pipeline(transaction=False)
            keys: list[str] = []
            args: list[int | bytes] = []
            for key, ts, value in rows:
                keys.append(self._key(view, key))
                args += [ts, b"%d|" % ts + value]
                count += 1
                if len(keys) == _SCRIPT_ROWS:
                    self._script(keys=keys, args=args, client=pipe)
                    keys, args = [], []
                    if len(pipe) >= _PIPELINE_CALLS:
                        pipe.execute()
            if keys:
                self._script(keys=keys, args=args, client=pipe)
            pipe.execute()
            return count

        return self._call(send)

    def read(self, view: str, keys: Sequence[str]) -> dict[str, tuple[int, bytes]]:
        if not keys:
            return {}
        found = self._call(lambda: self._reader.mget([self._key(view, k) for k in keys]))
        out: dict[str, tuple[int, bytes]] = {}
        for key, raw in zip(keys, found, strict=True):
            if raw is not None:
                data = raw.encode() if isinstance(raw, str) else bytes(raw)
                ts, _, value = data.partition(b"|")
                out[key] = (int(ts), value)
        return out

    def close(self) -> None:
        self._reader.close()
        self._writer.close()


_stores: dict[str, OnlineStore] = {}
_lock = threading.Lock()


def online_store(settings: Settings) -> OnlineStore:
    """The online store the settings name (opened once per process)."""
    url = settings.online_store or f"sqlite:///{settings.home / 'online.db'}"
    store = _stores.get(url)
    if store is not None:
        return store
    with _lock:
        if url not in _stores:
            if url.startswith(("redis://", "rediss://", "unix://")):
                _stores[url] = RedisOnlineStore(
                    url, f"shipyard:{settings.project}:features", settings.online_store_timeout
                )
            elif url.startswith("sqlite:///"):
                _stores[url] = SqliteOnlineStore(Path(url.removeprefix("sqlite:///")))
            else:
                raise ConfigError(
                    f"online_store {url!r} is not understood; use sqlite:///path or "
                    "redis://host:port/db (SHIPYARD_ONLINE_STORE)",
                    field="online_store",
                )
        return _stores[url]


def close_online_stores() -> None:
    """Close every online store this process opened (tests, shutdown)."""
    with _lock:
        for store in _stores.values():
            store.close()
        _stores.clear()
