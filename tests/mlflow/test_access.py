"""MLflow's client against a server with authentication: MLFLOW_TRACKING_TOKEN is a Shipyard
token, and every MLflow route checks the caller's role on the record's project."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shipyard.client import LocalStore
from tests.support.server import LiveServer

RunScenario = Callable[..., dict[str, Any]]


def test_mlflow_token_is_a_shipyard_token_with_per_project_roles(
    run_scenario: RunScenario, live_server: LiveServer, served_with_auth: LocalStore
) -> None:
    store = served_with_auth
    for user, project in (("ann", "default"), ("bob", "fraud")):
        store.create_user(user)
        store.set_role(user, project, "editor")
    tokens = {
        "editor": store.create_token("ann").token,
        "outsider": store.create_token("bob").token,
    }
    result = run_scenario("auth", live_server.url, **tokens)

    assert result["outsider"] == {
        "get_run": "PERMISSION_DENIED",
        "log_metric": "PERMISSION_DENIED",
        "search": "PERMISSION_DENIED",
        "create_run": "PERMISSION_DENIED",
        "own_run": "OK",
        "sees": ["fraud-exp"],
    }
    assert result["editor"] == {"delete_run": "PERMISSION_DENIED", "sees": ["credit"]}
    assert result["anonymous"] == "UNAUTHENTICATED"
    assert result["forged"] == "UNAUTHENTICATED"
    run = store.get_run(result["run_id"])
    assert run.metrics == {"auc": 0.8} and run.lifecycle == "active"
    assert store.get_experiment_by_name("fraud-exp").project == "fraud"
