"""MLflow's client registers models through Shipyard (``log_model(...,
registered_model_name=...)``), moves aliases and loads by alias; Shipyard's registry holds
the same versions, marked as MLflow models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shipyard.client import LocalStore
from tests.support.server import LiveServer

RunScenario = Callable[..., dict[str, Any]]


def test_mlflow_client_registers_and_loads_models_by_alias(
    run_scenario: RunScenario, live_server: LiveServer, served: LocalStore
) -> None:
    result = run_scenario("registry", live_server.url, name="iris")

    assert result["predictions"] == [0, 1, 2]
    assert result["by_version"] == [0, 1, 2]
    assert result["by_run"] == [0, 1, 2]
    assert result["champion"] == ["1", {"validated": "yes"}, ["champion"]]
    assert result["versions"] == ["1", "2"]
    assert result["aliases"] == {"champion": "1"}
    assert result["stages"] == "INVALID_PARAMETER_VALUE"

    # The same versions in Shipyard's registry, holding the MLflow model folder.
    version = served.get_model_version_by_alias("iris", "champion")
    assert version.version == 1 and version.flavor == "mlflow"
    assert version.run_id == result["run_id"]
    assert version.metadata["mlflow_model_id"] == result["model_id"]
    paths = {f.path for f in version.files}
    assert {"MLmodel", "requirements.txt"} <= paths
    assert paths & {"model.skops", "model.pkl"}  # the model file of the sklearn flavor
    assert [v.version for v in served.list_model_versions("iris")] == [2, 1]
    # The logged model is a child run of the training run, not a run MLflow's search shows.
    assert served.child_runs(result["run_id"])
