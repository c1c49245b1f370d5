"""Schemathesis over an OpenAPI document: every operation, valid and invalid requests (and
valid ones aimed at records that exist), each response checked against the document. Used by
the fuzz tests of the REST server and of the model server."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

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

#: How many times more examples than in the suite (bench/fuzz.py sets it): read at import,
#: since every test runs with the SHIPYARD_* variables cleared.
SCALE = max(1, int(os.environ.get("SHIPYARD_FUZZ_SCALE", "1")))


def examples(count: int) -> int:
    """``count`` examples for a property test, times ``SHIPYARD_FUZZ_SCALE``."""
    return count * SCALE


#: How long fetching the OpenAPI document may take: schemathesis's default (10 s) is less
#: than a loaded machine needs to build it, and a timeout there fails the whole test.
SCHEMA_TIMEOUT_S = 120

#: No 5xx, no status the document does not list, the documented content type and schema.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _exercise(
    operation: Any,
    mode: GenerationMode,
    known: Mapping[str, str] | None,
    examples: int,
) -> None:
    names = {p.name for p in operation.path_parameters}
    path_parameters = {k: v for k, v in (known or {}).items() if k in names} or None
    if known is not None and not path_parameters:
        return  # nothing of this operation's path to aim at a real record

    @given(operation.as_strategy(mode, path_parameters=path_parameters))
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS)

    run()


def break_the_contract(
    url: str,
    known: Mapping[str, str],
    *,
    examples: int,
) -> tuple[list[str], list[str]]:
    """Fuzz every operation of the OpenAPI document at ``url``: positive and negative
    requests, and positive ones with the path parameters of ``known`` (real records).
    Returns the operations tried and one line per operation and mode that broke the
    contract (every operation is tried, all failures reported)."""
    schema = schemathesis.openapi.from_url(url, timeout=SCHEMA_TIMEOUT_S)
    failures: list[str] = []
    operations: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        operations.append(operation.label)
        for mode, aim in (
            (GenerationMode.POSITIVE, None),
            (GenerationMode.NEGATIVE, None),
            (GenerationMode.POSITIVE, known),
        ):
            try:
                _exercise(operation, mode, aim, examples)
            except Unsatisfiable:
                pass  # no invalid input exists for it (e.g. only free-text path parameters)
            except (Exception, BaseExceptionGroup) as exc:  # try every operation, report all
                failures.append(f"{operation.label} [{mode}{' aimed' if aim else ''}]: {exc}")
    return operations, failures
