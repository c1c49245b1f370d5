"""A writer of the crash harness (``tests/support/crash.py``), run as its own process and
killed at a random point.

    python tests/support/crash_child.py

imports the writers' modules once, then forks a writer for each job line it reads (see
:func:`serve`). The store comes from the ``SHIPYARD_*`` environment the harness
sets. A writer prints ``READY`` once its store is open, then writes in a loop until it is
killed.
What it has done goes to two files in WORKDIR:

- ``side.jsonl``: one JSON line per completed unit of work (a run's points before the run is
  ended, an artifact once logged, a version once registered ...), fsync'd before the writer
  goes on, so a record is on disk whenever the thing it describes may have been committed;
- ``progress``: a shared memory map holding the run being logged and how many of its
  ``log_metric`` calls have returned, updated after every call (no system call: it
  survives the process because the kernel owns the pages), so the harness knows which
  points a SIGTERM'd run must have flushed.

Only the standard library is imported at module level; each writer imports what it uses.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import random
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: The progress map: a 32-byte run id (ASCII, zero-padded) and the calls done (int64).
PROGRESS_FORMAT = "32sq"
PROGRESS_SIZE = struct.calcsize(PROGRESS_FORMAT)
EXPERIMENT = "crash"
MODEL = "crash-model"
DATASET = "crash-data"
SERVED = "crash-served"
VIEW = "crash_stats"


class Journal:
    """The side file (fsync'd lines) and the progress map of one writer process."""

    def __init__(self, workdir: Path) -> None:
        self._side = open(workdir / "side.jsonl", "ab")  # noqa: SIM115 - open until killed
        progress = workdir / "progress"
        progress.write_bytes(b"\0" * PROGRESS_SIZE)
        self._fd = os.open(progress, os.O_RDWR)
        self._map = mmap.mmap(self._fd, PROGRESS_SIZE)

    def record(self, **fields: Any) -> None:
        """Append one line and make it durable before returning."""
        self._side.write(json.dumps(fields).encode() + b"\n")
        self._side.flush()
        os.fsync(self._side.fileno())

    def progress(self, run_id: str, done: int) -> None:
        struct.pack_into(PROGRESS_FORMAT, self._map, 0, run_id.encode(), done)


def ready() -> None:
    """Tell the harness the writing starts now (imports done, the store open)."""
    from shipyard.tracking import get_client

    get_client().store.list_experiments()
    print("READY", flush=True)


def metric_value(step: int) -> float:
    """The value logged at ``step`` (the harness checks stored values against it)."""
    return step * 0.5 + 0.25


def write_runs(journal: Journal, rng: random.Random) -> None:
    """Runs with params and tight metric loops, ended normally."""
    import shipyard
    import shipyard.tracking

    ready()
    while True:
        points = rng.randint(200, 3000)
        with shipyard.start_run(experiment=EXPERIMENT) as run:
            params = {"points": points, "seed": rng.randint(0, 10**6)}
            shipyard.log_params(params)
            for step in range(points):
                shipyard.log_metric("m", metric_value(step), step=step)
                journal.progress(run.id, step + 1)
            journal.record(run=run.id, points=points, params=params)


def write_artifacts(journal: Journal, rng: random.Random, workdir: Path) -> None:
    """Runs that upload files of random sizes (1 KB to 2 MB)."""
    import hashlib

    import shipyard

    ready()
    n = 0
    while True:
        with shipyard.start_run(experiment=EXPERIMENT) as run:
            logged = []
            for _ in range(rng.randint(1, 3)):
                n += 1
                content = rng.randbytes(rng.randint(1_000, 2_000_000))
                path = workdir / f"file-{n}.bin"
                path.write_bytes(content)
                shipyard.log_artifact(path, f"out/file-{n}.bin")
                path.unlink()
                logged.append([f"out/file-{n}.bin", hashlib.sha256(content).hexdigest()])
            journal.record(run=run.id, artifacts=logged)


def write_models(journal: Journal, rng: random.Random) -> None:
    """Model registration inside a run: a linear model whose slope is known."""
    import numpy as np
    from sklearn.linear_model import LinearRegression

    import shipyard

    ready()
    while True:
        slope = rng.uniform(-100, 100)
        x = np.arange(20, dtype="float64").reshape(-1, 1)
        model = LinearRegression().fit(x, slope * x.ravel())
        with shipyard.start_run(experiment=EXPERIMENT):
            version = shipyard.register_model(model, MODEL)
        journal.record(version=version.version, slope=slope)


def write_datasets(journal: Journal, rng: random.Random) -> None:
    """Dataset registration of frames from 1,000 to 50,000 rows."""
    import numpy as np
    import pandas as pd

    from shipyard import data

    ready()
    while True:
        rows = rng.randint(1_000, 50_000)
        seed = rng.randint(0, 2**31)
        values = np.random.default_rng(seed).random(rows)
        frame = pd.DataFrame({"i": np.arange(rows), "x": values, "seed": seed})
        version = data.register(DATASET, frame, lineage=False)
        journal.record(version=version.version, rows=rows, hash=version.content_hash)


def write_features(journal: Journal, rng: random.Random) -> None:
    """Materialization of ever later windows of the view ``prepare`` applied."""
    from datetime import UTC, datetime, timedelta

    from shipyard import features

    ready()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    hours = 0
    while True:
        hours = hours + rng.randint(1, 6)
        end = start + timedelta(hours=hours)
        features.materialize(end=end, views=[VIEW])
        journal.record(end_hours=hours)


def write_predictions(journal: Journal, rng: random.Random) -> None:
    """The model server answering /predict, its prediction log written by its writer thread
    (flushed every 50 ms); the ids answered are recorded once a flush has returned."""
    from fastapi.testclient import TestClient

    from shipyard.serving import ServingConfig, create_app

    config = ServingConfig(log_flush_seconds=0.05, log_flush_rows=200)
    app = create_app(f"{SERVED}/1", config)
    with TestClient(app) as http:
        while http.get("/v2/health/ready").status_code != 200:
            pass
        server = app.state.server
        ready()
        while True:
            answered = []
            for _ in range(rng.randint(1, 20)):
                rows = rng.randint(1, 5)
                body = [{"x": float(rng.randint(0, 100))} for _ in range(rows)]
                reply = http.post("/predict", json=body)
                reply.raise_for_status()
                answered.append([reply.json()["prediction_id"], rows])
            if not server.log.flush():
                raise RuntimeError("the prediction log did not flush in time")
            journal.record(answered=answered)


WRITERS: dict[str, Callable[[Journal, random.Random, Path], None]] = {
    "runs": lambda journal, rng, _: write_runs(journal, rng),
    "artifacts": write_artifacts,
    "models": lambda journal, rng, _: write_models(journal, rng),
    "datasets": lambda journal, rng, _: write_datasets(journal, rng),
    "features": lambda journal, rng, _: write_features(journal, rng),
    "predictions": lambda journal, rng, _: write_predictions(journal, rng),
}
#: What the writers import, loaded once by the server before it forks them.
IMPORTS = [
    "shipyard.tracking",
    "shipyard.registry",
    "shipyard.data",
    "shipyard.features",
    "shipyard.maintenance",
    "shipyard.serving",
    "fastapi.testclient",
    "sklearn.linear_model",
    "duckdb",
    "pandas",
    "numpy",
]
#: Loaded too where installed: the PostgreSQL driver and the S3 file system, which every
#: writer on PostgreSQL + S3 would otherwise import after its fork (seconds each trial).
OPTIONAL_IMPORTS = [
    "sqlalchemy.dialects.postgresql.psycopg",
    "psycopg",
    "s3fs",
    "aiobotocore.session",
]


def serve() -> None:
    """Import the writers' modules once, then fork one writer per JSON line read from stdin
    (``{"writer", "workdir", "seed", "env"}``), report ``PID <pid>`` and, once it has
    died, ``EXIT <pid> <status>`` (minus the signal number when a signal ended it). Forking
    a warm process keeps each trial's start cheap; nothing is opened (no connection, no
    thread) before the fork, and each writer gets the environment of its trial."""
    import importlib

    for module in IMPORTS:
        importlib.import_module(module)
    for module in OPTIONAL_IMPORTS:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    importlib.import_module("shipyard.serving").create_app  # noqa: B018 - loads the app
    print("SERVING", flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            os.environ.clear()
            os.environ.update(job["env"])
            _writer_process(job["writer"], Path(job["workdir"]), int(job["seed"]))
        print(f"PID {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"EXIT {pid} {os.waitstatus_to_exitcode(status)}", flush=True)


def _writer_process(writer: str, workdir: Path, seed: int) -> None:
    """The forked writer: never returns into the server's loop."""
    code = 1
    try:
        err = os.open(workdir / "stderr.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(err, 2)
        WRITERS[writer](Journal(workdir), random.Random(seed), workdir)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    serve()
