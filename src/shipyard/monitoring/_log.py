"""Reading the prediction log for monitoring: a time window of one model's predictions, only
the columns asked for, one Parquet file at a time (so memory follows the chunk, not the
window), plus checked labels.

The layout is the serving log's (see :mod:`shipyard.serving._predlog`): files under
``predictions/model=<name>/date=<YYYY-MM-DD>/`` and ``labels/date=<YYYY-MM-DD>/``; only the
date folders that overlap the window are listed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from shipyard.config import Settings
from shipyard.errors import InvalidArgument, NotFound
from shipyard.serving import log_labels as _write_labels, log_root

DAY_MS = 86_400_000
#: The prefix of the logged input columns (``input.<column>``, as the model server writes them).
INPUT = "input."


def _filesystem(settings: Settings, uri: str) -> tuple[Any, str]:
    import fsspec

    options: dict[str, Any] = {}
    if uri.startswith("s3://") and settings.s3_endpoint_url:
        options = {"client_kwargs": {"endpoint_url": settings.s3_endpoint_url}}
    fs, root = fsspec.core.url_to_fs(uri, **options)
    return fs, str(root).rstrip("/")


def _date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def _files(fs: Any, folder: str, start: int | None, end: int | None) -> list[str]:
    try:
        found = fs.find(folder)
    except FileNotFoundError:
        return []
    first = _date(start) if start is not None else ""
    last = _date(end) if end is not None else "9999"
    out = []
    for path in found:
        name = path.rsplit("/", 1)[-1]
        if not path.endswith(".parquet") or name.startswith("."):
            continue
        day = next((p[5:] for p in path.split("/") if p.startswith("date=")), "")
        if first <= day <= last:
            out.append(path)
    return sorted(out)


def iter_log(
    settings: Settings,
    kind: str,
    *,
    model: str | None = None,
    start: int | None = None,
    end: int | None = None,
    columns: Sequence[str] | None = None,
    log_uri: str | None = None,
) -> Iterator[pd.DataFrame]:
    """Chunks of the log (``kind`` ``predictions`` or ``labels``) with ``start <= ts < end``
    (epoch ms), only ``columns`` (plus ``ts``) where given."""
    import pyarrow.parquet as pq

    fs, root = _filesystem(settings, log_root(settings, log_uri))
    folder = f"{root}/{kind}" + (f"/model={model}" if model else "")
    for path in _files(fs, folder, start, end):
        with fs.open(path, "rb") as fh:
            parquet = pq.ParquetFile(fh)
            names = parquet.schema_arrow.names
            wanted = None if columns is None else [c for c in {*columns, "ts"} if c in names]
            frame = parquet.read(columns=wanted).to_pandas()
        if start is not None:
            frame = frame[frame["ts"] >= start]
        if end is not None:
            frame = frame[frame["ts"] < end]
        if len(frame):
            yield frame


def read_log(settings: Settings, kind: str, **options: Any) -> pd.DataFrame:
    """:func:`iter_log` as one frame (empty when nothing matches)."""
    chunks = list(iter_log(settings, kind, **options))
    return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()


def checked_log_labels(
    ids: Sequence[str],
    labels: Sequence[Any],
    *,
    rows: Sequence[int] | None = None,
    model: str | None = None,
    settings: Settings | None = None,
    log_uri: str | None = None,
) -> int:
    """Record ground truth for logged predictions, refusing (and writing nothing) when a
    ``(prediction id, row)`` is not in the prediction log (of ``model``, or of any model).
    Returns the number of labels written."""
    from shipyard.tracking import get_client

    settings = settings or get_client().settings
    ids = list(ids)
    row_list = [0] * len(ids) if rows is None else [int(r) for r in rows]
    if len(row_list) != len(ids):
        raise InvalidArgument(
            f"got {len(ids)} ids and {len(row_list)} rows; they must match one to one",
            field="rows",
        )
    wanted = set(zip(ids, row_list, strict=True))
    for chunk in iter_log(
        settings, "predictions", model=model, columns=["prediction_id", "row"], log_uri=log_uri
    ):
        keys = zip(chunk["prediction_id"], chunk["row"].astype(int), strict=True)
        wanted.difference_update(keys)
        if not wanted:
            break
    if wanted:
        unknown = sorted(wanted)[:5]
        where = f"of model {model!r}" if model else ""
        raise NotFound(
            f"{len(wanted)} label(s) name predictions not in the prediction log {where}: "
            f"{', '.join(f'{i}/{r}' for i, r in unknown)}; check the ids (and rows) the "
            "server returned; nothing was written",
            field="ids",
        )
    return _write_labels(ids, labels, rows=row_list, settings=settings, log_uri=log_uri)
