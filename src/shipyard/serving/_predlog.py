"""The prediction log: every prediction appended to Parquet, off the request path.

Where: ``<log_uri>/predictions/model=<name>/date=<YYYY-MM-DD>/part-<ms>-<id>.parquet`` and
``<log_uri>/labels/date=<YYYY-MM-DD>/part-<ms>-<id>.parquet``, with ``log_uri`` defaulting to
``<artifacts_uri>/prediction-log`` (the same folder or bucket as the blob store, through the
same fsspec file system). Each file is written under a temporary name and renamed (local) or
uploaded in one PUT (object stores), so a reader never sees half a file.

One row per predicted input row: ``prediction_id`` (one per request, returned to the caller),
``row`` (its index in the request), ``ts`` (ms), ``model``, ``version``, ``alias``, ``role``
(``primary``, ``canary`` or ``shadow``: which version answered, or only shadowed),
``latency_ms``, the inputs as ``input.<column>`` (or ``input`` for tensors) and the output as
``output``. Labels arrive later keyed by ``(prediction_id, row)``.

Requests hand their rows to a bounded queue and return; a background thread writes them.
When the queue is full the rows are shed and counted (``shed_rows`` and the
``shipyard_serving_prediction_log_shed_rows`` metric), never dropped silently.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from shipyard.config import Settings

LOG_FOLDER = "prediction-log"


def log_root(settings: Settings, log_uri: str | None = None) -> str:
    """Where the prediction log of ``settings`` lives."""
    return (log_uri or f"{settings.artifacts_uri.rstrip('/')}/{LOG_FOLDER}").rstrip("/")


def _filesystem(settings: Settings, uri: str) -> tuple[Any, str]:
    import fsspec

    options: dict[str, Any] = {}
    if uri.startswith("s3://") and settings.s3_endpoint_url:
        options = {"client_kwargs": {"endpoint_url": settings.s3_endpoint_url}}
    fs, root = fsspec.core.url_to_fs(uri, **options)
    return fs, root.rstrip("/")


@dataclass
class Record:
    """The rows of one answered request."""

    prediction_id: str
    ts: int
    model: str
    version: int
    alias: str
    role: str
    latency_ms: float
    inputs: Any
    outputs: Any
    rows: int


class ParquetWriter:
    """Writes frames as Parquet partitions under one root (atomically)."""

    def __init__(self, settings: Settings, log_uri: str | None = None) -> None:
        self.uri = log_root(settings, log_uri)
        self.fs, self.root = _filesystem(settings, self.uri)
        self.local = "file" in (
            self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        )

    def write(self, frame: pd.DataFrame, *parts: str) -> str:
        """Write ``frame`` to ``<root>/<parts...>/date=<today>/part-<ms>-<id>.parquet``."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        now = datetime.now(UTC)
        folder = "/".join([self.root, *parts, f"date={now:%Y-%m-%d}"])
        name = f"part-{int(now.timestamp() * 1000)}-{uuid.uuid4().hex[:12]}.parquet"
        table = pa.Table.from_pandas(frame, preserve_index=False)
        path = f"{folder}/{name}"
        if self.local:
            self.fs.makedirs(folder, exist_ok=True)
            tmp = f"{folder}/.{name}.tmp"
            pq.write_table(table, tmp)
            self.fs.mv(tmp, path)
        else:
            with self.fs.open(path, "wb") as fh:
                pq.write_table(table, fh)
        return path

    def read(self, *parts: str) -> pd.DataFrame:
        """Every partition under ``<root>/<parts...>`` as one frame (empty if none)."""
        import pyarrow.parquet as pq

        folder = "/".join([self.root, *parts])
        try:
            files = sorted(
                p
                for p in self.fs.find(folder)
                if p.endswith(".parquet") and not p.rsplit("/", 1)[-1].startswith(".")
            )
        except FileNotFoundError:
            files = []
        frames = []
        for path in files:
            with self.fs.open(path, "rb") as fh:
                frames.append(pq.read_table(fh).to_pandas())
        if not frames:
            return pd.DataFrame()
        joined: pd.DataFrame = pd.concat(frames, ignore_index=True)
        return joined


def records_frame(records: Sequence[Record]) -> pd.DataFrame:
    """The log rows of some requests (one row per predicted input row), built column-wise:
    one concatenation for the inputs and one for the outputs, whatever the request count."""
    if not records:
        return pd.DataFrame()
    sizes = [r.rows for r in records]
    meta = pd.DataFrame(
        {
            "prediction_id": np.repeat([r.prediction_id for r in records], sizes),
            "row": np.concatenate([np.arange(n, dtype="int32") for n in sizes]),
            "ts": np.repeat(np.asarray([r.ts for r in records], dtype="int64"), sizes),
            "model": np.repeat([r.model for r in records], sizes),
            "version": np.repeat(np.asarray([r.version for r in records], dtype="int32"), sizes),
            "alias": np.repeat([r.alias for r in records], sizes),
            "role": np.repeat([r.role for r in records], sizes),
            "latency_ms": np.repeat([r.latency_ms for r in records], sizes),
        }
    )
    return pd.concat([meta, _inputs([r.inputs for r in records]), _outputs(records)], axis=1)


def _inputs(parts: list[Any]) -> pd.DataFrame:
    if all(isinstance(p, pd.DataFrame) for p in parts):
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        frame = frame.reset_index(drop=True)
        frame.columns = [f"input.{c}" for c in frame.columns]
        plain: pd.DataFrame = frame.astype(
            {c: object for c, d in frame.dtypes.items() if d == "category"}
        )
        return plain
    arrays = [np.asarray(p) for p in parts]
    array = np.concatenate([a.reshape(len(a), -1) if a.ndim > 1 else a for a in arrays])
    return pd.DataFrame({"input": list(array) if array.ndim > 1 else array})


def _outputs(records: Sequence[Record]) -> pd.DataFrame:
    arrays = [
        r.outputs.to_numpy() if hasattr(r.outputs, "to_numpy") else np.asarray(r.outputs)
        for r in records
    ]
    array = np.concatenate([a.reshape(len(a), -1) if a.ndim > 1 else a for a in arrays])
    return pd.DataFrame({"output": list(array) if array.ndim > 1 else array})


class PredictionLog:
    """A bounded buffer of records and the thread that writes them as Parquet partitions.

    ``append`` only adds to a list under a lock: the writer thread is not woken per request
    (a wake-up per request costs the serving thread a GIL hand-off); it wakes on its flush
    timer, when ``flush_rows`` rows are buffered, on ``flush()`` and on ``close()``.
    """

    def __init__(
        self,
        writer: ParquetWriter,
        *,
        max_rows: int = 100_000,
        flush_seconds: float = 2.0,
        flush_rows: int = 50_000,
        on_written: Callable[[int], None] | None = None,
        on_shed: Callable[[int], None] | None = None,
    ) -> None:
        self.writer = writer
        self.max_rows = max_rows
        self.flush_seconds = flush_seconds
        self.flush_rows = flush_rows
        self._on_written = on_written
        self._on_shed = on_shed
        self._buffer: list[Record] = []
        self._buffered_rows = 0  # in the buffer
        self._queued_rows = 0  # in the buffer or being written
        self._lock = threading.Lock()
        self._flushed = threading.Condition(self._lock)
        self._wake = threading.Condition(self._lock)
        self._force = False
        self._stop = False
        self.written_rows = 0
        self.shed_rows = 0
        self.errors = 0
        self._thread: threading.Thread | None = None
        self._closed = False

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="shipyard-prediction-log", daemon=True
            )
            self._thread.start()

    def append(self, record: Record) -> bool:
        """Queue a request's rows; False (and counted as shed) when the queue is full."""
        with self._lock:
            if self._closed or self._queued_rows + record.rows > self.max_rows:
                self.shed_rows += record.rows
                shed = True
            else:
                self._queued_rows += record.rows
                self._buffered_rows += record.rows
                self._buffer.append(record)
                if self._buffered_rows >= self.flush_rows:
                    self._wake.notify()
                shed = False
        if shed and self._on_shed is not None:
            self._on_shed(record.rows)
        return not shed

    def _run(self) -> None:
        deadline = time.monotonic() + self.flush_seconds
        while True:
            with self._lock:
                while not (self._stop or self._force or self._buffered_rows >= self.flush_rows):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._wake.wait(left)
                pending, rows = self._buffer, self._buffered_rows
                self._buffer, self._buffered_rows = [], 0
                stop, force, self._force = self._stop, self._force, False
            if pending:
                self._write(pending, rows)
            elif force:
                with self._lock:
                    self._flushed.notify_all()
            if time.monotonic() >= deadline:
                deadline = time.monotonic() + self.flush_seconds
            if stop:
                return

    def _write(self, pending: list[Record], rows: int) -> None:
        groups: dict[tuple[str, int], list[Record]] = {}
        for rec in pending:
            groups.setdefault((rec.model, rec.version), []).append(rec)
        for (model, _), records in groups.items():
            n = sum(r.rows for r in records)
            try:
                self.writer.write(records_frame(records), "predictions", f"model={model}")
                written, shed = n, 0
            except Exception:
                written, shed = 0, n
                self.errors += 1
            with self._lock:
                self.written_rows += written
                self.shed_rows += shed
            if written and self._on_written is not None:
                self._on_written(written)
            if shed and self._on_shed is not None:
                self._on_shed(shed)
        with self._lock:
            self._queued_rows -= rows
            self._flushed.notify_all()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued row is written (True) or ``timeout`` passes (False)."""
        self.start()
        end = time.monotonic() + timeout
        with self._lock:
            self._force = True
            self._wake.notify()
            while self._queued_rows > 0:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._flushed.wait(min(left, 0.05))
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued and stop the thread."""
        with self._lock:
            self._closed = True
            self._stop = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def log_labels(
    ids: Sequence[str],
    labels: Sequence[Any],
    *,
    rows: Sequence[int] | None = None,
    settings: Settings | None = None,
    log_uri: str | None = None,
) -> int:
    """Record ground truth for earlier predictions: ``labels[i]`` is the true value of the
    prediction ``ids[i]`` (row ``rows[i]`` of that request, 0 by default). Joinable with the
    prediction log on ``(prediction_id, row)``. Returns the number of labels written."""
    from shipyard.errors import InvalidArgument
    from shipyard.tracking import get_client

    ids, labels = list(ids), list(labels)
    row_list = [0] * len(ids) if rows is None else [int(r) for r in rows]
    if not (len(ids) == len(labels) == len(row_list)):
        raise InvalidArgument(
            f"got {len(ids)} ids, {len(labels)} labels and {len(row_list)} rows; they must "
            "match one to one",
            field="labels",
        )
    bad = [i for i in ids if not isinstance(i, str) or not i or len(i) > 200]
    if bad:
        raise InvalidArgument(f"prediction id {bad[0]!r} is not a valid id", field="ids")
    if not ids:
        return 0
    settings = settings or get_client().settings
    frame = pd.DataFrame(
        {
            "prediction_id": ids,
            "row": np.asarray(row_list, dtype="int32"),
            "label": labels,
            "ts": np.full(len(ids), int(time.time() * 1000), dtype="int64"),
        }
    )
    try:
        ParquetWriter(settings, log_uri).write(frame, "labels")
    except (TypeError, ValueError) as exc:  # pyarrow refusing mixed label types
        raise InvalidArgument(f"labels could not be stored: {exc}", field="labels") from None
    return len(ids)


def read_predictions(
    model: str | None = None, *, settings: Settings | None = None, log_uri: str | None = None
) -> pd.DataFrame:
    """The logged predictions (of one model, or all), one row per predicted input row."""
    from shipyard.tracking import get_client

    writer = ParquetWriter(settings or get_client().settings, log_uri)
    return writer.read("predictions", *([f"model={model}"] if model else []))


def read_labels(*, settings: Settings | None = None, log_uri: str | None = None) -> pd.DataFrame:
    """Every logged label (``prediction_id``, ``row``, ``label``, ``ts``)."""
    from shipyard.tracking import get_client

    return ParquetWriter(settings or get_client().settings, log_uri).read("labels")
