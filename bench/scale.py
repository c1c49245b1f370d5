"""How Shipyard's cost grows on PostgreSQL as the work grows (no comparison).

Run with ``uv run --all-extras python bench/scale.py`` (``--quick`` for a smoke run with tiny
sizes). A throwaway PostgreSQL cluster is started from the system binaries the way the test
suite starts its own (``tests/support/services.py``: fsync off, a free loopback port), and
deleted after. Four curves, each printed with its growth factor (last size over first):

- **search**: ``shipyard.search_runs`` with a filter and an order (the query of
  ``bench/tracking.py``: ``metrics.m0 > 0.5 and params.p0 = 'a'`` ordered by
  ``metrics.m1 desc``, a page of 100 runs as a DataFrame) over 10k, 100k and 1M runs of one
  experiment, embedded on PostgreSQL. Median of ``--repeat`` after one warm-up. The plan of
  the id query (``EXPLAIN ANALYZE``) at each size goes to the JSON. Target: 1M within 3x of 10k.
- **logging**: points per second logged with ``sync_logging=True`` (one request per
  ``log_metric``) by 1, 4 and 16 concurrent client processes through one ``shipyard server``
  on that PostgreSQL, for ``--log-seconds`` each. The CPU the machine had to spare is
  recorded beside it, and the CPU one request costs the server, PostgreSQL and a client:
  what the machine's cores allow at most (the ceiling a curve can reach), and the database
  sessions opened during the round (a pool that closes and reopens connections shows
  there). Target: 16 clients at least 8x one client.
- **registry**: ``list_model_versions`` of one model with 1k and 10k versions.
- **lineage**: an upstream walk of depth 10 over 10k and 1M edges (chains of 10 edges).

Seeding is set-up and not measured: rows go straight into the store's tables with COPY
(``bench/_scale_seed.py``). The table goes to stdout, progress to stderr, every raw number
and plan to ``bench/.work/scale.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
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
CHILD = HERE / "_scale_child.py"
EXPERIMENT = "scale"
MODEL = "scale-model"
SEARCH = {
    "filter": "metrics.m0 > 0.5 and params.p0 = 'a'",
    "order_by": ["metrics.m1 desc"],
    "limit": 100,
}
DEPTH = 10
FULL = {
    "runs": [10_000, 100_000, 1_000_000],
    "clients": [1, 4, 16],
    "versions": [1_000, 10_000],
    "edges": [10_000, 1_000_000],
    "repeat": 30,
    "log_seconds": 10.0,
}
QUICK = {
    "runs": [500, 2_000],
    "clients": [1, 2],
    "versions": [50, 200],
    "edges": [200, 2_000],
    "repeat": 3,
    "log_seconds": 1.0,
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """The URL of a fresh database on a throwaway cluster, started like the test suite's."""
    from tests.support import services

    with contextlib.contextmanager(services.postgres_url.__wrapped__)() as url:
        yield url


def open_client(home: Path, db_url: str) -> Any:
    """Shipyard's default client, embedded on ``db_url`` (migrated on first use)."""
    import shipyard

    return shipyard.configure(home=str(home), db_url=db_url, capture_environment=False)


def median_ms(fn: Callable[[], Any], repeat: int) -> tuple[float, list[float]]:
    """Median wall milliseconds of ``fn`` over ``repeat`` calls, after one warm-up call."""
    fn()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - started) * 1e3)
    return statistics.median(timings), timings


#: The database server's processes, found by ``watch_database``: their CPU time is added to
#: the caller's in ``cpu_ms``.
DATABASE_PROCESSES: list[Any] = []


def watch_database(url: str) -> None:
    """Remember the processes of the PostgreSQL server listening on ``url``'s port."""
    import psutil
    from sqlalchemy.engine import make_url

    port = make_url(url).port
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
            DATABASE_PROCESSES[:] = [psutil.Process(conn.pid)]
            return


def _database_cpu() -> float:
    """CPU seconds used so far by the database server and its backends."""
    import psutil

    total = 0.0
    for root in DATABASE_PROCESSES:
        with contextlib.suppress(psutil.Error):
            for proc in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    times = proc.cpu_times()
                    total += times.user + times.system
    return total


def cpu_ms(fn: Callable[[], Any], repeat: int) -> float:
    """Mean CPU milliseconds of one call of ``fn``: this process plus the database server.
    Unlike wall time, it hardly moves with the load other jobs put on the machine (only
    through cache and frequency effects), so curves measured minutes apart compare."""
    fn()
    client, server = time.process_time(), _database_cpu()
    for _ in range(repeat):
        fn()
    used = (time.process_time() - client) + (_database_cpu() - server)
    return used * 1e3 / repeat


def search_once(experiment: str = EXPERIMENT) -> Any:
    """The measured search: one page of 100 runs as a DataFrame."""
    import shipyard

    return shipyard.search_runs(
        experiment, filter=SEARCH["filter"], order_by=SEARCH["order_by"], limit=SEARCH["limit"]
    )


def id_query_plan(client: Any, experiment_id: str) -> str:
    """``EXPLAIN ANALYZE`` (PostgreSQL) or ``EXPLAIN QUERY PLAN`` (SQLite) of the statements
    the store runs to find the page's ids."""
    import sqlalchemy as sa

    from shipyard.store import search_db

    engine = client.store.engine
    statements: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        if not str(args[2]).lstrip().upper().startswith(("BEGIN", "SELECT PG_", "SHOW")):
            statements.append((args[2], args[3]))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        with engine.connect() as conn:
            search_db.search_run_ids(
                conn, [experiment_id], SEARCH["filter"], SEARCH["order_by"], 101, 0
            )
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    lines = []
    with engine.connect() as conn:
        explain = "EXPLAIN ANALYZE " if conn.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
        for statement, parameters in statements:
            lines.append(statement)
            rows = conn.exec_driver_sql(explain + statement, parameters).all()
            lines += ["  " + " ".join(str(part) for part in row) for row in rows]
    return "\n".join(lines)


def search_curve(client: Any, sizes: list[int], repeat: int) -> list[dict[str, Any]]:
    """The search timed at each store size, seeding up to it first."""
    experiment = client.store.get_or_create_experiment(EXPERIMENT)
    engine = client.store.engine
    points, seeded = [], 0
    for size in sizes:
        seconds = seed.seed_runs(engine, experiment.id, seeded, size - seeded)
        log(f"seeded {size - seeded:,} runs in {seconds:.1f} s ({size:,} in all)")
        seeded = size
        ms, timings = median_ms(search_once, repeat)
        cpu = cpu_ms(search_once, repeat)
        frame = search_once()
        plan = id_query_plan(client, experiment.id)
        points.append(
            {"size": size, "ms": ms, "cpu_ms": cpu, "timings": timings, "rows": len(frame),
             "plan": plan}
        )  # fmt: skip
        log(
            f"search over {size:>9,} runs: {ms:8.2f} ms wall (median of {repeat}), {cpu:.2f} ms CPU"
        )
    return points


def registry_curve(client: Any, sizes: list[int], repeat: int) -> list[dict[str, Any]]:
    """``list_model_versions`` of one model timed at each number of versions."""
    store = client.store
    model_id = store.create_registered_model(MODEL).id
    points, seeded = [], 0
    for size in sizes:
        seed.seed_model_versions(store.engine, model_id, seeded, size - seeded)
        seeded = size
        versions = store.list_model_versions(MODEL)
        assert len(versions) == size, (len(versions), size)
        ms, timings = median_ms(lambda: store.list_model_versions(MODEL), repeat)
        cpu = cpu_ms(lambda: store.list_model_versions(MODEL), repeat)
        points.append({"size": size, "ms": ms, "cpu_ms": cpu, "timings": timings})
        log(f"list_model_versions, {size:>7,} versions: {ms:8.2f} ms wall, {cpu:.2f} ms CPU")
    return points


def lineage_curve(client: Any, sizes: list[int], repeat: int) -> list[dict[str, Any]]:
    """An upstream walk of depth ``DEPTH`` from the end of a chain, at each number of edges."""
    from shipyard.entities import LineageNode

    store = client.store
    points, chains = [], 0
    for size in sizes:
        wanted = size // DEPTH
        seed.seed_lineage(store.engine, wanted - chains, DEPTH, start=chains)
        chains = wanted
        node = LineageNode(*seed.chain_end(chains // 2, DEPTH))
        edges = store.get_lineage(node, "up")
        assert len(edges) == DEPTH, len(edges)
        ms, timings = median_ms(lambda n=node: store.get_lineage(n, "up"), repeat)
        cpu = cpu_ms(lambda n=node: store.get_lineage(n, "up"), repeat)
        points.append(
            {"size": size, "ms": ms, "cpu_ms": cpu, "timings": timings, "depth": len(edges)}
        )
        log(f"lineage walk, depth {DEPTH}, {size:>9,} edges: {ms:8.2f} ms wall, {cpu:.2f} ms CPU")
    return points


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server(db_url: str, home: Path) -> Iterator[tuple[str, int]]:
    """``shipyard server`` at its defaults on ``db_url``: its URL and process id."""
    import httpx

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(SHIPYARD_HOME=str(home / "server"), SHIPYARD_DB_URL=db_url)
    out = open(home / "server.log", "wb")  # noqa: SIM115
    cmd = [sys.executable, "-m", "shipyard", "server", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"shipyard server did not start; see {home / 'server.log'}")
            time.sleep(0.2)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(30)
        out.close()


def logging_curve(
    db_url: str, home: Path, clients: list[int], seconds: float
) -> list[dict[str, Any]]:
    """Points/s logged by ``n`` concurrent client processes through one server, for each n."""
    import psutil

    points = []
    with server(db_url, home) as (url, pid):
        for n in clients:
            payload = json.dumps({"url": url, "seconds": seconds})
            procs = [
                subprocess.Popen(
                    [sys.executable, str(CHILD), payload],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    env={**os.environ, "SHIPYARD_HOME": str(home / f"client-{n}-{i}")},
                )
                for i in range(n)
            ]
            for proc in procs:  # every client imported and warmed up
                assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            start_at = time.time() + 0.5
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write(f"{start_at}\n")
                proc.stdin.flush()
            time.sleep(max(0.0, start_at - time.time()))
            cpu_before = psutil.cpu_times()
            server_before, db_before = _tree_cpu(pid), _database_cpu()
            sessions_before = _sessions(db_url)
            outputs = [json.loads(p.communicate(timeout=600)[0]) for p in procs]
            cpu_after = psutil.cpu_times()
            server_cpu, db_cpu = _tree_cpu(pid) - server_before, _database_cpu() - db_before
            sessions = max(0, _sessions(db_url) - sessions_before - 1)  # less the reading's own
            total = sum(o["points"] for o in outputs)
            rate = total / seconds
            busy = _busy_fraction(cpu_before, cpu_after)
            point = {
                "size": n,
                "per_second": rate,
                "points": total,
                "cpu_busy": busy,
                "sessions_opened": sessions,
                **_per_request(total, server_cpu, db_cpu, outputs),
                "clients": outputs,
            }
            points.append(point)
            log(
                f"logging, {n:>2} clients: {rate:10,.0f} points/s (machine CPU busy {busy:.0%}); "
                f"CPU ms per request: server {point['server_cpu_ms']:.2f}, PostgreSQL "
                f"{point['db_cpu_ms']:.2f}, client {point['client_cpu_ms']:.2f}; ceiling "
                f"{point['ceiling_per_second']:,.0f}/s; {sessions} database sessions opened"
            )
    return points


def _tree_cpu(pid: int) -> float:
    """CPU seconds used so far by process ``pid`` and its children."""
    import psutil

    total = 0.0
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
    return total


def _sessions(db_url: str) -> int:
    """Sessions PostgreSQL has opened so far (``pg_stat_database.sessions``, all databases;
    this reading opens one); 0 on SQLite (the tests run the curve there too)."""
    import sqlalchemy as sa

    if not db_url.startswith("postgresql"):
        return 0
    engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
            return int(conn.exec_driver_sql("SELECT sum(sessions) FROM pg_stat_database").scalar())
    finally:
        engine.dispose()


def _per_request(
    points: int, server_cpu: float, db_cpu: float, clients: list[dict[str, Any]]
) -> dict[str, float]:
    """CPU milliseconds one request cost the server, PostgreSQL and its client, and the
    rate the machine's cores allow at most when every request costs their sum (nothing else
    running); the server alone, one process, cannot go past one core (its ceiling)."""
    requests = max(points, 1)
    client_cpu = sum(c["cpu_seconds"] for c in clients)
    per = {
        "server_cpu_ms": server_cpu * 1e3 / requests,
        "db_cpu_ms": db_cpu * 1e3 / requests,
        "client_cpu_ms": client_cpu * 1e3 / requests,
    }
    total_ms = sum(per.values())
    cores = os.cpu_count() or 1
    return {
        **per,
        "ceiling_per_second": cores * 1e3 / total_ms if total_ms else 0.0,
        "server_ceiling_per_second": 1e3 / per["server_cpu_ms"] if server_cpu else 0.0,
    }


def _busy_fraction(before: Any, after: Any) -> float:
    """The share of the machine's CPU time (all cores) spent busy between two readings."""
    idle = (after.idle + getattr(after, "iowait", 0)) - (before.idle + getattr(before, "iowait", 0))
    total = sum(after) - sum(before)
    return 0.0 if total <= 0 else 1 - idle / total


def growth(points: list[dict[str, Any]], key: str = "ms") -> float:
    """The last point's value over the first's."""
    return float(points[-1][key] / points[0][key])


def render(results: dict[str, Any]) -> str:
    lines = []
    for name, unit, key in (
        ("search", "runs", "ms"),
        ("registry", "versions", "ms"),
        ("lineage", "edges", "ms"),
        ("logging", "clients", "per_second"),
    ):
        curve = results.get(name)
        if not curve:
            continue
        cells = []
        for p in curve:
            value = f"{p[key]:,.0f} points/s" if key == "per_second" else f"{p[key]:,.2f} ms"
            cells.append(f"{p['size']:,} {unit}: {value}")
        size_growth = curve[-1]["size"] / curve[0]["size"]
        lines.append(
            f"{name:9} {' | '.join(cells)} | growth {growth(curve, key):.2f}x "
            f"for {size_growth:g}x the {unit}"
        )
        if "cpu_ms" in curve[0]:
            cpu = " | ".join(f"{p['size']:,} {unit}: {p['cpu_ms']:,.2f} ms" for p in curve)
            lines.append(f"{'  CPU':9} {cpu} | growth {growth(curve, 'cpu_ms'):.2f}x")
    for label, ok in results.get("targets", {}).items():
        lines.append(f"target {label}: {'pass' if ok else 'MISS'}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, not a result")
    p.add_argument(
        "--only",
        default="search,logging,registry,lineage",
        help="comma-separated curves to measure (search, logging, registry, lineage)",
    )
    p.add_argument("--out", type=Path, default=WORK_DIR / "scale.json", help="the JSON output")
    for name in ("runs", "clients", "versions", "edges"):
        p.add_argument(f"--{name}", type=_sizes, help=f"comma-separated {name} (overrides)")
    p.add_argument("--repeat", type=int, help="timed calls per point (overrides)")
    p.add_argument("--log-seconds", type=float, help="seconds per logging round (overrides)")
    args = p.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    return args


def _sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # a SIGTERM unwinds like Ctrl-C, so the cluster and the server are stopped and deleted
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    only = set(args.only.split(","))
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"load_before": os.getloadavg(), "args": vars(args) | {"out": ""}}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="scale-", dir=WORK_DIR) as tmp, postgres() as url:
        home = Path(tmp)
        watch_database(url)
        client = open_client(home / "embedded", url)
        if "search" in only:
            results["search"] = search_curve(client, args.runs, args.repeat)
        if "registry" in only:
            results["registry"] = registry_curve(client, args.versions, args.repeat)
        if "lineage" in only:
            results["lineage"] = lineage_curve(client, args.edges, args.repeat)
        if "logging" in only:
            results["logging"] = logging_curve(url, home, args.clients, args.log_seconds)
        client.close()
    results["load_after"] = os.getloadavg()
    results["seconds"] = time.perf_counter() - started
    targets = {}
    if "search" in results:
        targets["search at the largest size within 3x of the smallest (CPU)"] = (
            growth(results["search"], "cpu_ms") <= 3
        )
    if "logging" in results and len(results["logging"]) > 1:
        scaling = growth(results["logging"], "per_second")
        clients = results["logging"][-1]["size"] / results["logging"][0]["size"]
        targets[f"logging with {clients:g}x the clients at least {clients / 2:g}x"] = (
            scaling >= clients / 2
        )
    results["targets"] = targets
    args.out.write_text(json.dumps(results, indent=2, default=str))
    print(render(results))
    load = results["load_before"], results["load_after"]
    print(f"load average (1, 5, 15 min) before {load[0]}, after {load[1]}")
    print(f"{results['seconds']:.0f} s; raw numbers and plans in {args.out}")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
