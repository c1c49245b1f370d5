"""Feature store: Shipyard vs Feast, measured in the same run on this machine.

Run with ``uv run --all-extras python bench/features.py`` (``--help`` for the sizes). Feast is
installed in its own venv under ``bench/.venvs/feast``, never in the project venv. The data
is synthetic: ENTITIES x TIMESTAMPS source rows with 8 float features (Parquet, UTC times,
a created timestamp), and an entity frame of ENTITY_ROWS rows at random times. Every
measurement runs in a fresh subprocess (``bench/_features_child.py``); peak memory is that
process's max RSS. Results go to ``bench/.work/features.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _competitors import WORK_DIR, Competitor, run_json

FEAST = Competitor("feast", ("feast[duckdb]==0.67.0",))
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


def ratio(theirs: float, ours: float) -> str:
    return f"{theirs / ours:.1f}x" if ours else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--timestamps", type=int, default=100)
    parser.add_argument("--entity-rows", type=int, default=100_000)
    parser.add_argument("--iters", type=int, default=2_000, help="online lookups per case")
    parser.add_argument("--http-iters", type=int, default=10_000)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", ""))
    parser.add_argument("--skip-feast-file", action="store_true")
    ns = parser.parse_args(argv)

    ours = sys.executable
    feast = FEAST.ensure()
    work = WORK_DIR / "features"
    shutil.rmtree(work, ignore_errors=True)
    source, entity = make_data(work / "data", ns.entities, ns.timestamps, ns.entity_rows)
    load = os.getloadavg()
    results: dict[str, Any] = {"sizes": vars(ns), "load_before": load}

    off = {
        "shipyard": child(ours, "shipyard_offline", source=source, entity=entity),
        "duckdb ASOF floor": child(ours, "floor_offline", source=source, entity=entity),
        "feast duckdb": child(
            feast, "feast_offline", source=source, entity=entity, offline="duckdb"
        ),
    }
    if not ns.skip_feast_file:
        off["feast file"] = child(
            feast, "feast_offline", source=source, entity=entity, offline="file"
        )
    results["offline"] = off

    home = Path(tempfile.mkdtemp()) / ".shipyard"
    feast_repo = Path(tempfile.mkdtemp()) / "repo"
    mat = {
        "shipyard": child(ours, "shipyard_materialize", source=source, home=str(home)),
        "feast": child(feast, "feast_materialize", source=source, home=str(feast_repo)),
    }
    if ns.redis_url:
        mat["shipyard redis"] = child(
            ours, "shipyard_materialize", source=source, home=str(home), online=ns.redis_url
        )
    results["materialize"] = mat

    online: dict[str, Any] = {}
    common = {"entities": ns.entities, "iters": ns.iters}
    for n in (1, 100):
        online[f"shipyard sqlite n={n}"] = child(
            ours, "shipyard_online", home=str(home), n=n, **common
        )
        if ns.redis_url:
            online[f"shipyard redis n={n}"] = child(
                ours, "shipyard_online", home=str(home), n=n, online=ns.redis_url, **common
            )
        online[f"feast sqlite n={n}"] = child(
            feast, "feast_online", home=str(feast_repo), n=n, **common
        )
        online[f"shipyard http n={n}"] = child(
            ours, "shipyard_http", home=str(home), n=n, entities=ns.entities, iters=ns.http_iters
        )
    results["online"] = online
    results["load_after"] = os.getloadavg()
    (WORK_DIR / "features.json").write_text(json.dumps(results, indent=2))
    render(results)
    return 0


def render(r: dict[str, Any]) -> None:
    out = Console(width=120)
    off = r["offline"]
    table = Table(title="Historical retrieval (point-in-time join)")
    for c in ("tool", "seconds", "peak MB", "rows", "shipyard faster by"):
        table.add_column(c)
    ship = off["shipyard"]["seconds"]
    for name, m in off.items():
        table.add_row(
            name,
            f"{m['seconds']:.2f}",
            f"{m['peak_mb']:.0f}",
            str(m["rows"]),
            ratio(m["seconds"], ship),
        )
    out.print(table)
    mat = r["materialize"]
    table = Table(title="Materialization")
    for c in ("tool", "seconds", "shipyard faster by"):
        table.add_column(c)
    for name, m in mat.items():
        table.add_row(name, f"{m['seconds']:.2f}", ratio(m["seconds"], mat["shipyard"]["seconds"]))
    out.print(table)
    table = Table(title="Online lookups (ms)")
    for c in ("case", "p50", "p99", "max", "n"):
        table.add_column(c)
    for name, m in r["online"].items():
        table.add_row(
            name, f"{m['p50_ms']:.3f}", f"{m['p99_ms']:.3f}", f"{m['max_ms']:.1f}", str(m["n"])
        )
    out.print(table)
    out.print(f"load average before {r['load_before']}, after {r['load_after']}")


if __name__ == "__main__":
    raise SystemExit(main())
