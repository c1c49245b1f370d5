"""Ending a run whose buffered metrics the store cannot take (a full disk, a database gone):
the run must not claim FINISHED with points missing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

import shipyard
from shipyard.entities import MetricPoint
from shipyard.errors import ServiceUnavailable
from shipyard.tracking import Client
from shipyard.tracking._buffer import DROPPED_TAG
from shipyard.tracking._liveness import END_REASON_TAG


def test_a_run_whose_points_cannot_be_written_ends_failed_and_says_why(
    sqlite_sdk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = shipyard.start_run(experiment="e")
    real = sqlite_sdk.store.log_batch

    def metrics_fail(
        run_id: str,
        metrics: Sequence[MetricPoint] = (),
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Any:
        if metrics:
            raise ServiceUnavailable("the metadata database failed: database or disk is full")
        return real(run_id, metrics, params or {}, tags or {})

    monkeypatch.setattr(sqlite_sdk.store, "log_batch", metrics_fail)
    for step in range(10):
        shipyard.log_metric("loss", 1.0 / (step + 1), step=step)
    with pytest.raises(ServiceUnavailable, match="disk is full"):
        shipyard.end_run()
    ended = sqlite_sdk.get_run(run.id)
    assert ended.status == "FAILED"
    assert ended.tags[DROPPED_TAG] == "10"
    assert "10 buffered metric points could not be written" in ended.tags[END_REASON_TAG]
    assert sqlite_sdk.buffer.pending == 0  # not written later into the ended run
