"""Crash proofs at full size: every writer killed with SIGKILL and SIGTERM at seeded random
points, many times, on SQLite + a local blob folder and on PostgreSQL + S3.

    uv run --all-extras python bench/crash.py                    # 200 trials per cell
    uv run --all-extras python bench/crash.py --trials 20 --writers runs,models
    uv run --all-extras python bench/crash.py --backends sqlite-local --seed 7

One cell is a writer, a signal and a backend: one fresh store, ``--trials`` kills in a row
(each lands on the debris of the ones before), each followed by the harness's checks
(``tests/support/crash.py``: fsck finds nothing, FINISHED runs hold every point, SIGTERM'd
runs are KILLED with their points, every version loads ...). PostgreSQL and S3 are the
throwaway servers of the test suite (``tests/support/services.py``).

Output is written as it comes, so a run cut short keeps its figures: each trial as one JSON
line to ``<out>.trials.jsonl`` as soon as it is checked; after each cell, its row of the
table (the Results table of docs/reliability.md, with the median seconds per kill) to
stdout and every cell so far to ``<out>`` (``bench/.work/crash.json``); progress and each
problem to stderr. The whole table is printed again at the end. The exit status is 1 when
any check failed. tests/maintenance/test_crash.py runs the same cells with one trial.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.support import bytecode, crash, services  # noqa: E402

BACKENDS = ("sqlite-local", "postgres-s3")


@contextlib.contextmanager
def _servers(names: list[str]) -> Iterator[dict[str, object]]:
    """The PostgreSQL cluster and S3 server of the test suite, when a cell needs them."""
    with contextlib.ExitStack() as stack:
        found: dict[str, object] = {}
        if "postgres-s3" in names:
            # moto serves in this process: its request log would be a line per S3 call
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
            url = stack.enter_context(
                contextlib.contextmanager(services.postgres_url.__wrapped__)()
            )
            found["postgres"] = url
            found["template"] = services.postgres_template.__wrapped__(url)
            endpoint = stack.enter_context(
                contextlib.contextmanager(services.s3_endpoint.__wrapped__)()
            )
            found["s3"] = endpoint
            os.environ.update(
                AWS_ACCESS_KEY_ID=endpoint.access_key,
                AWS_SECRET_ACCESS_KEY=endpoint.secret_key,
                AWS_DEFAULT_REGION=endpoint.region,
                SHIPYARD_S3_ENDPOINT_URL=endpoint.endpoint_url,
            )
        yield found


@contextlib.contextmanager
def _backend(name: str, servers: dict[str, object]) -> Iterator[crash.Backend]:
    """A fresh store of one backend: a new SQLite file, or a new database and bucket."""
    if name == "sqlite-local":
        yield crash.Backend(name)
        return
    databases = contextlib.contextmanager(services.migrated_postgres_db_url.__wrapped__)
    buckets = contextlib.contextmanager(services.s3_bucket.__wrapped__)
    with (
        databases(servers["postgres"], servers["template"]) as db_url,
        buckets(servers["s3"]) as bucket,
    ):
        yield crash.Backend(name, db_url, f"s3://{bucket}/blobs")


HEADER = (
    "| backend | writer | signal | kills | records before the kills | runs reaped | problems "
    "| seconds | median s per kill |\n"
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def row(cell: dict[str, Any]) -> str:
    """One cell as a row of the Results table in docs/reliability.md."""
    return (
        f"| {cell['backend']} | {cell['writer']} | {cell['signal']} | {cell['trials']} | "
        f"{cell['records']} | {cell['reaped']} | {len(cell['problems'])} | "
        f"{cell['seconds']} | {cell['median_kill_s']} |"
    )


def cell_of(campaign: crash.Campaign) -> dict[str, Any]:
    """A campaign's summary with the median seconds per kill (start, delay, kill, checks)
    and each of its trials."""
    cell = campaign.summary()
    per_kill = [t.kill_s + t.check_s for t in campaign.trials]
    cell["median_kill_s"] = round(statistics.median(per_kill), 2) if per_kill else 0.0
    cell["kills"] = [asdict(t) for t in campaign.trials]
    return cell


def write_cells(out: Path, args: argparse.Namespace, started: float, cells: list[Any]) -> None:
    """Every cell so far, replaced atomically (a reader never sees half of it)."""
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(
        json.dumps(
            {
                "trials": args.trials,
                "seed": args.seed,
                "seconds": round(time.time() - started),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "load_average": os.getloadavg(),
                "cells": cells,
            },
            indent=1,
        )
    )
    tmp.replace(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=200, help="kills per cell (200)")
    parser.add_argument("--writers", default=",".join(crash.WRITERS))
    parser.add_argument("--signals", default=",".join(crash.SIGNALS))
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=HERE / ".work" / "crash.json")
    args = parser.parse_args()
    bytecode.cache_bytecode(HERE.parent)  # the writer server and the checks import sklearn ...
    writers, signals = args.writers.split(","), args.signals.split(",")
    backends = args.backends.split(",")
    started = time.time()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    trials_log = args.out.with_name(args.out.name.removesuffix(".json") + ".trials.jsonl")
    cells: list[dict[str, Any]] = []
    print(HEADER, flush=True)
    with contextlib.ExitStack() as stack:
        servers = stack.enter_context(_servers(backends))
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="crash-"))
        writers_server = stack.enter_context(crash.WriterServer(Path(tmp) / "server.log"))
        trials_out = stack.enter_context(trials_log.open("w"))
        for backend_name in backends:
            for writer in writers:
                for signame in signals:
                    seed = args.seed * 1000 + len(cells)
                    where = {"backend": backend_name, "writer": writer, "signal": signame}

                    def on_trial(trial: crash.Trial, where: dict[str, str] = where) -> None:
                        trials_out.write(json.dumps({**where, **asdict(trial)}) + "\n")
                        trials_out.flush()
                        print(
                            "." if not trial.problems else "!", end="", file=sys.stderr, flush=True
                        )

                    with _backend(backend_name, servers) as backend:
                        campaign = crash.run_campaign(
                            writer,
                            signame,
                            backend,
                            Path(tmp) / f"{len(cells)}",
                            trials=args.trials,
                            seed=seed,
                            server=writers_server,
                            on_trial=on_trial,
                        )
                    cell = cell_of(campaign)
                    cells.append(cell)
                    write_cells(args.out, args, started, cells)
                    print(row(cell), flush=True)
                    print(
                        f" {backend_name} {writer} {signame}: {len(campaign.problems)} problems, "
                        f"{cell['seconds']} s, median {cell['median_kill_s']} s per kill "
                        f"(load {os.getloadavg()[0]:.1f})",
                        file=sys.stderr,
                        flush=True,
                    )
                    for problem in campaign.problems:
                        print(f"  {backend_name} {writer} {signame}: {problem}", file=sys.stderr)
    print(f"\n{HEADER}")
    for cell in cells:
        print(row(cell))
    for cell in cells:
        for problem in cell["problems"]:
            print(f"{cell['backend']} {cell['writer']} {cell['signal']}: {problem}")
    return 1 if any(cell["problems"] for cell in cells) else 0


if __name__ == "__main__":
    sys.exit(main())
