"""Predictions written to a store's prediction log as the model server writes them, for
tests of what reads the log (the prediction look-up route, the lineage page)."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pandas as pd

from shipyard.config import Settings
from shipyard.serving._prediction_log import LogFiles, Record


def log_prediction(settings: Settings, model: str, version: int, *, deployment: str = "") -> str:
    """Log one answered one-row request of ``model`` version ``version`` (answered by
    ``deployment``, when given) in the prediction log of ``settings``; its prediction id."""
    prediction_id = uuid.uuid4().hex
    inputs = pd.DataFrame({"x": [1.0]})
    record = Record(
        prediction_id, int(time.time() * 1000), model, version, "champion", "primary", 1.0,
        inputs, np.ones(1), 1, deployment,
    )  # fmt: skip
    LogFiles(settings).write_records([record])
    return prediction_id
