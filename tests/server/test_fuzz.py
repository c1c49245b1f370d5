"""Fuzzing: schemathesis generates requests from the OpenAPI document for every operation,
valid and invalid ones (and valid ones aimed at records that exist), sends them to a live
server on SQLite and PostgreSQL, and fails on any 5xx, undocumented status code, wrong
content type, or response that does not match its schema. Kept small (a few examples per
operation and mode): a check of the contract, not an exhaustive search.

The contract (statuses, content types, schemas) is the server's, whatever the database: the
SQLite run tries ``EXAMPLES`` requests per operation and mode, the PostgreSQL run
``EXAMPLES_POSTGRES``, enough to reach every operation's queries on PostgreSQL (where a 5xx
of that backend would show) without repeating the whole search (bench/fuzz.py runs more)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.entities import ArtifactInfo, MetricPoint
from shipyard.server._state import Backend
from tests.support.contract import break_the_contract, examples
from tests.support.server import LiveServer

EXAMPLES = 8
EXAMPLES_POSTGRES = 3


@pytest.mark.slow
def test_no_request_breaks_the_contract(
    live_server: LiveServer, rest_backend: Backend, tmp_path: Path
) -> None:
    store = rest_backend.store
    exp = store.create_experiment("seed", tags={"t": "v"})
    run = store.create_run(exp.id, "seed-run", tags={"t": "v"})
    store.log_batch(run.id, [MetricPoint("m", 1.0, 0, 1)], {"p": "1"})
    source = tmp_path / "model.txt"
    source.write_text("weights")
    files = [ArtifactInfo("model.txt", store.put_blob(source), source.stat().st_size)]
    # 'name' aims at the user and at a model of that name, with version 1 @champion
    store.create_model_version("anonymous", files, flavor="pyfunc", tags={"t": "v"})
    store.set_model_alias("anonymous", "champion", 1)
    known = {
        "experiment_id": exp.id,
        "run_id": run.id,
        "name": "anonymous",
        "key": "t",
        "version": "1",
        "alias": "champion",
    }
    count = EXAMPLES_POSTGRES if store.settings.db_url.startswith("postgresql") else EXAMPLES
    operations, failures = break_the_contract(
        live_server.url + "/api/v1/openapi.json", known, examples=examples(count)
    )
    assert len(operations) > 30
    assert not failures, "\n\n".join(failures)
