"""How a model server behaves: batching, limits, rollouts, the prediction log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shipyard.errors import InvalidArgument

#: A function returning feature rows for entity keys: ``(feature_service, keys) -> frame``.
FeatureSource = Callable[[str, Any], Any]


@dataclass(frozen=True)
class ServingConfig:
    """Options of one model server.

    Attributes:
        max_batch_size: The most rows in one model call.
        max_wait_ms: How long a batch may wait for more requests, used only while requests
            arrive concurrently (a lone request is run at once).
        max_body_bytes: The largest request body (413 above it).
        poll_seconds: How often the server asks the registry where the alias points
            (0: never).
        challenger: A second alias, answering beside the first as ``mode`` says.
        mode: ``"canary"``: the challenger answers ``canary_share`` of the requests;
            ``"shadow"``: it receives a copy of each request and only its answer is logged.
        canary_share: The share of requests the challenger answers in canary mode.
        log_predictions: Append every prediction to the Parquet prediction log.
        log_uri: Where the log goes (default ``<artifacts_uri>/prediction-log``).
        log_queue_rows: The rows the log's queue holds; what does not fit is counted as
            shed, never dropped silently.
        log_flush_seconds: Seconds between writes of the queued rows.
        log_flush_rows: Write as soon as this many rows are queued.
        threads: The size of the process's BLAS/OpenMP pools.
        trusted: Load models whose format needs trust (pickle, custom classes).
        warmup_rounds: How many times a newly loaded version's input example is run
            through the whole path, so the first request is not the slow one.
        proba: What a classifier (a model with ``predict_proba``) does with its class
            probabilities: ``"auto"`` computes and logs them and answers with them when a
            request asks, ``"always"`` answers with them every time, ``"off"`` never
            computes them.
        feature_source: Where a model naming a feature service gets its features for
            entity keys (default: the feature store's online store).
    """

    max_batch_size: int = 64
    max_wait_ms: float = 2.0
    max_body_bytes: int = 16 * 2**20
    poll_seconds: float = 5.0
    challenger: str | None = None
    mode: str = "canary"
    canary_share: float = 0.1
    log_predictions: bool = True
    log_uri: str | None = None
    log_queue_rows: int = 100_000
    log_flush_seconds: float = 2.0
    log_flush_rows: int = 50_000
    threads: int = 1
    trusted: bool = False
    warmup_rounds: int = 3
    proba: str = "auto"
    feature_source: FeatureSource | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        checks = {
            "max_batch_size": self.max_batch_size >= 1,
            "max_wait_ms": self.max_wait_ms >= 0,
            "max_body_bytes": self.max_body_bytes >= 1024,
            "poll_seconds": self.poll_seconds >= 0,
            "mode": self.mode in ("canary", "shadow"),
            "canary_share": 0.0 <= self.canary_share <= 1.0,
            "log_queue_rows": self.log_queue_rows >= 1,
            "threads": self.threads >= 1,
            "proba": self.proba in ("auto", "always", "off"),
        }
        for name, ok in checks.items():
            if not ok:
                raise InvalidArgument(
                    f"serving option {name}={getattr(self, name)!r} is out of range",
                    field=name,
                )
