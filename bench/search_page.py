"""Where the time of one search page goes, and its floor (no comparison; issue 20).

``shipyard.search_runs`` of ``bench/tracking.py``'s query (``metrics.m0 > 0.5 and params.p0 =
'a'`` ordered by ``metrics.m1 desc``, a page of 100 runs as a DataFrame), embedded, over
stores of several sizes on SQLite and (``--postgres``) on a throwaway PostgreSQL cluster
started the way the tests start theirs. For each store, CPU milliseconds of this process
(``time.process_time``, median of ``--repeat`` after a warm-up; on PostgreSQL the server's
share is not in it, so wall milliseconds are printed beside) of:

- ``experiment``: the experiment looked up by name;
- ``ids``: the page's run ids (``search_run_ids``);
- ``load``: their runs, params, tags and latest metrics (``load_runs``);
- ``frame``: the DataFrame of the loaded page (``runs_to_frame``);
- ``search_runs``: all of it through the SDK, as a user calls it;

and the floor the page cannot go under with these statements and this frame:

- ``floor_sql``: the same statements on a bare driver connection (no SQLAlchemy, no
  records): the id query and the loading statements, rows fetched as tuples;
- ``floor_frame``: ``pandas.DataFrame`` of the page's columns already built (typed arrays).

On SQLite, ``sqlite_defaults`` and ``sqlite_set`` are ``search_runs`` again, on the pooled
connection set back to SQLite's own page cache settings (no memory map, a 2 MiB cache) and
then to Shipyard's (``SQLITE_PRAGMAS``), alternating in batches of 10 calls so both see the
same load: what the connection settings alone are worth, whatever the other engineers run.

``--profile`` prints cProfile's top functions of ``search_runs`` at each size. Seeding goes
straight into the tables (``bench/_scale_seed.py``), growing one store size by size; it is
not measured. Numbers to ``bench/.work/search_page.json``.

    uv run --all-extras python bench/search_page.py                      # SQLite 2k, 10k, 100k
    uv run --all-extras python bench/search_page.py --postgres --sizes 2000,10000
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import math
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import _scale_seed as seed  # noqa: E402

WORK_DIR = HERE / ".work"
EXPERIMENT = "page"
FILTER = "metrics.m0 > 0.5 and params.p0 = 'a'"
ORDER = ["metrics.m1 desc"]
LIMIT = 100


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measure(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    """Median CPU and wall milliseconds of ``fn`` over ``repeat`` calls, after a warm-up."""
    fn()
    cpu, wall = [], []
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return {"cpu_ms": statistics.median(cpu) * 1e3, "wall_ms": statistics.median(wall) * 1e3}


@contextlib.contextmanager
def database(backend: str, tmp: Path) -> Iterator[str]:
    """A database URL: a SQLite file, or a fresh database on a throwaway PostgreSQL cluster."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'page.db'}"
        return
    from tests.support import services

    with contextlib.contextmanager(services.postgres_url.__wrapped__)() as url:
        yield url


def page_parts(client: Any, repeat: int, profile: bool) -> dict[str, Any]:
    """The measurements of one store (see the module docstring)."""
    import shipyard
    from shipyard.entities import RunPage
    from shipyard.store import search_db, tracking_db
    from shipyard.tracking import runs_to_frame

    store = client.store
    engine = store.engine
    experiment = store.get_experiment_by_name(EXPERIMENT).id

    def ids() -> list[str]:
        with engine.connect() as conn, conn.begin():
            found: list[str] = search_db.search_run_ids(
                conn, [experiment], FILTER, ORDER, LIMIT + 1, 0
            )
            return found

    page_ids = ids()[:LIMIT]

    def load() -> Any:
        with engine.connect() as conn, conn.begin():
            return tracking_db.load_runs(conn, page_ids)

    page = RunPage(load(), None)

    def search() -> Any:
        return shipyard.search_runs(EXPERIMENT, filter=FILTER, order_by=ORDER, limit=LIMIT)

    frame = search()
    assert list(frame["run_id"]) == page_ids, "the SDK's page differs from the parts' page"
    result: dict[str, Any] = {
        "experiment": measure(lambda: store.get_experiment_by_name(EXPERIMENT), repeat),
        "ids": measure(ids, repeat),
        "load": measure(load, repeat),
        "frame": measure(lambda: runs_to_frame(page), repeat),
        "search_runs": measure(search, repeat),
        **floors(engine, experiment, page_ids, frame, repeat),
    }
    if engine.dialect.name == "sqlite":
        result |= settings_ab(engine, search, repeat)
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(repeat):
            search()
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(25)
    return result


def floors(engine: Any, experiment: str, page_ids: list[str], frame: Any, repeat: int) -> Any:
    """``floor_sql`` and ``floor_frame`` (see the module docstring)."""
    import pandas as pd

    from shipyard.store import RUN_COLUMNS

    with engine.connect() as conn:  # the search statement, as the driver receives it
        raw = conn.connection.dbapi_connection
        postgres = engine.dialect.name == "postgresql"
        mark = "%s" if postgres else "?"
        match = f"= ANY({mark})" if postgres else f"IN ({', '.join([mark] * len(page_ids))})"
        ids: tuple[Any, ...] = (page_ids,) if postgres else tuple(page_ids)
        columns = ", ".join(f'"{c}"' for c in RUN_COLUMNS)
        statements = [(f"SELECT {columns} FROM runs WHERE id {match}", ids)] + [
            (f'SELECT run_id, "key", value FROM {table} WHERE run_id {match}', ids)
            for table in ("params", "run_tags", "latest_metrics")
        ]
        walk_sql, walk_params = search_statement(engine, experiment)
        cursor = raw.cursor()
        cursor.execute(walk_sql, walk_params)
        walked = [row[0] for row in cursor.fetchall()][:LIMIT]
        assert walked == page_ids, "the bare walk's page differs"

        def bare() -> None:
            cursor = raw.cursor()
            cursor.execute(walk_sql, walk_params)
            cursor.fetchall()
            for sql, params in statements:
                cursor.execute(sql, params)
                cursor.fetchall()
            cursor.close()

        floor_sql = measure(bare, repeat)
        conn.rollback()
    built = {name: frame[name].array for name in frame.columns}
    floor_frame = measure(lambda: pd.DataFrame(built), repeat)
    return {"floor_sql": floor_sql, "floor_frame": floor_frame}


#: SQLite's own values of the settings ``SQLITE_PRAGMAS`` changes for the page cache.
SQLITE_DEFAULTS = {"mmap_size": "0", "cache_size": "-2000", "temp_store": "DEFAULT"}


def settings_ab(engine: Any, search: Callable[[], Any], repeat: int) -> dict[str, Any]:
    """``sqlite_defaults`` and ``sqlite_set`` (see the module docstring): ``search`` with the
    pooled connection (LIFO: one thread gets the same one back) set to SQLite's page cache
    settings, then to Shipyard's, in alternating batches."""
    from shipyard.store._engine import SQLITE_PRAGMAS

    def set_to(pragmas: dict[str, str]) -> None:
        with engine.connect() as conn:  # on the driver: no transaction (temp_store needs none)
            raw = conn.connection.dbapi_connection
            for name, value in pragmas.items():
                raw.execute(f"PRAGMA {name} = {value}")

    ours = {name: SQLITE_PRAGMAS[name] for name in SQLITE_DEFAULTS}
    cpu: dict[str, list[float]] = {"sqlite_defaults": [], "sqlite_set": []}
    for _ in range(max(1, repeat // 10)):
        for part, pragmas in (("sqlite_defaults", SQLITE_DEFAULTS), ("sqlite_set", ours)):
            set_to(pragmas)
            search()  # the first call after a change warms the cache it now has
            for _ in range(10):
                c = time.process_time()
                search()
                cpu[part].append(time.process_time() - c)
    return {
        part: {"cpu_ms": statistics.median(xs) * 1e3, "wall_ms": math.nan}
        for part, xs in cpu.items()
    }


def search_statement(engine: Any, experiment: str) -> tuple[str, Any]:
    """The id query Shipyard sends for this search, as the driver receives it (its SQL text
    and parameters), caught on its way to the driver: the floor runs the same plan."""
    from shipyard.store import _driver, search_db

    sent: list[tuple[str, Any]] = []
    send = _driver.fetch_rows

    def catch(conn: Any, sql: str, params: Any) -> Any:
        sent.append((sql, params))
        return send(conn, sql, params)

    _driver.fetch_rows = catch  # type: ignore[assignment]
    try:
        with engine.connect() as conn:
            search_db.search_run_ids(conn, [experiment], FILTER, ORDER, LIMIT + 1, 0)
    finally:
        _driver.fetch_rows = send
    return sent[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000,10000,100000", help="runs in the store")
    parser.add_argument("--repeat", type=int, default=200, help="timed calls per part")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL, not SQLite")
    parser.add_argument("--profile", action="store_true", help="cProfile of search_runs")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    backend = "postgres" if args.postgres else "sqlite"
    import shipyard

    WORK_DIR.mkdir(exist_ok=True)
    results: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="page-", dir=WORK_DIR) as tmp,
        database(backend, Path(tmp)) as url,
    ):
        client = shipyard.configure(home=tmp, db_url=url, capture_environment=False)
        experiment = client.store.create_experiment(EXPERIMENT).id
        seeded = 0
        for size in sizes:
            log(f"{backend}: seeding runs {seeded:,} .. {size:,}")
            seed.seed_runs(client.store.engine, experiment, seeded, size - seeded)
            seeded = size
            log(f"{backend}: measuring {size:,} runs")
            results[str(size)] = page_parts(client, args.repeat, args.profile)
    parts = ["experiment", "ids", "load", "frame", "search_runs", "floor_sql", "floor_frame"]
    parts += [p for p in ("sqlite_defaults", "sqlite_set") if p in next(iter(results.values()))]
    print(f"{backend}, CPU ms of this process (wall ms), median of {args.repeat}")
    print("runs".rjust(10) + "".join(p.rjust(16) for p in parts))
    for size, row in results.items():
        cells = "".join(
            f"{row[p]['cpu_ms']:.2f} ({row[p]['wall_ms']:.2f})".rjust(16) for p in parts
        )
        print(f"{int(size):>10,}{cells}")
    out = WORK_DIR / "search_page.json"
    out.write_text(json.dumps({"backend": backend, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
