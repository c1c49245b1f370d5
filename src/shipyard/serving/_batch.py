"""Batch scoring: a Parquet file in, the same rows with predictions out, in bounded chunks.

The input's schema is checked against the model's signature before any row is scored (a
missing column is a SchemaError naming it, raised before anything is written). The file is
then read in record batches of ``chunk_rows`` (never loaded whole), each chunk checked and
scored, and written to the output as it goes, to a temporary name renamed at the end: a
failed run never leaves a half file under the name, nor a temporary one beside it.

``executor="local"`` scores in this process; ``executor="ray"`` (``shipyard[ray]``) scores the
chunks in parallel on a Ray cluster (see ``_batch_ray``), with the same output row for row.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from shipyard import models
from shipyard.errors import InvalidArgument, NotFound, SchemaError
from shipyard.registry import LoadedModel, Signature

#: progress(rows_done, rows_total)
ScoreProgress = Callable[[int, int], None]
EXECUTORS = ("local", "ray")


def predict_file(
    ref: str,
    input: str | Path,
    output: str | Path,
    *,
    chunk_rows: int = 50_000,
    column: str = "prediction",
    trusted: bool = False,
    progress: ScoreProgress | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    max_parallel: int | None = None,
) -> int:
    """Score every row of a Parquet file with a registered model; returns the rows written.

    The output holds the input's columns plus ``column``, in the input's order.
    ``executor="ray"`` scores chunks in parallel Ray actors (each loads the model once), on
    the cluster at ``ray_address`` (or ``RAY_ADDRESS``) or a local Ray, ``max_parallel``
    actors at most (default: the cluster's CPUs).

    Args:
        ref: The model to score with (``churn@champion``, ``churn/3``).
        input: The Parquet file to score.
        output: The Parquet file to write.
        chunk_rows: Rows scored at a time.
        column: The name of the predictions' column.
        trusted: Load a model whose format needs trust (pickle, custom classes).
        progress: Called with ``(rows done, rows in all)`` after each chunk.
        executor: ``"local"`` or ``"ray"``.
        ray_address: The Ray cluster to score on (``executor="ray"``).
        max_parallel: The most Ray actors (default: the cluster's CPUs).
    """
    source, target = Path(input), Path(output)
    if executor not in EXECUTORS:
        raise InvalidArgument(
            f"executor {executor!r} is not one of {', '.join(EXECUTORS)}", field="executor"
        )
    if not source.is_file():
        raise NotFound(f"input file {source} does not exist", field="input")
    if chunk_rows < 1:
        raise InvalidArgument("chunk_rows must be at least 1", field="chunk_rows")
    if max_parallel is not None and max_parallel < 1:
        raise InvalidArgument("max_parallel must be at least 1", field="max_parallel")
    if executor == "ray":
        from shipyard.serving._batch_ray import predict_file_on_ray

        return predict_file_on_ray(
            ref,
            source,
            target,
            chunk_rows=chunk_rows,
            column=column,
            trusted=trusted,
            progress=progress,
            address=ray_address,
            max_parallel=max_parallel,
        )
    import pyarrow.parquet as pq

    model = models.load(ref, trusted=trusted)
    reader = pq.ParquetFile(source)
    check_columns(model.signature, reader.schema_arrow.names, source)
    total = reader.metadata.num_rows
    done = 0
    with output_file(target, reader.schema_arrow, column) as write:
        for batch in reader.iter_batches(batch_size=chunk_rows):
            done += write(score_batch(model, batch, column))
            if progress is not None:
                progress(done, total)
    return done


def check_columns(signature: Signature | None, names: list[str], source: Path) -> None:
    """SchemaError naming the first column the signature needs that the file lacks."""
    columns = signature.inputs.columns if signature is not None else None
    if not columns:
        return
    have = set(names)
    missing = [c.name for c in columns if c.name not in have]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise SchemaError(
            f"{source} has no column {missing[0]!r}{more}, which the model's signature needs; "
            "add it to the input file",
            field=missing[0],
        )


def score_batch(model: LoadedModel, batch: Any, column: str) -> Any:
    """One record batch with the model's predictions appended as ``column`` (an Arrow table)."""
    import pyarrow as pa

    frame = batch.to_pandas()
    predictions: Any = np.asarray(model.predict(frame))
    if predictions.ndim > 1:
        predictions = list(predictions)
    return pa.Table.from_pandas(frame.assign(**{column: predictions}), preserve_index=False)


@contextmanager
def output_file(target: Path, input_schema: Any, column: str) -> Iterator[Callable[[Any], int]]:
    """A writer of scored tables to ``target``: written to a temporary name beside it and
    renamed when the block ends cleanly; on an error nothing is left behind. An input with
    no rows gives an empty output with the input's columns and a float ``column``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = target.with_name(f".{target.name}.tmp")
    writer: Any = None

    def write(table: Any) -> int:
        nonlocal writer
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema)
        writer.write_table(table)
        return int(table.num_rows)

    try:
        yield write
        if writer is None:
            writer = pq.ParquetWriter(tmp, input_schema.append(pa.field(column, pa.float64())))
        writer.close()
        writer = None
        os.replace(tmp, target)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
