"""Batch scoring: a Parquet file in, the same rows with predictions out, in bounded chunks.

The input is read in record batches of ``chunk_rows`` (never loaded whole), each chunk is
checked against the signature and scored, and written to the output as it goes (to a
temporary name, renamed at the end: a failed run never leaves a half file under the name).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.errors import InvalidArgument, NotFound
from shipyard.registry import load_model

#: progress(rows_done, rows_total)
ScoreProgress = Callable[[int, int], None]


def predict_file(
    ref: str,
    input: str | Path,
    output: str | Path,
    *,
    chunk_rows: int = 50_000,
    column: str = "prediction",
    trusted: bool = False,
    progress: ScoreProgress | None = None,
) -> int:
    """Score every row of a Parquet file with a registered model; returns the rows written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source, target = Path(input), Path(output)
    if not source.is_file():
        raise NotFound(f"input file {source} does not exist", field="input")
    if chunk_rows < 1:
        raise InvalidArgument("chunk_rows must be at least 1", field="chunk_rows")
    model = load_model(ref, trusted=trusted)
    reader = pq.ParquetFile(source)
    total = reader.metadata.num_rows
    tmp = target.with_name(f".{target.name}.tmp")
    writer: Any = None
    done = 0
    try:
        for batch in reader.iter_batches(batch_size=chunk_rows):
            frame = batch.to_pandas()
            predictions: Any = np.asarray(model.predict(frame))
            if predictions.ndim > 1:
                predictions = list(predictions)
            table = pa.Table.from_pandas(
                frame.assign(**{column: predictions}), preserve_index=False
            )
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
            done += len(frame)
            if progress is not None:
                progress(done, total)
        if writer is None:  # an empty input: an empty output with the prediction column
            empty = reader.schema_arrow.append(pa.field(column, pa.float64()))
            writer = pq.ParquetWriter(tmp, empty)
        writer.close()
        writer = None
        os.replace(tmp, target)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
    return done
