"""Batch scoring on Ray: the chunks of a Parquet file scored in parallel actors.

The driver reads only the file's footer. It pins the reference to one version, checks the
input's columns against the signature, and cuts the file into *units*: one per
``chunk_rows`` batch of each row group (a row group never spans two units). It starts
``max_parallel`` actors (one CPU each, BLAS/OpenMP pools limited to one thread): each receives the
model's files once, loads the model once, and then scores the units it is sent, reading them
from the file itself, so neither the input nor the model goes through the driver per chunk.

Unit ``i`` goes to actor ``i % n``; each actor keeps its place in the row group it reads, so
a large row group is decoded once per actor rather than once per chunk. The driver keeps a
bounded window of units in flight and writes the scored chunks in the input's order as they
come back: it never holds more than the window (about ``2 * n`` chunks).

The input path must be readable by the actors (a local Ray, or a file system shared with the
cluster). The model's files travel through Ray's object store, so actors need no access to
the metadata or blob store.
"""

from __future__ import annotations

import collections
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard import _ray, models
from shipyard.registry import resolve
from shipyard.serving._batch import ScoreProgress, check_columns, output_file, score_batch
from shipyard.tracking import get_client

_FOLDER_PREFIXES = ("/", "./", "../", "~", "file://")


@dataclass(frozen=True)
class Unit:
    """One chunk: batch ``batch`` (of ``chunk_rows`` rows) of row group ``row_group``."""

    row_group: int
    batch: int
    rows: int


def plan_units(row_group_rows: list[int], chunk_rows: int) -> list[Unit]:
    """The units of a file whose row groups hold ``row_group_rows`` rows, in file order."""
    units = []
    for group, rows in enumerate(row_group_rows):
        for batch, start in enumerate(range(0, rows, chunk_rows)):
            units.append(Unit(group, batch, min(chunk_rows, rows - start)))
    return units


class ChunkScorer:
    """A Ray actor body: loads the model once from its files, then scores units on request."""

    def __init__(
        self, files: dict[str, bytes], trusted: bool, path: str, chunk_rows: int, column: str
    ) -> None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)  # BLAS/OpenMP: one thread per actor, whatever the environment
        self._folder = tempfile.TemporaryDirectory(prefix="shipyard-batch-model-")
        root = Path(self._folder.name)
        for name, data in files.items():
            dest = root / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        self.model = models.load(root, trusted=trusted)
        self.path = path
        self.chunk_rows = chunk_rows
        self.column = column
        self._cursor: tuple[int, Any, int] | None = None  # row group, batches, next index

    def score(self, unit: Unit) -> Any:
        """The scored Arrow table of one unit."""
        import pyarrow.parquet as pq

        cursor = self._cursor
        if cursor is None or cursor[0] != unit.row_group or cursor[2] > unit.batch:
            batches = pq.ParquetFile(self.path).iter_batches(
                batch_size=self.chunk_rows, row_groups=[unit.row_group]
            )
            cursor = (unit.row_group, batches, 0)
        group, batches, index = cursor
        while index < unit.batch:  # the other actors' chunks of this row group
            next(batches)
            index += 1
        batch = next(batches)
        self._cursor = (group, batches, index + 1)
        if batch.num_rows != unit.rows:  # the file changed under us
            raise RuntimeError(
                f"{self.path}: row group {group} batch {index} has {batch.num_rows} rows, "
                f"expected {unit.rows}; was the input file rewritten while scoring?"
            )
        return score_batch(self.model, batch, self.column)


def _model_files(ref: str) -> tuple[str, dict[str, bytes]]:
    """The version ``ref`` names now (as ``name/N``, or the model folder it names) and its
    files' bytes, each verified against its sha256."""
    if ref.startswith(_FOLDER_PREFIXES):
        folder = Path(ref.removeprefix("file://")).expanduser()
        found = sorted(p for p in folder.rglob("*") if p.is_file())
        return ref, {str(p.relative_to(folder)): p.read_bytes() for p in found}
    version = resolve(ref)
    store = get_client().store
    files = {}
    with tempfile.TemporaryDirectory(prefix="shipyard-batch-") as tmp:
        for info in version.files:  # each blob is checked against its sha256 on the way
            dest = Path(tmp) / info.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            store.download_blob(info.digest, dest)
            files[info.path] = dest.read_bytes()
    return f"{version.name}/{version.version}", files


def _unwrap(exc: BaseException) -> BaseException:
    """The user's exception inside a Ray task error (a SchemaError stays a SchemaError)."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc


def predict_file_on_ray(
    ref: str,
    source: Path,
    target: Path,
    *,
    chunk_rows: int,
    column: str,
    trusted: bool,
    progress: ScoreProgress | None,
    address: str | None,
    max_parallel: int | None,
) -> int:
    """``predict_file`` with ``executor="ray"`` (arguments already checked)."""
    import pyarrow.parquet as pq

    pinned, files = _model_files(ref)
    signature = models.load(pinned, trusted=trusted).signature
    reader = pq.ParquetFile(source)
    check_columns(signature, reader.schema_arrow.names, source)  # before Ray starts
    ray = _ray.connect("batch scoring on Ray", address)
    meta = reader.metadata
    units = plan_units([meta.row_group(i).num_rows for i in range(meta.num_row_groups)], chunk_rows)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    count = min(max(1, max_parallel or cpus), len(units))
    # One CPU per actor: Ray sets OMP_NUM_THREADS to it, threadpoolctl limits the rest (a
    # per-actor runtime_env would cost seconds of worker set-up per actor).
    remote = ray.remote(num_cpus=1, max_restarts=0)(ChunkScorer)
    files_ref = ray.put(files)
    path = str(source.resolve())
    actors = [remote.remote(files_ref, trusted, path, chunk_rows, column) for _ in range(count)]
    window = 2 * max(count, 1)
    pending: collections.deque[Any] = collections.deque()
    total, done, submitted = meta.num_rows, 0, 0
    try:
        with output_file(target, reader.schema_arrow, column) as write:
            while submitted < len(units) or pending:
                while submitted < len(units) and len(pending) < window:
                    actor = actors[submitted % count]
                    pending.append(actor.score.remote(units[submitted]))
                    submitted += 1
                try:
                    table = ray.get(pending.popleft())
                except ray.exceptions.RayError as exc:
                    raise _unwrap(exc) from None
                done += write(table)
                if progress is not None:
                    progress(done, total)
    finally:
        for actor in actors:
            ray.kill(actor)
    return done
