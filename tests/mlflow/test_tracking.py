"""MLflow's own client logs to and searches a Shipyard server, on SQLite and PostgreSQL, and
Shipyard sees every run, param, tag and metric point it logged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shipyard.client import LocalStore
from tests.support.server import LiveServer

RunScenario = Callable[..., dict[str, Any]]


POINTS = 3000


def test_mlflow_client_logs_and_searches_runs(
    run_scenario: RunScenario, live_server: LiveServer, served: LocalStore
) -> None:
    result = run_scenario("tracking", live_server.url, experiment="churn", points=POINTS)

    assert result["by_acc"] == ["tree", "broken"]  # params.model = 'tree', best acc first
    assert result["failed"] == ["broken"]
    assert result["named"] == ["forest"]
    assert result["newest_first"] == ["broken", "forest", "tree"]
    assert [len(page) for page in result["pages"]] == [2, 1]
    assert result["pages"][0] + result["pages"][1] == result["newest_first"]
    assert result["params"] == {"model": "tree", "depth": "4"}
    assert result["tags"] == {"team": "fraud", "kind": "tree"}
    assert result["status"] == "FINISHED"
    assert result["unsupported"] == "INVALID_PARAMETER_VALUE"
    assert result["missing"] == "RESOURCE_DOES_NOT_EXIST"
    assert result["history"] == [[i, 1.0 / (i + 1)] for i in range(POINTS)]
    _check_artifacts(result, served)

    # The same runs, seen through Shipyard.
    exp = served.get_experiment_by_name("churn")
    assert exp.id == result["experiment_id"] and exp.project == "default"
    tree = served.get_run(result["runs"]["tree"])
    assert tree.name == "tree" and tree.status == "FINISHED"
    assert tree.params == {"model": "tree", "depth": "4"}
    assert tree.tags["team"] == "fraud"
    history = served.get_metric_history(tree.id, "loss")
    assert [(p.step, p.value) for p in history] == [(i, 1.0 / (i + 1)) for i in range(POINTS)]
    assert [p.value for p in served.get_metric_history(tree.id, "lr")] == [
        0.1 * s for s in range(5)
    ]
    assert served.get_run(result["runs"]["broken"]).status == "FAILED"


def _check_artifacts(result: dict[str, Any], served: LocalStore) -> None:
    assert result["listing"] == {
        "root": [["notes.txt", False], ["plots", True]],
        "plots": [["plots/a.bin", False, 1000], ["plots/deep", True, None]],
    }
    assert result["deep_file_intact"] is True
    assert result["text"] == "hello from mlflow\n"
    stored = {a.path: a.size for a in served.list_artifacts(result["runs"]["tree"])}
    assert stored == {"notes.txt": 18, "plots/a.bin": 1000, "plots/deep/b.bin": 300_000}
