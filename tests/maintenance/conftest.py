"""Fixtures of the fsck and gc tests: a store on every database and blob-store backend,
seeded with one record of each kind that references a blob."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from shipyard import data
from shipyard.client import LocalStore
from shipyard.config import Settings, load_settings
from shipyard.entities import ArtifactInfo


@dataclass
class Seeded:
    """A store holding a run artifact, a dataset version and a model version; their digests
    and the content each blob holds, to damage and put back."""

    settings: Settings
    store: LocalStore
    artifact: str
    dataset: str
    model_file: str
    contents: dict[str, bytes]

    def configure_cli(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point the `shipyard` command at this store, as a user's environment would."""
        monkeypatch.setenv("SHIPYARD_DB_URL", self.settings.db_url)
        monkeypatch.setenv("SHIPYARD_ARTIFACTS_URI", self.settings.artifacts_uri)

    def sql(self, statement: str, **params: object) -> None:
        """Change the database behind the SDK's back (to make a half-registration)."""
        with self.store.engine.begin() as conn:
            conn.execute(text(statement), params)


@pytest.fixture
def seeded(tmp_path: Path, db_url: str, artifacts_uri: str) -> Seeded:
    """A store on each database x blob-store pair with one blob-backed record of each kind."""
    settings = load_settings(
        home=tmp_path / ".shipyard", db_url=db_url, artifacts_uri=artifacts_uri
    )
    store = LocalStore(settings)
    contents: dict[str, bytes] = {}

    def put(name: str, content: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(content)
        return path

    experiment = store.create_experiment("maint")
    run = store.create_run(experiment.id, "r1")
    [logged] = store.log_artifact(run.id, put("report.txt", b"run report\n" * 50), "report.txt")
    contents[logged.digest] = b"run report\n" * 50
    version = data.register("sales", pd.DataFrame({"x": [1, 2, 3]}), store=store, lineage=False)
    contents[version.content_hash] = store.blobs.get_bytes(version.content_hash)
    weights = b"model weights" * 100
    digest = store.put_blob(put("weights.bin", weights))
    contents[digest] = weights
    store.create_model_version(
        "churn", [ArtifactInfo("weights.bin", digest, len(weights))], flavor="pyfunc"
    )
    return Seeded(settings, store, logged.digest, version.content_hash, digest, contents)
