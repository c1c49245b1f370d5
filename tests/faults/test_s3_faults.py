"""An S3 artifact store answering 500s, stalling past the read timeout, or failing every
request (a fault-injecting proxy in front of the test's moto server).

Blob writes and reads are retried with back-off (botocore's standard mode, which the blob
store configures when the storage options set nothing), which is safe because a blob's key is
its content. When the retries run out the caller gets a ServiceUnavailable naming the blob,
and nothing references a blob that was not stored: ``shipyard fsck`` finds no problem.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.artifacts import BlobStore, _blobstore
from shipyard.config import Settings, load_settings
from shipyard.errors import NotFound, ServiceUnavailable
from shipyard.maintenance import fsck
from shipyard.tracking import _fluent
from shipyard.tracking._run import active_stack
from tests.support.services import S3Endpoint

pytestmark = pytest.mark.s3


@pytest.fixture
def s3_settings(
    faulty_s3: Any,
    s3_endpoint: S3Endpoint,
    s3_bucket: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Settings]:
    """The module-level API on a SQLite home whose artifacts go to S3 through the faulty
    proxy; open runs are ended and the client closed after."""
    for key, value in faulty_s3.settings_env(s3_endpoint).items():
        monkeypatch.setenv(key, value)
    settings = load_settings(
        home=tmp_path / ".shipyard",
        artifacts_uri=f"s3://{s3_bucket}/blobs",
        s3_endpoint_url=faulty_s3.endpoint_url,
        sync_logging=True,
    )
    client = _fluent.configure(settings)
    yield settings
    faulty_s3.down = False
    for run in reversed(list(active_stack())):
        run.end("KILLED")
    client.close()
    _fluent._default = None


def _model() -> Any:
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.2], [0.1, 0.9]])
    return LogisticRegression().fit(X, [0, 1, 1, 0]), X


def test_blobs_round_trip_through_500s_and_timeouts(
    faulty_s3: Any,
    s3_endpoint: S3Endpoint,
    s3_bucket: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in faulty_s3.settings_env(s3_endpoint).items():
        monkeypatch.setenv(key, value)
    # a short read timeout, so that a stalled request times out (the retries are the defaults)
    options = {
        "client_kwargs": {"endpoint_url": faulty_s3.endpoint_url},
        "config_kwargs": {"read_timeout": 1, "connect_timeout": 1},
    }
    blobs = BlobStore(f"s3://{s3_bucket}/blobs", storage_options=options)
    faulty_s3.stall_seconds = 2.0
    data = os.urandom(50_000)
    faulty_s3.plan = ["error", "stall"]  # the put's first two requests fail
    digest = blobs.put_bytes(data).digest
    faulty_s3.plan = ["stall", "error"]  # and the get's
    assert blobs.get_bytes(digest) == data
    assert faulty_s3.errors == 2 and faulty_s3.stalls == 2 and not faulty_s3.plan


def test_the_s3_defaults_leave_the_callers_settings_alone() -> None:
    mine = {"config_kwargs": {"retries": {"mode": "adaptive", "max_attempts": 9}}, "anon": True}
    merged = _blobstore._with_s3_defaults("s3://bucket/blobs", mine)
    assert merged["config_kwargs"]["retries"] == {"mode": "adaptive", "max_attempts": 9}
    assert merged["config_kwargs"]["read_timeout"] == 60 and merged["anon"] is True
    assert _blobstore._with_s3_defaults("/tmp/blobs", {}) == {}


def test_artifacts_and_models_survive_flaky_s3(
    faulty_s3: Any, s3_settings: Settings, tmp_path: Path
) -> None:
    faulty_s3.error_share = 0.15
    source = tmp_path / "weights.bin"
    source.write_bytes(os.urandom(200_000))
    model, X = _model()
    with shipyard.start_run() as run:
        shipyard.log_artifact(source)
        version = shipyard.register_model(model, "flaky", input_example=X[:2])
    assert faulty_s3.errors > 0
    back = shipyard.download_artifact(run.id, "weights.bin", tmp_path / "back.bin")
    assert back.read_bytes() == source.read_bytes()
    loaded = shipyard.models.load(f"flaky/{version.version}")
    assert loaded.predict(X).tolist() == model.predict(X).tolist()
    faulty_s3.error_share = 0.0
    assert fsck(s3_settings).ok


def test_s3_down_fails_clearly_and_leaves_nothing_referenced(
    faulty_s3: Any,
    s3_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # fewer attempts than the default 5: this test is about the error, not the retries
    quick = {**_blobstore.S3_CLIENT_DEFAULTS, "retries": {"mode": "standard", "max_attempts": 2}}
    monkeypatch.setattr(_blobstore, "S3_CLIENT_DEFAULTS", quick)
    source = tmp_path / "weights.bin"
    source.write_bytes(os.urandom(100_000))
    model, X = _model()
    client = shipyard.tracking.get_client()
    with shipyard.start_run() as run:
        faulty_s3.down = True
        with pytest.raises(ServiceUnavailable, match="artifact store failed") as upload:
            shipyard.log_artifact(source)
        with pytest.raises(ServiceUnavailable, match="artifact store failed"):
            shipyard.register_model(model, "grounded", input_example=X[:2])
        faulty_s3.down = False
        assert client.store.list_artifacts(run.id) == []
        with pytest.raises(NotFound):
            shipyard.models.get("grounded")
        report = fsck(s3_settings)
        assert report.ok, report.problems
        # once S3 answers again, the same calls work
        shipyard.log_artifact(source)
        assert shipyard.register_model(model, "grounded", input_example=X[:2]).version == 1
    assert "Internal Server Error" in upload.value.message
    assert s3_settings.s3_endpoint_url not in upload.value.message  # no store location
    assert fsck(s3_settings).ok
