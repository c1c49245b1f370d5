"""Fuzzing: schemathesis generates requests from the OpenAPI document for every operation,
valid and invalid ones (and valid ones aimed at records that exist), sends them to a live
server on SQLite and PostgreSQL, and fails on any 5xx, undocumented status code, wrong
content type, or response that does not match its schema. Kept small (a few examples per
operation and mode): a check of the contract, not an exhaustive search."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shipyard.entities import ArtifactInfo, MetricPoint
from shipyard.server._state import Backend
from tests.support.server import LiveServer

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 8


def _exercise(operation: Any, mode: GenerationMode, known: dict[str, str] | None) -> None:
    names = {p.name for p in operation.path_parameters}
    path_parameters = {k: v for k, v in (known or {}).items() if k in names} or None
    if known is not None and not path_parameters:
        return  # nothing of this operation's path to aim at a real record

    @given(operation.as_strategy(mode, path_parameters=path_parameters))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS)

    run()


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
    schema = schemathesis.openapi.from_url(live_server.url + "/api/v1/openapi.json")
    failures = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode, aim in (
            (GenerationMode.POSITIVE, None),
            (GenerationMode.NEGATIVE, None),
            (GenerationMode.POSITIVE, known),
        ):
            try:
                _exercise(operation, mode, aim)
            except Unsatisfiable:
                pass  # no invalid input exists for it (e.g. only free-text path parameters)
            except (Exception, BaseExceptionGroup) as exc:  # try every operation, report all
                failures.append(f"{operation.label} [{mode}{' aimed' if aim else ''}]: {exc}")
    assert operations > 30
    assert not failures, "\n\n".join(failures)
