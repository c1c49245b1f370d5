"""Fuzzing the model server: schemathesis generates requests from its OpenAPI document for
every route (V2 health, metadata, readiness and inference, labels, /predict, /healthz,
/readyz, /metrics), valid and invalid ones and valid ones aimed at the served model, and
fails on any 5xx, undocumented status, wrong content type or response that does not match
its schema. Few examples per route (a check of the contract; bench/fuzz.py runs more)."""

from __future__ import annotations

import pytest

from shipyard.serving._background import BackgroundServer
from tests.support.contract import break_the_contract, examples

EXAMPLES = 8
ROUTES = {
    "GET /v2/health/live", "GET /v2/health/ready", "GET /healthz", "GET /readyz", "GET /v2",
    "GET /v2/models/{name}", "GET /v2/models/{name}/ready", "POST /v2/models/{name}/infer",
    "GET /v2/models/{name}/versions/{version}",
    "GET /v2/models/{name}/versions/{version}/ready",
    "POST /v2/models/{name}/versions/{version}/infer", "POST /v2/models/{name}/labels",
    "POST /predict", "GET /metrics", "POST /invocations", "GET /ping", "GET /health",
}  # fmt: skip


@pytest.mark.slow
def test_no_request_breaks_the_model_servers_contract(server: BackgroundServer) -> None:
    operations, failures = break_the_contract(
        server.url + "/openapi.json", {"name": "churn", "version": "1"}, examples=examples(EXAMPLES)
    )
    assert set(operations) == ROUTES  # every route is documented, and fuzzed
    assert not failures, "\n\n".join(failures)
