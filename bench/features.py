"""Feature store: Shipyard vs Feast, measured in the same run on this machine.

Run with ``uv run --all-extras python bench/features.py`` (``--help`` for the sizes). Feast is
installed in its own venv under ``bench/.venvs/feast``, never in the project venv. The data
is synthetic: ENTITIES x TIMESTAMPS source rows with 8 float features (Parquet, UTC times,
a created timestamp), and an entity frame of ENTITY_ROWS rows at random times. Every
measurement runs in a fresh subprocess (``bench/_features_child.py``); peak memory is that
process's max RSS. Online lookups run in-process (SQLite, and Redis: a throwaway
``redis-server`` unless ``--redis-url`` names one) and over HTTP, where each tool's server
(``shipyard server``, ``feast serve``, defaults) runs in its own process and one client
process times sequential keep-alive requests. Results go to ``bench/.work/features.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _competitors import WORK_DIR, Competitor, clean_env, run_json

FEAST = Competitor("feast", ("feast[duckdb,redis]==0.67.0",))
CHILD = Path(__file__).resolve().parent / "_features_child.py"
console = Console(stderr=True, width=None if sys.stdout.isatty() else 120)


def make_data(folder: Path, entities: int, stamps: int, entity_rows: int) -> tuple[str, str]:
    """The source (entities x stamps rows) and the entity frame, as Parquet files."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    n = entities * stamps
    start = pd.Timestamp("2024-01-01", tz="UTC")
    times = start + pd.to_timedelta(rng.integers(0, 90 * 86_400, n), unit="s")
    source = pd.DataFrame(
        {
            "entity_id": np.repeat(np.arange(entities, dtype="int64"), stamps),
            "event_timestamp": times,
            "created": times,
            **{f"f{i}": rng.random(n) for i in range(8)},
        }
    )
    entity = pd.DataFrame(
        {
            "entity_id": rng.integers(0, entities, entity_rows),
            "event_timestamp": start
            + pd.to_timedelta(rng.integers(0, 100 * 86_400, entity_rows), unit="s"),
        }
    )
    source.to_parquet(folder / "source.parquet", row_group_size=131_072)
    entity.to_parquet(folder / "entity.parquet")
    return str(folder / "source.parquet"), str(folder / "entity.parquet")


def child(python: Path | str, task: str, env: dict[str, str] | None = None, **args: Any) -> Any:
    console.log(
        f"{task} {json.dumps({k: v for k, v in args.items() if k in ('n', 'offline', 'online')})}"
    )
    return run_json(python, script=CHILD, args=[task, json.dumps(args)], env=env, timeout=3600)


def repeated(python: Path | str, task: str, repeat: int, **args: Any) -> dict[str, Any]:
    """``task`` in ``repeat`` fresh processes: the median seconds, every run's seconds and
    the largest peak memory (the machine is shared, so one run says little)."""
    runs = [child(python, task, **args) for _ in range(repeat)]
    seconds = sorted(r["seconds"] for r in runs)
    out = {**runs[0], "seconds": seconds[len(seconds) // 2], "runs": [r["seconds"] for r in runs]}
    if "peak_mb" in runs[0]:
        out["peak_mb"] = max(r["peak_mb"] for r in runs)
    return out


def ratio(theirs: float, ours: float) -> str:
    return f"{theirs / ours:.1f}x" if ours else "-"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def process(cmd: Sequence[str], ready: str, python: Path | None = None, **kw: Any) -> Iterator[str]:
    """Run a server until the block ends; yields its base URL once ``ready`` answers.
    ``cmd`` may hold ``{port}``."""
    import httpx

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    log = (WORK_DIR / f"server-{port}.log").open("w")
    proc = subprocess.Popen(
        [c.format(port=port) for c in cmd], stdout=log, stderr=subprocess.STDOUT, **kw
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited {proc.returncode}; see {log.name}")
            with contextlib.suppress(httpx.HTTPError):
                if ready.startswith("redis") or httpx.get(url + ready, timeout=2).is_success:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{cmd[0]} did not start; see {log.name}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextlib.contextmanager
def redis_server(url: str) -> Iterator[str]:
    """``url`` if given, else a throwaway ``redis-server`` without persistence ('' if none)."""
    binary = shutil.which("redis-server")
    if url or binary is None:
        yield url
        return
    import redis

    port = free_port()
    workdir = tempfile.mkdtemp()
    cmd = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly"]
    proc = subprocess.Popen(
        [*cmd, "no", "--dir", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(200):
            with contextlib.suppress(redis.RedisError):
                if redis.Redis(port=port).ping():
                    break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--timestamps", type=int, default=100)
    parser.add_argument("--entity-rows", type=int, default=100_000)
    parser.add_argument("--iters", type=int, default=2_000, help="online lookups per case")
    parser.add_argument("--http-iters", type=int, default=10_000)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", ""))
    parser.add_argument("--skip-feast-file", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each offline case")
    parser.add_argument("--only", choices=("offline", "materialize", "online", "http"), nargs="*")
    ns = parser.parse_args(argv)
    with redis_server(ns.redis_url) as redis_url:
        results = run(ns, redis_url, set(ns.only or ("offline", "materialize", "online", "http")))
    (WORK_DIR / "features.json").write_text(json.dumps(results, indent=2))
    render(results)
    return 0


def run(ns: argparse.Namespace, redis_url: str, parts: set[str]) -> dict[str, Any]:
    ours = sys.executable
    feast = FEAST.ensure()
    work = WORK_DIR / "features"
    shutil.rmtree(work, ignore_errors=True)
    source, entity = make_data(work / "data", ns.entities, ns.timestamps, ns.entity_rows)
    results: dict[str, Any] = {"sizes": vars(ns), "load_before": os.getloadavg()}

    if "offline" in parts:
        r, data = ns.repeat, {"source": source, "entity": entity}
        off = {
            "shipyard": repeated(ours, "shipyard_offline", r, **data),
            "duckdb ASOF floor": repeated(ours, "floor_offline", r, **data),
            "feast duckdb": repeated(feast, "feast_offline", r, offline="duckdb", **data),
        }
        if not ns.skip_feast_file:
            off["feast file"] = repeated(feast, "feast_offline", r, offline="file", **data)
        results["offline"] = off

    # Each materialization run writes into a fresh online store (Redis: one database per
    # tool, rewritten each run); the last run's stores serve the online lookups.
    homes: dict[str, Path] = {}

    def fresh(name: str) -> str:
        homes[name] = Path(tempfile.mkdtemp()) / ("repo" if "feast" in name else ".shipyard")
        return str(homes[name])

    feast_redis = redis_url[: redis_url.rfind("/")] + "/1" if redis_url else ""
    cases = [
        ("shipyard sqlite", ours, "shipyard_materialize", ""),
        ("feast sqlite", feast, "feast_materialize", ""),
    ]
    if redis_url:
        cases += [
            ("shipyard redis", ours, "shipyard_materialize", redis_url),
            ("feast redis", feast, "feast_materialize", feast_redis),
        ]
    mat = {}
    for name, python, task, url in cases:
        runs = [
            child(python, task, source=source, home=fresh(name), online=url)
            for _ in range(ns.repeat)
        ]
        seconds = sorted(r["seconds"] for r in runs)
        mat[name] = {**runs[-1], "seconds": seconds[len(seconds) // 2], "runs": seconds}
    results["materialize"] = mat

    online: dict[str, Any] = {}
    common = {"entities": ns.entities, "iters": ns.iters}
    home, feast_repo = homes["shipyard sqlite"], homes["feast sqlite"]
    stores = [("sqlite", "", feast_repo)]
    if redis_url:
        stores.append(("redis", redis_url, homes["feast redis"]))
    if "online" in parts:
        for n in (1, 100):
            for label, url, repo in stores:
                online[f"shipyard {label} n={n}"] = child(
                    ours, "shipyard_online", home=str(home), n=n, online=url, **common
                )
                online[f"feast {label} n={n}"] = child(
                    feast, "feast_online", home=str(repo), n=n, **common
                )
                floor = "redis_floor" if url else "sqlite_floor"
                online[f"floor: plain {label} n={n}"] = child(
                    ours, floor, home=str(home), n=n, online=url, **common
                )
    if "http" in parts:
        http = {"entities": ns.entities, "iters": ns.http_iters}
        env = clean_env(Path(ours), {"SHIPYARD_HOME": str(home)})
        shipyard_cmd = [str(Path(ours).parent / "shipyard"), "server", "--port", "{port}"]
        with process([*shipyard_cmd, "--log-level", "warning"], "/healthz", env=env) as url:
            for n in (1, 100):
                online[f"shipyard http n={n}"] = child(
                    ours, "http_lookups", url=url, kind="shipyard", n=n, **http
                )
        floor_cmd = [ours, str(CHILD), "serve_floor", '{{"port": {port}}}']
        with process(floor_cmd, "/", env=clean_env(Path(ours))) as url:
            for n in (1, 100):
                online[f"floor: bare uvicorn http n={n}"] = child(
                    ours, "http_lookups", url=url, kind="floor", n=n, **http
                )
        feast_cmd = [str(feast.parent / "feast"), "-c", str(feast_repo), "serve", "-p", "{port}"]
        with process([*feast_cmd, "--no-access-log"], "/health", env=clean_env(feast)) as url:
            for n in (1, 100):
                online[f"feast http n={n}"] = child(
                    ours, "http_lookups", url=url, kind="feast", n=n, **http
                )
    results["online"] = online
    results["load_after"] = os.getloadavg()
    return results


def render(r: dict[str, Any]) -> None:
    out = Console(width=120)
    off = r.get("offline", {})
    table = Table(title="Historical retrieval (point-in-time join)")
    for c in ("tool", "seconds", "peak MB", "rows", "shipyard faster by"):
        table.add_column(c)
    for name, m in off.items():
        table.add_row(
            name,
            f"{m['seconds']:.2f}",
            f"{m['peak_mb']:.0f}",
            str(m["rows"]),
            ratio(m["seconds"], off["shipyard"]["seconds"]),
        )
    out.print(table)
    mat = r.get("materialize", {})
    table = Table(title="Materialization")
    for c in ("tool", "seconds", "shipyard faster by"):
        table.add_column(c)
    for name, m in mat.items():
        ours = mat[f"shipyard {name.split()[-1]}"]["seconds"]
        table.add_row(name, f"{m['seconds']:.2f}", ratio(m["seconds"], ours))
    out.print(table)
    table = Table(title="Online lookups (ms)")
    for c in ("case", "p50", "p99", "max", "n", "shipyard lower by (p50 / p99)"):
        table.add_column(c)
    online = r["online"]
    for name, m in online.items():
        theirs = online.get(name.replace("shipyard", "feast", 1)) if "shipyard" in name else None
        vs = (
            f"{ratio(theirs['p50_ms'], m['p50_ms'])} / {ratio(theirs['p99_ms'], m['p99_ms'])}"
            if theirs
            else ""
        )
        p50, p99, top = f"{m['p50_ms']:.3f}", f"{m['p99_ms']:.3f}", f"{m['max_ms']:.1f}"
        table.add_row(name, p50, p99, top, str(m["n"]), vs)
    out.print(table)
    out.print(f"load average before {r['load_before']}, after {r['load_after']}")


if __name__ == "__main__":
    raise SystemExit(main())
