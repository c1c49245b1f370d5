"""Crash proofs at full size: every writer killed with SIGKILL and SIGTERM at seeded random
points, many times, on SQLite + a local blob folder and on PostgreSQL + S3.

    uv run --all-extras python bench/crash.py                    # 200 trials per cell
    uv run --all-extras python bench/crash.py --trials 20 --writers runs,models
    uv run --all-extras python bench/crash.py --backends sqlite-local --seed 7

One cell is a writer, a signal and a backend: one fresh store, ``--trials`` kills in a row
(each lands on the debris of the ones before), each followed by the harness's checks
(``tests/support/crash.py``: fsck finds nothing, FINISHED runs hold every point, SIGTERM'd
runs are KILLED with their points, every version loads ...). PostgreSQL and S3 are the
throwaway servers of the test suite (``tests/support/services.py``). The table goes to
stdout, progress to stderr, every trial to ``bench/.work/crash.json``; the exit status is 1
when any check failed. tests/maintenance/test_crash.py runs the same cells with 3 trials.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.support import crash, services  # noqa: E402

BACKENDS = ("sqlite-local", "postgres-s3")


@contextlib.contextmanager
def _servers(names: list[str]) -> Iterator[dict[str, object]]:
    """The PostgreSQL cluster and S3 server of the test suite, when a cell needs them."""
    with contextlib.ExitStack() as stack:
        found: dict[str, object] = {}
        if "postgres-s3" in names:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=200, help="kills per cell (200)")
    parser.add_argument("--writers", default=",".join(crash.WRITERS))
    parser.add_argument("--signals", default=",".join(crash.SIGNALS))
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=HERE / ".work" / "crash.json")
    args = parser.parse_args()
    writers, signals = args.writers.split(","), args.signals.split(",")
    backends = args.backends.split(",")
    started = time.time()
    cells = []
    with contextlib.ExitStack() as stack:
        servers = stack.enter_context(_servers(backends))
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="crash-"))
        writers_server = stack.enter_context(crash.WriterServer(Path(tmp) / "server.log"))
        for backend_name in backends:
            for writer in writers:
                for signame in signals:
                    seed = args.seed * 1000 + len(cells)
                    with _backend(backend_name, servers) as backend:
                        campaign = crash.run_campaign(
                            writer,
                            signame,
                            backend,
                            Path(tmp) / f"{len(cells)}",
                            trials=args.trials,
                            seed=seed,
                            server=writers_server,
                            on_trial=lambda t: print(".", end="", file=sys.stderr, flush=True),
                        )
                    summary = campaign.summary()
                    summary["kills"] = [asdict(t) for t in campaign.trials]
                    cells.append(summary)
                    print(
                        f" {backend_name} {writer} {signame}: {len(campaign.problems)} problems",
                        file=sys.stderr,
                    )
    print("| backend | writer | signal | kills | records before the kills | runs reaped | "
          "problems | seconds |")  # fmt: skip
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for cell in cells:
        print(
            f"| {cell['backend']} | {cell['writer']} | {cell['signal']} | {cell['trials']} | "
            f"{cell['records']} | {cell['reaped']} | {len(cell['problems'])} | "
            f"{cell['seconds']} |"
        )
    for cell in cells:
        for problem in cell["problems"]:
            print(f"{cell['backend']} {cell['writer']} {cell['signal']}: {problem}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
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
    return 1 if any(cell["problems"] for cell in cells) else 0


if __name__ == "__main__":
    sys.exit(main())
