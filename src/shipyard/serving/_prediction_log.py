"""The prediction log: where predictions and labels are stored, in what columns, and how they
are written and read back. The one module that knows the layout; the model server writes
through it (off the request path, see :mod:`shipyard.serving._log_queue`) and monitoring
reads through it (``read_predictions``, ``iter_predictions``, ``read_labels``).

Where: ``<log_uri>/predictions/model=<name>/date=<YYYY-MM-DD>/part-<ms>-<id>.parquet`` and
``<log_uri>/labels/date=<YYYY-MM-DD>/part-<ms>-<id>.parquet``, with ``log_uri`` defaulting to
``<artifacts_uri>/prediction-log`` (the same folder or bucket as the blob store, through the
same fsspec file system). Each file is written under a temporary name and renamed (local) or
uploaded in one PUT (object stores), so a reader never sees half a file.

Partitions: a row goes under the UTC date of its own ``ts`` (:func:`_partition`), never the
date it is written: rows stamped before midnight and written after it stay with their day,
whatever the time zone of the machine. One write of rows spanning midnight makes one file
per date. A file is named ``part-<first ts>-<last ts>-<id>.parquet``, so a read of a time
window ``[start, end)`` lists only the date folders of the window, skips the files whose rows
are all outside it without opening them, and keeps the rows whose ``ts`` is inside it.

Reads are robust to logs written before this layout (files named ``part-<written ms>-<id>``
under the date they were written, so a row stamped before midnight may sit in the next day's
folder): such files are read from the day after the window too, and kept whenever they
were written at or after the window's start.

One row per predicted input row: ``prediction_id`` (one per request, returned to the caller),
``row`` (its index in the request), ``ts`` (ms), ``model``, ``version``, ``alias``, ``role``
(``primary``, ``canary`` or ``shadow``: which version answered, or only shadowed),
``latency_ms``, ``deployment`` (the id of the deployment that answered, when the server is
recorded as one: see :mod:`shipyard.serving._deployment`), the inputs as ``input.<column>``
(or ``input`` for tensors), the output as ``output`` and, for a classifier, its class
probabilities as ``proba`` (a list per row, in the order of the model's classes: the
positive class last for a binary model). Labels (``prediction_id``, ``row``, ``label``,
``ts``) arrive later keyed by ``(prediction_id, row)``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from shipyard.config import Settings
from shipyard.errors import InvalidArgument, NotFound

LOG_FOLDER = "prediction-log"
PREDICTIONS, LABELS = "predictions", "labels"
#: The prefix of the logged input columns: column ``age`` is logged as ``input.age``.
INPUT_PREFIX = "input."
#: The logged class probabilities of a classifier: per row, one per class (the positive
#: class's last for a binary model).
PROBA = "proba"
#: The longest prediction id a label may name.
MAX_ID_LENGTH = 200


def log_root(settings: Settings, log_uri: str | None = None) -> str:
    """Where the prediction log of ``settings`` lives."""
    return (log_uri or f"{settings.artifacts_uri.rstrip('/')}/{LOG_FOLDER}").rstrip("/")


def _filesystem(settings: Settings, uri: str) -> tuple[Any, str]:
    import fsspec

    options: dict[str, Any] = {}
    if uri.startswith("s3://") and settings.s3_endpoint_url:
        options = {"client_kwargs": {"endpoint_url": settings.s3_endpoint_url}}
    fs, root = fsspec.core.url_to_fs(uri, **options)
    return fs, str(root).rstrip("/")


DAY_MS = 86_400_000


def now_ms() -> int:
    """The current time in epoch milliseconds: what rows and labels are stamped with."""
    return int(time.time() * 1000)


def _day(ms: int) -> str:
    """The UTC date of an epoch-ms time, as the partitions name it."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def _partition(ms: int) -> str:
    """The date folder of an epoch-ms time."""
    return f"date={_day(ms)}"


@dataclass(frozen=True)
class _FileSpan:
    """What a log file's name says about the ``ts`` of its rows: every row is in
    ``[first, last]``. A file of the older layout only gives ``last`` (when it was written:
    rows are stamped before they are written); a name that gives neither is always read."""

    first: int | None = None
    last: int | None = None

    @staticmethod
    def of(name: str) -> _FileSpan:
        """The span the name of a log file gives."""
        fields = name.removeprefix("part-").removesuffix(".parquet").split("-")
        numbers = [int(f) for f in fields[:-1] if f.isdigit()]
        if len(numbers) != len(fields) - 1:
            return _FileSpan()
        if len(numbers) == 2:
            return _FileSpan(numbers[0], numbers[1])
        if len(numbers) == 1:
            return _FileSpan(None, numbers[0])
        return _FileSpan()

    def overlaps(self, start: int | None, end: int | None) -> bool:
        """False only when no row of the file can have ``start <= ts < end``."""
        if start is not None and self.last is not None and self.last < start:
            return False
        return end is None or self.first is None or self.first < end


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
    deployment: str = ""


class LogFiles:
    """The Parquet files of one prediction log: atomic writes into the layout's partitions,
    and reads of a time window, one file at a time."""

    def __init__(self, settings: Settings, log_uri: str | None = None) -> None:
        self.uri = log_root(settings, log_uri)
        self.fs, self.root = _filesystem(settings, self.uri)
        self.local = "file" in (
            self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        )

    def _folder(self, kind: str, model: str | None) -> str:
        """Where ``kind`` (predictions of one model, of all models, or labels) lives."""
        return f"{self.root}/{kind}" + (f"/model={model}" if model else "")

    def write(self, frame: pd.DataFrame, kind: str, model: str | None = None) -> list[str]:
        """Write the rows of ``frame`` (which has a ``ts`` column, epoch ms) as new files of
        ``kind`` (of ``model``): one file per UTC date of the rows' ``ts``, in that date's
        partition. Returns the paths written."""
        if "ts" not in frame.columns:
            raise ValueError("log rows need a 'ts' column (epoch ms)")
        if frame.empty:
            return []
        stamps = frame["ts"].to_numpy(dtype="int64")
        days = stamps // DAY_MS
        if days.min() == days.max():
            return [self._write_file(frame, stamps, kind, model)]
        return [
            self._write_file(part, part["ts"].to_numpy(dtype="int64"), kind, model)
            for _, part in frame.groupby(days, sort=True)
        ]

    def _write_file(
        self, frame: pd.DataFrame, stamps: np.ndarray[Any, Any], kind: str, model: str | None
    ) -> str:
        """Write rows of one date as one file, atomically; returns its path."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        first, last = int(stamps.min()), int(stamps.max())
        folder = f"{self._folder(kind, model)}/{_partition(first)}"
        name = f"part-{first}-{last}-{uuid.uuid4().hex[:12]}.parquet"
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

    def write_records(self, records: Sequence[Record]) -> list[str]:
        """Write the rows of some requests answered by one model; returns the files'
        paths."""
        models = {r.model for r in records}
        if len(models) != 1:
            raise ValueError(f"records of one model expected, got {sorted(models)}")
        return self.write(records_frame(records), PREDICTIONS, models.pop())

    def _listing(self, folder: str) -> list[str]:
        """The entries of ``folder`` as listed now (never a cached listing: another process
        writes the log), or [] when it does not exist."""
        self.fs.invalidate_cache(folder)
        try:
            return [str(p).rstrip("/") for p in self.fs.ls(folder, detail=False)]
        except FileNotFoundError:
            return []

    def _partitions(self, folder: str) -> Iterator[tuple[str, str]]:
        """``(date, path)`` of every date folder under ``folder`` (the predictions of all
        models too: one ``model=`` level down)."""
        for entry in self._listing(folder):
            name = entry.rsplit("/", 1)[-1]
            if name.startswith("date="):
                yield name[len("date=") :], entry
            elif name.startswith("model="):
                yield from self._partitions(entry)

    def _files(self, folder: str, start: int | None, end: int | None) -> list[str]:
        """The finished files under ``folder`` that may hold rows with ``start <= ts < end``:
        those in the window's date folders, and files of the older layout in the next one."""
        first = _day(start) if start is not None else ""
        last = _day(end - 1) if end is not None else "9999"
        after = _day(end - 1 + DAY_MS) if end is not None else last
        out = []
        for day, path in self._partitions(folder):
            if not first <= day <= after:
                continue
            for found in self._listing(path):
                name = found.rsplit("/", 1)[-1]
                if not name.endswith(".parquet") or name.startswith("."):
                    continue  # a file being written (``.part-...tmp``) or not a log file
                span = _FileSpan.of(name)
                if not span.overlaps(start, end):
                    continue
                if day > last and span.first is not None:
                    continue  # this layout never puts a row after its own date
                out.append(found)
        # by date, then by first ts: the order rows (and later labels) were stamped in
        return sorted(out)

    def chunks(
        self,
        kind: str,
        *,
        model: str | None = None,
        start: int | None = None,
        end: int | None = None,
        columns: Sequence[str] | None = None,
    ) -> Iterator[pd.DataFrame]:
        """The rows of ``kind`` with ``start <= ts < end`` (epoch ms), one file at a time,
        only ``columns`` (in that order, then ``ts``) where given; a name ending in ``*``
        selects every column with that prefix (``proba.*``)."""
        import pyarrow.parquet as pq

        for path in self._files(self._folder(kind, model), start, end):
            try:
                with self.fs.open(path, "rb") as fh:
                    parquet = pq.ParquetFile(fh)
                    wanted = None
                    if columns is not None:
                        wanted = _selected(columns, parquet.schema_arrow.names)
                    frame = parquet.read(columns=wanted).to_pandas()
            except FileNotFoundError:
                continue  # removed since it was listed (a retention job): nothing to read
            if start is not None:
                frame = frame[frame["ts"] >= start]
            if end is not None:
                frame = frame[frame["ts"] < end]
            if len(frame):
                yield frame.reset_index(drop=True)


def _selected(columns: Sequence[str], names: Sequence[str]) -> list[str]:
    """The columns of a file that ``columns`` asks for, in that order, then ``ts``."""
    out: list[str] = []
    for column in [*columns, "ts"]:
        if column.endswith("*"):
            out += [n for n in names if n.startswith(column[:-1])]
        elif column in names:
            out.append(column)
    return list(dict.fromkeys(out))


def _joined(chunks: Iterator[pd.DataFrame]) -> pd.DataFrame:
    frames = list(chunks)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


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
    if any(r.deployment for r in records):  # absent for servers recorded as no deployment
        meta["deployment"] = np.repeat([r.deployment for r in records], sizes)
    return pd.concat([meta, _inputs([r.inputs for r in records]), _outputs(records)], axis=1)


def _inputs(parts: list[Any]) -> pd.DataFrame:
    if all(isinstance(p, pd.DataFrame) for p in parts):
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        frame = frame.reset_index(drop=True)
        frame.columns = [f"{INPUT_PREFIX}{c}" for c in frame.columns]
        plain: pd.DataFrame = frame.astype(
            {c: object for c, d in frame.dtypes.items() if d == "category"}
        )
        return plain
    arrays = [np.asarray(p) for p in parts]
    array = np.concatenate([a.reshape(len(a), -1) if a.ndim > 1 else a for a in arrays])
    return pd.DataFrame({"input": list(array) if array.ndim > 1 else array})


def _outputs(records: Sequence[Record]) -> pd.DataFrame:
    """The ``output`` column (a classifier's labels), and ``proba`` (each row's class
    probabilities, None for rows of models without them) when any record has them."""
    labels = [getattr(r.outputs, "labels", r.outputs) for r in records]
    arrays = [o.to_numpy() if hasattr(o, "to_numpy") else np.asarray(o) for o in labels]
    array = np.concatenate([a.reshape(len(a), -1) if a.ndim > 1 else a for a in arrays])
    frame = pd.DataFrame({"output": list(array) if array.ndim > 1 else array})
    probas = [getattr(r.outputs, "proba", None) for r in records]
    if any(p is not None for p in probas):
        frame[PROBA] = [
            row
            for record, proba in zip(records, probas, strict=True)
            for row in (list(proba) if proba is not None else [None] * record.rows)
        ]
    return frame


def logged_inputs(rows: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The model inputs of logged prediction rows, named as the model's columns (``age``, not
    ``input.age``): all of them, or those of ``columns`` the rows have (a column the log
    lacks is left out, for the caller to name)."""
    if columns is None:
        logged = [c for c in rows.columns if c.startswith(INPUT_PREFIX)]
    else:
        logged = [f"{INPUT_PREFIX}{c}" for c in columns if f"{INPUT_PREFIX}{c}" in rows.columns]
    return rows[logged].rename(columns=lambda c: c[len(INPUT_PREFIX) :])


def _files(settings: Settings | None, log_uri: str | None) -> LogFiles:
    from shipyard.tracking import get_client

    return LogFiles(settings or get_client().settings, log_uri)


def iter_predictions(
    model: str,
    start: int | None,
    end: int | None,
    *,
    settings: Settings | None = None,
    log_uri: str | None = None,
) -> Iterator[pd.DataFrame]:
    """``model``'s predictions made in ``[start, end)`` (epoch ms, None: unbounded), all
    columns, one file at a time: memory follows a file, not the window. ``settings`` and
    ``log_uri`` as for :func:`read_predictions`."""
    return _files(settings, log_uri).chunks(PREDICTIONS, model=model, start=start, end=end)


def read_predictions(
    model: str | None = None,
    *,
    start: int | None = None,
    end: int | None = None,
    columns: Sequence[str] | None = None,
    settings: Settings | None = None,
    log_uri: str | None = None,
) -> pd.DataFrame:
    """The logged predictions, one row per predicted input row (empty when there are none).

    Args:
        model: Only this model's predictions (default: every model's).
        start: Only rows with ``ts >= start`` (epoch ms).
        end: Only rows with ``ts < end`` (epoch ms).
        columns: Only these columns (plus ``ts``); inputs are ``input.<column>``.
        settings: Whose log (default: the current client's settings).
        log_uri: The log's location when it is not ``<artifacts_uri>/prediction-log``.
    """
    files = _files(settings, log_uri)
    return _joined(files.chunks(PREDICTIONS, model=model, start=start, end=end, columns=columns))


def find_prediction(
    prediction_id: str,
    model: str | None = None,
    *,
    settings: Settings | None = None,
    log_uri: str | None = None,
) -> dict[str, Any]:
    """Who answered a prediction: its ``model``, ``version``, ``alias``, ``role``, ``ts``
    and ``deployment`` ("" when the server was recorded as none), from its first logged row
    (the answer, not a shadow's). Reads the log's metadata columns file by file (of
    ``model`` only, when given): a look-up for a person, not for a request path. NotFound
    when the log has no such prediction."""
    files = _files(settings, log_uri)
    wanted = ["prediction_id", "model", "version", "alias", "role", "deployment"]
    for frame in files.chunks(PREDICTIONS, model=model, columns=wanted):
        rows = frame[(frame["prediction_id"] == prediction_id) & (frame["role"] != "shadow")]
        if len(rows):
            row = rows.iloc[0]
            deployment = row.get("deployment")
            return {
                "prediction_id": prediction_id,
                "model": str(row["model"]),
                "version": int(row["version"]),
                "alias": str(row["alias"]),
                "role": str(row["role"]),
                "ts": int(row["ts"]),
                "deployment": deployment if isinstance(deployment, str) else "",
            }
    raise NotFound(f"no prediction {prediction_id!r} is in the prediction log", field="prediction")


def read_labels(
    *,
    columns: Sequence[str] | None = None,
    settings: Settings | None = None,
    log_uri: str | None = None,
) -> pd.DataFrame:
    """Every logged label (``prediction_id``, ``row``, ``label``, ``ts``; only ``columns``
    plus ``ts`` where given), the oldest file first (so a later label for the same
    prediction and row comes later)."""
    return _joined(_files(settings, log_uri).chunks(LABELS, columns=columns))


def log_labels(
    ids: Sequence[str],
    labels: Sequence[Any],
    *,
    rows: Sequence[int] | None = None,
    model: str | None = None,
    check: bool = False,
    settings: Settings | None = None,
    log_uri: str | None = None,
) -> int:
    """Record ground truth for earlier predictions, joinable with the prediction log on
    ``(prediction_id, row)``. Returns the number of labels written.

    Args:
        ids: The prediction ids the server returned, one per label.
        labels: ``labels[i]`` is the true value of prediction ``ids[i]``.
        rows: The row of each prediction's request (default: 0 for every label).
        model: With ``check``, only this model's predictions count as known.
        check: Refuse (NotFound, nothing written) labels whose ``(id, row)`` is not in the
            prediction log. Off by default because the server writes its log
            asynchronously: labels may come before the log is flushed. Unchecked labels that
            match no prediction are counted as ``unmatched_labels`` by monitoring.
        settings: Whose log (default: the current client's settings).
        log_uri: The log's location when it is not ``<artifacts_uri>/prediction-log``.
    """
    ids, labels = list(ids), list(labels)
    row_list = [0] * len(ids) if rows is None else [int(r) for r in rows]
    if not (len(ids) == len(labels) == len(row_list)):
        raise InvalidArgument(
            f"got {len(ids)} ids, {len(labels)} labels and {len(row_list)} rows; they must "
            "match one to one",
            field="labels" if len(labels) != len(ids) else "rows",
        )
    bad = [i for i in ids if not isinstance(i, str) or not i or len(i) > MAX_ID_LENGTH]
    if bad:
        raise InvalidArgument(f"prediction id {bad[0]!r} is not a valid id", field="ids")
    if not ids:
        return 0
    files = _files(settings, log_uri)
    if check:
        _refuse_unknown(files, ids, row_list, model)
    frame = pd.DataFrame(
        {
            "prediction_id": ids,
            "row": np.asarray(row_list, dtype="int32"),
            "label": labels,
            "ts": np.full(len(ids), now_ms(), dtype="int64"),
        }
    )
    try:
        files.write(frame, LABELS)
    except (TypeError, ValueError) as exc:  # pyarrow refusing mixed label types
        raise InvalidArgument(f"labels could not be stored: {exc}", field="labels") from None
    return len(ids)


def _refuse_unknown(files: LogFiles, ids: list[str], rows: list[int], model: str | None) -> None:
    """NotFound naming the ``(id, row)`` pairs that are not in the prediction log (of
    ``model``, or of any model)."""
    wanted = set(zip(ids, rows, strict=True))
    for chunk in files.chunks(PREDICTIONS, model=model, columns=["prediction_id", "row"]):
        keys = zip(chunk["prediction_id"], chunk["row"].astype(int), strict=True)
        wanted.difference_update(keys)
        if not wanted:
            return
    unknown = sorted(wanted)[:5]
    where = f"of model {model!r}" if model else ""
    raise NotFound(
        f"{len(wanted)} label(s) name predictions not in the prediction log {where}: "
        f"{', '.join(f'{i}/{r}' for i, r in unknown)}; check the ids (and rows) the "
        "server returned; nothing was written",
        field="ids",
    )
