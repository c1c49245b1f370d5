"""Kills never corrupt state: every writer (run logging, artifact upload, model and dataset
registration, feature materialization, the model server's prediction log) killed with
SIGKILL and SIGTERM at seeded random points, on SQLite with a local blob folder and on
PostgreSQL with S3, leaves a store that fsck finds whole, FINISHED runs with every point,
SIGTERM'd runs KILLED with their points, and every version loadable.

One trial per writer, signal and backend here; ``bench/crash.py`` runs hundreds with the same
harness (``tests/support/crash.py``) and ``docs/reliability.md`` has the figures. The checks
after a kill read back only what may have changed since the last check; the last tests show
that damage to what an earlier check verified is still found.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.tracking import _fluent
from tests.support import crash
from tests.support.services import S3Endpoint

#: One kill per writer, signal and backend keeps CI near a minute; the bench runs hundreds.
TRIALS = 1


@pytest.fixture(scope="session")
def writer_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[crash.WriterServer]:
    """One process per test worker that imports the writers once and forks them."""
    with crash.WriterServer(tmp_path_factory.mktemp("crash") / "server.log") as server:
        yield server


@pytest.fixture
def _restore_sdk() -> Iterator[None]:
    """The harness configures the module-level SDK to its store; forget it afterwards."""
    yield
    _fluent._default = None


@pytest.fixture(
    params=[
        "sqlite-local",
        pytest.param("postgres-s3", marks=[pytest.mark.postgres, pytest.mark.s3]),
    ]
)
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> crash.Backend:
    """SQLite (a migrated copy) with a local blob folder, or PostgreSQL with an S3 bucket
    (credentials in the environment, which the writers inherit)."""
    if request.param == "sqlite-local":
        settings = request.getfixturevalue("sqlite_settings")
        return crash.Backend("sqlite-local", settings.db_url, str(tmp_path / "blobs"))
    endpoint: S3Endpoint = request.getfixturevalue("s3_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", endpoint.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", endpoint.secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", endpoint.region)
    monkeypatch.setenv("SHIPYARD_S3_ENDPOINT_URL", endpoint.endpoint_url)
    db_url = request.getfixturevalue("migrated_postgres_db_url")
    return crash.Backend("postgres-s3", db_url, f"s3://{bucket}/blobs")


@pytest.mark.usefixtures("_restore_sdk")
@pytest.mark.parametrize("signame", crash.SIGNALS)
@pytest.mark.parametrize("writer", crash.WRITERS)
def test_a_killed_writer_leaves_the_store_whole(
    writer: str,
    signame: str,
    backend: crash.Backend,
    writer_server: crash.WriterServer,
    tmp_path: Path,
) -> None:
    seed = crash.WRITERS.index(writer) * 10 + crash.SIGNALS.index(signame)
    campaign = crash.run_campaign(
        writer, signame, backend, tmp_path / "crash", trials=TRIALS, seed=seed, server=writer_server
    )
    assert campaign.problems == []
    assert [t.exit_code for t in campaign.trials] == [-getattr(signal, signame)] * TRIALS


@pytest.mark.usefixtures("_restore_sdk")
def test_the_checks_find_a_lost_point_and_a_damaged_blob(
    writer_server: crash.WriterServer, tmp_path: Path
) -> None:
    """The harness is not vacuous: a FINISHED run missing a point and a blob whose
    content changed after the kills are both reported, though an earlier check had
    verified them (a run's points are read again when their fingerprint changes; fsck
    hashes every blob after every kill)."""
    from sqlalchemy import text

    backend = crash.Backend("sqlite-local")
    campaign = crash.run_campaign(
        "artifacts", "SIGKILL", backend, tmp_path / "a", trials=1, server=writer_server
    )
    assert campaign.problems == [] and campaign.trials[0].records > 0
    store = campaign.store
    digest = store.list_artifacts(campaign.records[0]["run"])[0].digest
    with store.blobs.fs.open(store.blobs._path(digest), "wb") as fh:
        fh.write(b"not what was uploaded")
    assert any(f"damaged_blob {digest}" in p for p in campaign.check_again())

    campaign = crash.run_campaign(
        "runs", "SIGKILL", backend, tmp_path / "r", trials=1, server=writer_server
    )
    assert campaign.problems == []
    run_id = campaign.records[0]["run"]
    with campaign.store.engine.begin() as conn:
        conn.execute(text("DELETE FROM metrics WHERE run_id = :r AND step = 0"), {"r": run_id})
    assert any(run_id in p and "points stored" in p for p in campaign.check_again())


@pytest.mark.usefixtures("_restore_sdk")
def test_the_checks_find_a_prediction_log_file_removed_after_it_was_read(
    writer_server: crash.WriterServer, tmp_path: Path
) -> None:
    """After a kill only the rows logged since it began are read back; a file that an
    earlier check read is still listed after every kill, so one that is gone is reported."""
    campaign = crash.run_campaign(
        "predictions", "SIGKILL", crash.Backend("sqlite-local"), tmp_path / "p", trials=1,
        server=writer_server,
    )  # fmt: skip
    assert campaign.problems == []
    log = Path(campaign.store.settings.artifacts_uri) / "prediction-log"
    files = sorted(log.rglob("part-*.parquet"))
    assert files, "the writer flushed nothing before the kill"
    files[0].unlink()
    assert any(f"{files[0].name} is gone" in p for p in campaign.check_again())
