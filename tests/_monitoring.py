"""Helpers for monitoring tests: a synthetic prediction log written in the server's layout."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd

from shipyard.config import Settings
from shipyard.serving._predlog import ParquetWriter


def write_predictions(
    settings: Settings,
    model: str,
    inputs: pd.DataFrame,
    outputs: np.ndarray,
    *,
    ts: np.ndarray | int,
    version: int = 1,
    rows_per_request: int = 1,
) -> pd.DataFrame:
    """Log ``inputs`` and ``outputs`` as the server would (``rows_per_request`` rows per
    prediction id); returns the rows written."""
    n = len(inputs)
    ids = [uuid.uuid4().hex for _ in range(0, n, rows_per_request)]
    frame = pd.DataFrame(
        {
            "prediction_id": np.repeat(ids, rows_per_request)[:n],
            "row": np.tile(np.arange(rows_per_request), len(ids))[:n].astype("int32"),
            "ts": np.broadcast_to(np.asarray(ts, dtype="int64"), (n,)).copy(),
            "model": model,
            "version": np.int32(version),
            "alias": "champion",
            "role": "primary",
            "latency_ms": 1.0,
        }
    )
    frame = pd.concat(
        [
            frame,
            inputs.reset_index(drop=True).add_prefix("input."),
            pd.DataFrame({"output": outputs}),
        ],
        axis=1,
    )
    ParquetWriter(settings).write(frame, "predictions", f"model={model}")
    return frame
