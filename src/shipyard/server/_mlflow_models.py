"""MLflow 3's logged models, kept as Shipyard runs.

A logged model (``mlflow.<flavor>.log_model``) is a run of its experiment, nested under the
run that logged it, tagged ``shipyard.mlflow_logged_model``: its tags and params are the
run's, its status the run's (PENDING is RUNNING, READY is FINISHED, UPLOAD_FAILED is FAILED),
its files the run's artifact tree. Its MLflow id is ``m-<run id>``. So a logged model needs
no storage of its own, belongs to its experiment's project like any run, and Shipyard's SDK
and CLI show it as the child run ``model`` of the training run. MLflow's run search leaves
these runs out, as MLflow does.
"""

from __future__ import annotations

from typing import Any

from shipyard.entities import Run
from shipyard.errors import InvalidArgument, NotFound
from shipyard.importers import LOGGED_MODEL_TAG
from shipyard.server import _mlflow_artifacts
from shipyard.server._access import Caller
from shipyard.server._mlflow_filter import translate_filter
from shipyard.server._mlflow_tracking import experiment_id
from shipyard.server._mlflow_wire import Args, MlflowRoute, key_values, mlflow_route

ID_PREFIX = "m-"
_STATUS_TO_RUN = {
    "LOGGED_MODEL_PENDING": "RUNNING", "1": "RUNNING",
    "LOGGED_MODEL_READY": "FINISHED", "2": "FINISHED",
    "LOGGED_MODEL_UPLOAD_FAILED": "FAILED", "3": "FAILED",
}  # fmt: skip
_STATUS_OF_RUN = {
    "RUNNING": "LOGGED_MODEL_PENDING",
    "SCHEDULED": "LOGGED_MODEL_PENDING",
    "FINISHED": "LOGGED_MODEL_READY",
    "FAILED": "LOGGED_MODEL_UPLOAD_FAILED",
    "KILLED": "LOGGED_MODEL_UPLOAD_FAILED",
}
#: Logged-model attributes a search filter may name, as run attributes.
_ATTRIBUTES = {
    "name": "name",
    "source_run_id": "parent_run_id",
    "status": "status",
    "creation_timestamp": "start_time",
    "creation_time": "start_time",
}


def run_of(model_id: str) -> str:
    """The id of the run holding the logged model ``model_id``."""
    if not model_id.startswith(ID_PREFIX) or len(model_id) <= len(ID_PREFIX):
        raise NotFound(f"no logged model {model_id!r}", field="model_id")
    return model_id[len(ID_PREFIX) :]


def logged_model(caller: Caller, model_id: str, role: str) -> Run:
    """The run holding the logged model ``model_id``, after checking ``role`` on its
    project."""
    run_id = run_of(model_id)
    caller.require_run(run_id, role)
    run = caller.store.get_run(run_id)
    if LOGGED_MODEL_TAG not in run.tags:
        raise NotFound(f"no logged model {model_id!r}", field="model_id")
    return run


def model_json(run: Run) -> dict[str, Any]:
    """A logged model as MLflow's ``LoggedModel`` message."""
    model_id = ID_PREFIX + run.id
    tags = {k: v for k, v in run.tags.items() if k != LOGGED_MODEL_TAG}
    info: dict[str, Any] = {
        "model_id": model_id,
        "experiment_id": run.experiment_id,
        "name": run.name,
        "creation_timestamp_ms": run.start_time,
        "last_updated_timestamp_ms": run.end_time or run.start_time,
        "artifact_uri": f"mlflow-artifacts:/{run.experiment_id}/models/{model_id}/artifacts",
        "status": _STATUS_OF_RUN.get(str(run.status), "LOGGED_MODEL_PENDING"),
        "model_type": run.tags.get(LOGGED_MODEL_TAG, ""),
        "tags": key_values(tags),
    }
    if run.parent_run_id:
        info["source_run_id"] = run.parent_run_id
    metrics = [{"key": k, "value": v} for k, v in run.metrics.items()]
    return {"info": info, "data": {"params": key_values(run.params), "metrics": metrics}}


def create_logged_model(caller: Caller, args: Args) -> dict[str, Any]:
    exp = experiment_id(caller, args.text("experiment_id", default="0"), "editor")
    source = args.optional_text("source_run_id")
    if source is not None:
        caller.require_run(source, "editor")
    tags = {**args.pairs("tags"), LOGGED_MODEL_TAG: args.optional_text("model_type") or ""}
    run = caller.store.create_run(
        exp, args.optional_text("name") or "model", parent_run_id=source, tags=tags
    )
    params = args.pairs("params")
    if params:
        caller.store.log_batch(run.id, params=params)
        run = caller.store.get_run(run.id)
    return {"model": model_json(run)}


def get_logged_model(caller: Caller, args: Args) -> dict[str, Any]:
    return {"model": model_json(logged_model(caller, args.text("model_id"), "viewer"))}


def finalize_logged_model(caller: Caller, args: Args) -> dict[str, Any]:
    run = logged_model(caller, args.text("model_id"), "editor")
    status = _STATUS_TO_RUN.get(str(args.data.get("status", "")))
    if status is None:
        raise InvalidArgument(
            "status must be LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED", field="status"
        )
    caller.store.update_run(run.id, status=status)
    return {"model": model_json(caller.store.get_run(run.id))}


def set_logged_model_tags(caller: Caller, args: Args) -> dict[str, Any]:
    run = logged_model(caller, args.text("model_id"), "editor")
    caller.store.log_batch(run.id, tags=args.pairs("tags"))
    return {}


def delete_logged_model(caller: Caller, args: Args) -> dict[str, Any]:
    run = logged_model(caller, args.text("model_id"), "maintainer")
    caller.store.delete_runs([run.id])
    return {}


def search_logged_models(caller: Caller, args: Args) -> dict[str, Any]:
    """Logged models of the experiments matching the filter (name, source_run_id, status,
    creation_timestamp, metrics, params, tags), newest first."""
    ids = [experiment_id(caller, e, "viewer") for e in args.strings("experiment_ids")]
    if not ids:
        raise InvalidArgument("experiment_ids must name an experiment", field="experiment_ids")
    clauses = [f"tags.`{LOGGED_MODEL_TAG}` is not null"]
    translated = translate_filter(args.optional_text("filter"), _ATTRIBUTES)
    if translated:
        clauses.append(translated)
    limit = min(args.int("max_results", 100, low=1) or 100, 1000)
    page = caller.store.search_runs(
        ids, " and ".join(clauses), ["start_time desc"], limit, args.optional_text("page_token")
    )
    body: dict[str, Any] = {"models": [model_json(r) for r in page.runs]}
    if page.next_page_token:
        body["next_page_token"] = page.next_page_token
    return body


def log_outputs(caller: Caller, args: Args) -> dict[str, Any]:
    """``runs/outputs``: the run produced these models (already its children here)."""
    run_id = args.text("run_id")
    caller.require_run(run_id, "editor")
    for item in args.records("models"):
        logged_model(caller, Args(item).text("model_id"), "viewer")
    return {}


def _artifacts_of(caller: Caller, model_id: str, path: str, role: str) -> _mlflow_artifacts.Place:
    return _mlflow_artifacts.Place(logged_model(caller, model_id, role).id, path)


_mlflow_artifacts.RESOLVERS["models"] = _artifacts_of


def routes() -> list[MlflowRoute]:
    """The logged-model routes of MLflow 3's tracking API."""
    table = [
        ("/logged-models", "POST", create_logged_model),
        ("/logged-models/search", "POST", search_logged_models),
        ("/logged-models/{model_id}", "GET", get_logged_model),
        ("/logged-models/{model_id}", "PATCH", finalize_logged_model),
        ("/logged-models/{model_id}", "DELETE", delete_logged_model),
        ("/logged-models/{model_id}/tags", "PATCH", set_logged_model_tags),
        ("/runs/outputs", "POST", log_outputs),
    ]
    return [route for entry in table for route in mlflow_route(*entry)]
