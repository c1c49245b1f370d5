"""The closed loop of the demo: after the champion is served, the instrument that measures
tumour size is recalibrated (six size columns read 1.5x), the champion's accuracy drops, the
monitor flags the drifted columns, labels arrive, the labelled traffic becomes a new version
of the dataset, the monitor's retraining policy retrains (the training pipeline, without
promoting), scores candidate and champion on the held-out labelled window and promotes the
winner through the gate, the server (which follows ``@champion``) swaps to it, and one
prediction from before and one from after are walked back through lineage to their dataset
versions and git commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import pandas as pd

from shipyard import data
from shipyard.demo._data import PATIENT, TARGET
from shipyard.demo._lineage import PredictionLineage, walk
from shipyard.demo._names import DemoNames
from shipyard.demo._training import training
from shipyard.entities import MonitorRun
from shipyard.errors import ServiceUnavailable
from shipyard.monitoring import (
    create_monitor,
    holdout_mask,
    log_labels,
    run_monitor,
    set_retrain_policy,
)
from shipyard.serving import BackgroundServer, ServingConfig

#: The recalibrated instrument: these columns now read ``SCALE`` times their old value.
SHIFTED = (
    "mean radius",
    "mean perimeter",
    "mean area",
    "worst radius",
    "worst perimeter",
    "worst area",
)
SCALE = 1.5
ALERTS = ("drifted_columns > 0", "accuracy < 0.9")
#: The share of the labelled traffic kept out of retraining and used to compare the models.
HOLDOUT = 0.5
#: Told ``(label, done, total)`` as each stage of the loop ends.
Stage = Callable[[str, int, int], None]


@dataclass
class Traffic:
    """Requests answered: per row its prediction id, the version that answered, the
    prediction and the true label."""

    ids: list[str] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)
    predicted: list[int] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return float(np.mean(np.asarray(self.predicted) == np.asarray(self.labels)))


@dataclass
class LoopResult:
    """What the closed loop did, stage by stage.

    Attributes:
        normal: The traffic before the shift.
        shifted: The traffic after the instrument changed.
        after: The traffic after the retrained champion took over.
        first: The monitor run on normal traffic.
        second: The monitor run on shifted traffic (it triggers retraining).
        dataset: The dataset version the retraining trained on.
        champion_before: The champion's version before retraining.
        champion_after: The champion's version after it.
        swap_seconds: How long the model server took to serve the new champion.
        walks: Predictions walked back through the lineage graph.
        seconds: How long the loop took.
    """

    normal: Traffic
    shifted: Traffic
    after: Traffic
    first: MonitorRun
    second: MonitorRun
    dataset: str
    champion_before: int
    champion_after: int
    swap_seconds: float
    walks: list[PredictionLineage]
    seconds: float


def recalibrated(frame: pd.DataFrame) -> pd.DataFrame:
    """The same patients measured by the recalibrated instrument."""
    out = frame.copy()
    out[list(SHIFTED)] = out[list(SHIFTED)] * SCALE
    return out


def run_loop(model: str, stage: Stage | None = None, names: DemoNames | None = None) -> LoopResult:
    """Run the closed loop on ``model`` (its ``@champion`` already serving-ready), with the
    monitor, dataset and experiment of ``names`` (default: the first demo's)."""
    names = names or DemoNames.numbered(1)
    monitor = names.monitor
    started = time.perf_counter()
    report = stage or (lambda label, done, total: None)
    total = 7
    raw = data.load(f"{names.dataset}@latest")
    features = raw.drop(columns=[PATIENT, "event_timestamp", TARGET])
    labels = raw[TARGET].astype(int).to_numpy()
    config = ServingConfig(poll_seconds=0.25, log_flush_seconds=0.2)
    with BackgroundServer(f"{model}@champion", config) as server:
        report("serving @champion (following the alias)", 1, total)
        traffic_started = time.time()
        normal_rows = features.sample(150, random_state=0)
        normal = _send(server.url, normal_rows, labels[normal_rows.index])
        shifted_rows = recalibrated(features)
        shifted = _send(server.url, shifted_rows, labels)
        _flush(server)
        report("normal and shifted traffic sent", 2, total)
        # the monitor watches this traffic (not the earlier serving burst)
        seconds = int(time.time() - traffic_started) + 1
        now, window = int(traffic_started * 1000) + seconds * 1000, f"{seconds}s"
        create_monitor(monitor, f"{model}@champion", window=window, alerts=list(ALERTS))
        set_retrain_policy(
            monitor,
            training.ref,
            params={"promote": False, "dataset": names.dataset, "model": model},
            metric="accuracy",
            min_labelled=100,
            holdout=HOLDOUT,
            cooldown="1h",
        )
        first = run_monitor(monitor, now=now)
        report("monitor run: drift flagged", 3, total)
        log_labels(shifted.ids, shifted.labels, model=model)
        # the held-out half of the labelled traffic stays out of training: the policy
        # compares candidate and champion on it
        trainable = ~holdout_mask(shifted.ids, HOLDOUT)
        visits = _as_dataset(raw, shifted_rows[trainable], PATIENT, TARGET, labels[trainable])
        newest = pd.concat([raw, visits], ignore_index=True)
        dataset = data.register(
            names.dataset, newest, description="with the recalibrated visits"
        ).ref
        report("labels arrived; new dataset version", 4, total)
        second = run_monitor(monitor, now=now)
        report("retraining policy ran", 5, total)
        before = shifted.versions[0]
        swap_started = time.perf_counter()
        after_version = _wait_for_swap(server.url, shifted_rows.head(1), before)
        swap_seconds = time.perf_counter() - swap_started
        sample = shifted_rows.sample(100, random_state=1)
        after = _send(server.url, sample, labels[sample.index])
        _flush(server)
        report("server swapped to the new champion", 6, total)
    walks = [walk(shifted.ids[0], model), walk(after.ids[0], model)]
    report("lineage walked", 7, total)
    return LoopResult(
        normal,
        shifted,
        after,
        first,
        second,
        dataset,
        before,
        after_version,
        swap_seconds,
        walks,
        time.perf_counter() - started,
    )


def _as_dataset(
    raw: pd.DataFrame, rows: pd.DataFrame, patient: str, target: str, labels: np.ndarray
) -> pd.DataFrame:
    """The labelled recalibrated visits in the dataset's layout (new patient ids, a month
    later)."""
    out = rows.copy()
    out[patient] = np.arange(len(out), dtype="int64") + int(raw[patient].max()) + 1
    out["event_timestamp"] = raw["event_timestamp"].max() + pd.Timedelta(days=30)
    out[target] = pd.Series(labels, index=out.index).astype(raw[target].dtype)
    return out[list(raw.columns)]


def _send(url: str, rows: pd.DataFrame, labels: np.ndarray, threads: int = 8) -> Traffic:
    """One request per row, from ``threads`` clients at a time; answers kept in row order."""
    records = rows.to_dict(orient="records")
    answers: list[dict[str, Any]] = [{} for _ in records]

    def worker(first: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            for i in range(first, len(records), threads):
                answer = client.post("/predict", json=[records[i]])
                answer.raise_for_status()
                answers[i] = answer.json()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    return Traffic(
        [a["prediction_id"] for a in answers],
        [int(a["version"]) for a in answers],
        [int(a["predictions"][0]) for a in answers],
        [int(x) for x in labels],
    )


def _flush(server: BackgroundServer) -> None:
    """Wait until the server's prediction log holds every answered request."""
    if server.state.log is not None:
        server.state.log.flush()


def _wait_for_swap(url: str, row: pd.DataFrame, old: int, timeout: float = 30.0) -> int:
    """Post ``row`` until a version other than ``old`` answers (the server polls the alias)."""
    deadline = time.monotonic() + timeout
    record = row.to_dict(orient="records")
    with httpx.Client(base_url=url, timeout=30) as client:
        while time.monotonic() < deadline:
            version = int(client.post("/predict", json=record).json()["version"])
            if version != old:
                return version
            time.sleep(0.1)
    raise ServiceUnavailable(f"the server still answers with version {old} after {timeout:.0f}s")
