"""MLflow's tracking API (experiments, runs, params, metrics, tags, search, metric histories)
over Shipyard's Store.

Ids are Shipyard's own: an MLflow experiment or run id *is* the Shipyard id, so a run logged
through MLflow's client is the same run in Shipyard's SDK and CLI. MLflow's experiment ``0``
is the experiment named ``Default`` in project ``default``, created on first use. A new
experiment goes to the project named by its ``shipyard.project`` tag (``default`` without
one). Every handler checks the caller's role on the project of the record it touches, as the
Shipyard API does: viewer reads, editor writes, maintainer deletes and renames.
"""

from __future__ import annotations

import fnmatch
import re
import secrets
from typing import Any

from shipyard import _validation as v
from shipyard.entities import DEFAULT_PROJECT, Experiment
from shipyard.errors import InvalidArgument, NotFound
from shipyard.importers import LOGGED_MODEL_TAG
from shipyard.server._access import Caller
from shipyard.server._mlflow_filter import UnsupportedFilter, translate_filter, translate_order_by
from shipyard.server._mlflow_wire import (
    DEFAULT_EXPERIMENT_ID,
    DEFAULT_EXPERIMENT_NAME,
    PROJECT_TAG,
    Args,
    MlflowRoute,
    experiment_json,
    metric_json,
    metric_point,
    metric_points,
    mlflow_route,
    run_info_json,
    run_json,
)

#: The most runs or experiments one search page returns (MLflow's own limit for runs).
MAX_RESULTS = 50_000
_RUN_NAME_TAG = "mlflow.runName"
_PARENT_TAG = "mlflow.parentRunId"
_NOTE_TAG = "mlflow.note.content"
_VIEW_TYPES = {"ACTIVE_ONLY", "DELETED_ONLY", "ALL", "1", "2", "3"}


def experiment_id(caller: Caller, ident: str, role: str) -> str:
    """The Shipyard experiment an MLflow experiment id names (``0``: ``Default``), after
    checking the caller's ``role`` on its project."""
    if ident == DEFAULT_EXPERIMENT_ID:
        try:
            exp = caller.store.get_experiment_by_name(DEFAULT_EXPERIMENT_NAME)
        except NotFound:
            caller.require(DEFAULT_PROJECT, "editor")
            exp = caller.store.get_or_create_experiment(DEFAULT_EXPERIMENT_NAME, DEFAULT_PROJECT)
        caller.require(exp.project, role)
        return exp.id
    caller.require_experiment(ident, role)
    return ident


# ----------------------------------------------------------------------------- experiments


def create_experiment(caller: Caller, args: Args) -> dict[str, Any]:
    tags = args.pairs("tags")
    project = v.check_project(tags.get(PROJECT_TAG) or DEFAULT_PROJECT)
    caller.require(project, "editor")
    description = tags.pop(_NOTE_TAG, "")
    exp = caller.store.create_experiment(args.text("name"), description, tags, project)
    return {"experiment_id": exp.id}


def get_experiment(caller: Caller, args: Args) -> dict[str, Any]:
    ident = experiment_id(caller, args.text("experiment_id"), "viewer")
    return {"experiment": experiment_json(caller.store.get_experiment(ident))}


def get_experiment_by_name(caller: Caller, args: Args) -> dict[str, Any]:
    exp = caller.store.get_experiment_by_name(args.text("experiment_name"))
    caller.require(exp.project, "viewer")
    return {"experiment": experiment_json(exp)}


def search_experiments(caller: Caller, args: Args) -> dict[str, Any]:
    """Experiments the caller may read; the filter takes ``name = 'x'`` and ``name LIKE 'x%'``
    clauses (MLflow's common ones), anything else is refused."""
    view = str(args.data.get("view_type") or "ACTIVE_ONLY")
    found = [
        e
        for e in caller.store.list_experiments(include_deleted=view != "ACTIVE_ONLY")
        if caller.may_see(e.project) and (view != "DELETED_ONLY" or e.lifecycle == "deleted")
    ]
    found = [e for e in found if _experiment_matches(e, args.optional_text("filter"))]
    found.sort(key=lambda e: (-e.created_at, e.id))
    limit = args.int("max_results", 1000, low=1) or 1000
    start = args.int("page_token", 0, low=0) or 0
    page = found[start : start + min(limit, MAX_RESULTS)]
    body: dict[str, Any] = {"experiments": [experiment_json(e) for e in page]}
    if start + len(page) < len(found):
        body["next_page_token"] = str(start + len(page))
    return body


def _experiment_matches(exp: Experiment, text: str | None) -> bool:
    if not text:
        return True
    for clause in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = re.fullmatch(
            r"(?:attributes\.)?name\s*(=|!=|like|ilike)\s*'((?:[^'\\]|\\.)*)'",
            clause.strip(),
            flags=re.IGNORECASE,
        )
        if match is None:
            raise UnsupportedFilter(
                f"filter: {clause!r} is not supported for experiments; use name = '...' or "
                "name LIKE '...'",
                field="filter",
            )
        op, value = match.group(1).lower(), match.group(2)
        if (op == "=" and exp.name != value) or (op == "!=" and exp.name == value):
            return False
        if op in ("like", "ilike"):
            pattern = fnmatch.translate(value.replace("%", "*").replace("_", "?"))
            flags = re.IGNORECASE if op == "ilike" else 0
            if not re.match(pattern, exp.name, flags):
                return False
    return True


def delete_experiment(caller: Caller, args: Args) -> dict[str, Any]:
    caller.store.delete_experiment(experiment_id(caller, args.text("experiment_id"), "maintainer"))
    return {}


def restore_experiment(caller: Caller, args: Args) -> dict[str, Any]:
    caller.store.restore_experiment(experiment_id(caller, args.text("experiment_id"), "maintainer"))
    return {}


def update_experiment(caller: Caller, args: Args) -> dict[str, Any]:
    ident = experiment_id(caller, args.text("experiment_id"), "maintainer")
    new_name = args.optional_text("new_name")
    if new_name is not None:
        caller.store.rename_experiment(ident, new_name)
    return {}


def set_experiment_tag(caller: Caller, args: Args) -> dict[str, Any]:
    raise InvalidArgument(
        "experiment tags are set when an experiment is created in Shipyard; "
        "set-experiment-tag is not supported",
        field="key",
    )


# ----------------------------------------------------------------------------- runs


def create_run(caller: Caller, args: Args) -> dict[str, Any]:
    exp = experiment_id(caller, args.text("experiment_id", default="0"), "editor")
    tags = args.pairs("tags")
    name = args.optional_text("run_name") or tags.get(_RUN_NAME_TAG) or _generated_name()
    tags.pop(_RUN_NAME_TAG, None)
    parent = tags.pop(_PARENT_TAG, None) or None
    if parent is not None:
        caller.require_run(parent, "viewer")
    run = caller.store.create_run(
        exp,
        name,
        user=args.optional_text("user_id") or tags.get("mlflow.user", ""),
        start_time=args.int("start_time", None, low=0),
        parent_run_id=parent,
        tags=tags,
    )
    return {"run": run_json(run)}


def _generated_name() -> str:
    """A name for a run created without one (MLflow's server makes one up too)."""
    return f"run-{secrets.token_hex(4)}"


def _run_id(caller: Caller, args: Args, role: str) -> str:
    run_id = args.text("run_id", "run_uuid")
    caller.require_run(run_id, role)
    return run_id


def get_run(caller: Caller, args: Args) -> dict[str, Any]:
    return {"run": run_json(caller.store.get_run(_run_id(caller, args, "viewer")))}


def update_run(caller: Caller, args: Args) -> dict[str, Any]:
    run_id = _run_id(caller, args, "editor")
    status = args.optional_text("status")
    caller.store.update_run(
        run_id,
        status=status,
        end_time=args.int("end_time", None, low=0),
        name=args.optional_text("run_name"),
    )
    return {"run_info": run_info_json(caller.store.get_run(run_id))}


def delete_run(caller: Caller, args: Args) -> dict[str, Any]:
    caller.store.delete_runs([_run_id(caller, args, "maintainer")])
    return {}


def restore_run(caller: Caller, args: Args) -> dict[str, Any]:
    caller.store.restore_runs([_run_id(caller, args, "maintainer")])
    return {}


def log_metric(caller: Caller, args: Args) -> dict[str, Any]:
    run_id = _run_id(caller, args, "editor")
    caller.store.log_batch(run_id, [metric_point(args)])
    return {}


def log_param(caller: Caller, args: Args) -> dict[str, Any]:
    run_id = _run_id(caller, args, "editor")
    caller.store.log_batch(run_id, params={args.text("key"): str(args.data.get("value", ""))})
    return {}


def set_tag(caller: Caller, args: Args) -> dict[str, Any]:
    run_id = _run_id(caller, args, "editor")
    key, value = args.text("key"), str(args.data.get("value", ""))
    if key == _RUN_NAME_TAG:
        caller.store.update_run(run_id, name=value)
    else:
        caller.store.log_batch(run_id, tags={key: value})
    return {}


def delete_tag(caller: Caller, args: Args) -> dict[str, Any]:
    caller.store.delete_tag(_run_id(caller, args, "editor"), args.text("key"))
    return {}


def log_batch(caller: Caller, args: Args) -> dict[str, Any]:
    run_id = _run_id(caller, args, "editor")
    points = metric_points(args.records("metrics"))
    tags = args.pairs("tags")
    name = tags.pop(_RUN_NAME_TAG, None)
    caller.store.log_batch(run_id, points, args.pairs("params"), tags)
    if name:
        caller.store.update_run(run_id, name=name)
    return {}


def get_metric_history(caller: Caller, args: Args) -> dict[str, Any]:
    run_id = _run_id(caller, args, "viewer")
    history = caller.store.get_metric_history(run_id, args.text("metric_key"))
    return {"metrics": [metric_json(p) for p in history]}


def search_runs(caller: Caller, args: Args) -> dict[str, Any]:
    """Runs matching MLflow's filter and order, a page at a time (the page token is
    Shipyard's own)."""
    ids = [experiment_id(caller, e, "viewer") for e in args.strings("experiment_ids")]
    if not ids:
        raise InvalidArgument(
            "experiment_ids must name at least one experiment", field="experiment_ids"
        )
    view = str(args.data.get("run_view_type") or "ACTIVE_ONLY")
    if view not in _VIEW_TYPES:
        raise InvalidArgument(
            f"run_view_type {view!r} is not one of ACTIVE_ONLY, DELETED_ONLY, ALL"
        )
    limit = args.int("max_results", 1000, low=1) or 1000
    clauses = [f"tags.`{LOGGED_MODEL_TAG}` is null"]  # logged models are not runs to MLflow
    translated = translate_filter(args.optional_text("filter"))
    if translated:
        clauses.append(translated)
    page = caller.store.search_runs(
        ids,
        " and ".join(clauses),
        translate_order_by(args.strings("order_by")),
        min(limit, MAX_RESULTS),
        args.optional_text("page_token"),
        include_deleted=view not in ("ACTIVE_ONLY", "1"),
    )
    runs = page.runs
    if view in ("DELETED_ONLY", "2"):
        runs = [r for r in runs if r.lifecycle == "deleted"]
    body: dict[str, Any] = {"runs": [run_json(r) for r in runs]}
    if page.next_page_token:
        body["next_page_token"] = page.next_page_token
    return body


def accept_and_ignore(caller: Caller, args: Args) -> dict[str, Any]:
    """``log-inputs``: dataset inputs have no Shipyard counterpart yet; the run must exist
    and the caller must be allowed to write to it."""
    _run_id(caller, args, "editor")
    return {}


def routes() -> list[MlflowRoute]:
    """Every route of MLflow's tracking API served here."""
    table = [
        ("/experiments/create", "POST", create_experiment),
        ("/experiments/get", "GET", get_experiment),
        ("/experiments/get-by-name", "GET", get_experiment_by_name),
        ("/experiments/search", "POST", search_experiments),
        ("/experiments/search", "GET", search_experiments),
        ("/experiments/delete", "POST", delete_experiment),
        ("/experiments/restore", "POST", restore_experiment),
        ("/experiments/update", "POST", update_experiment),
        ("/experiments/set-experiment-tag", "POST", set_experiment_tag),
        ("/runs/create", "POST", create_run),
        ("/runs/get", "GET", get_run),
        ("/runs/update", "POST", update_run),
        ("/runs/delete", "POST", delete_run),
        ("/runs/restore", "POST", restore_run),
        ("/runs/log-metric", "POST", log_metric),
        ("/runs/log-parameter", "POST", log_param),
        ("/runs/set-tag", "POST", set_tag),
        ("/runs/delete-tag", "POST", delete_tag),
        ("/runs/log-batch", "POST", log_batch),
        ("/runs/log-inputs", "POST", accept_and_ignore),
        ("/runs/search", "POST", search_runs),
        ("/metrics/get-history", "GET", get_metric_history),
    ]
    return [
        route for path, method, handler in table for route in mlflow_route(path, method, handler)
    ]
