"""The public API is exactly what the packages export in ``__all__``; pinned here."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest

PINNED = {
    "shipyard": [
        "ActiveRun",
        "AliasEvent",
        "ArtifactInfo",
        "Client",
        "Experiment",
        "LoadedModel",
        "MetricPoint",
        "ModelVersion",
        "PythonModel",
        "RegisteredModel",
        "Run",
        "RunPage",
        "Settings",
        "Signature",
        "__version__",
        "active_run",
        "autolog",
        "configure",
        "data",
        "download_artifact",
        "end_run",
        "errors",
        "features",
        "get_historical_features",
        "get_metric_history",
        "get_online_features",
        "get_run",
        "infer_signature",
        "lineage",
        "load_settings",
        "log_artifact",
        "log_metric",
        "log_metrics",
        "log_model",
        "log_param",
        "log_params",
        "materialize",
        "models",
        "promote",
        "register_model",
        "save_model",
        "pipeline",
        "pipelines",
        "search_runs",
        "set_alias",
        "set_tag",
        "set_tags",
        "start_run",
        "step",
    ],
    "shipyard.errors": [
        "AlreadyExists",
        "ConfigError",
        "Conflict",
        "FilterSyntaxError",
        "IntegrityError",
        "InvalidArgument",
        "NotFound",
        "PermissionDenied",
        "PipelineFailed",
        "SchemaError",
        "ServiceUnavailable",
        "ShipyardError",
        "TooLarge",
        "Unauthenticated",
        "error_from_code",
    ],
    "shipyard.client": [
        "MAX_RUNS_PAGE",
        "MAX_SAMPLED_POINTS",
        "LocalStore",
        "RestStore",
        "Store",
        "check_cron",
        "check_dataset_name",
        "check_feature_name",
        "check_timing",
        "now_ms",
        "open_store",
        "save_token",
        "spec_digest",
        "time_zone",
        "upload_tree",
    ],
    "shipyard.data": [
        "CONTRACT_TAG",
        "ROW_GROUP_ROWS",
        "WRITE_OPTIONS",
        "ColumnChange",
        "ContractReport",
        "ContractViolation",
        "Dataset",
        "DatasetDiff",
        "DatasetRef",
        "DatasetVersion",
        "Failure",
        "as_schema",
        "check",
        "consuming",
        "current_actors",
        "diff",
        "fingerprint",
        "get",
        "list_datasets",
        "load",
        "parse_ref",
        "read_file",
        "ref",
        "register",
        "versions",
        "write_canonical",
    ],
    "shipyard.pipelines": [
        "Executor",
        "InlineExecutor",
        "Job",
        "Launcher",
        "Materializer",
        "OutputTypeError",
        "Pipeline",
        "PipelineRunResult",
        "Plan",
        "ProcessExecutor",
        "Scheduler",
        "SchedulerMetrics",
        "Step",
        "StepOptions",
        "StepOutcome",
        "StepOutput",
        "StepTask",
        "SubprocessLauncher",
        "airflow_dag",
        "cache_decision",
        "check_cron",
        "clear_cache",
        "due_times",
        "execute",
        "get_run",
        "kubernetes_jobs",
        "latest_due",
        "list_runs",
        "load_pipeline",
        "make_executor",
        "pipeline",
        "register_materializer",
        "resume",
        "schedule",
        "serve_metrics",
        "step",
        "step_command",
        "upto",
    ],
    "shipyard.lineage": [
        "LINEAGE_NODE_KINDS",
        "LineageEdge",
        "LineageGraph",
        "LineageNode",
        "downstream",
        "label",
        "link",
        "resolve",
        "upstream",
        "walk",
    ],
    "shipyard.features": [
        "DTYPES",
        "MISSING",
        "OUTSIDE_TTL",
        "PRESENT",
        "Change",
        "DatasetSource",
        "Entity",
        "FeatureMaterialization",
        "FeatureObject",
        "FeatureSelection",
        "FeatureService",
        "FeatureView",
        "Field",
        "FileSource",
        "Mismatch",
        "OnDemandFeatureView",
        "OnlineResponse",
        "OnlineStore",
        "RedisOnlineStore",
        "SkewReport",
        "SqlSource",
        "SqliteOnlineStore",
        "apply",
        "check_skew",
        "close_online_stores",
        "get_definition",
        "get_historical_features",
        "get_online_features",
        "list_definitions",
        "load_definitions",
        "materializations",
        "materialize",
        "materialize_incremental",
        "on_demand_feature_view",
        "online_store",
        "plan",
        "serves_inline",
    ],
    "shipyard.monitoring": [
        "ColumnDrift",
        "ColumnProfile",
        "DriftOptions",
        "DriftReport",
        "MonitorJob",
        "PerformanceReport",
        "PerformanceRow",
        "ReferenceProfile",
        "RetrainPolicy",
        "TestResult",
        "create_monitor",
        "drift",
        "fit_reference",
        "gauges_text",
        "get_retrain_policy",
        "holdout_mask",
        "labelled_window",
        "load_reference",
        "log_labels",
        "monitor_history",
        "performance",
        "read_labels",
        "read_predictions",
        "remove_retrain_policy",
        "render_html",
        "report_data",
        "run_monitor",
        "set_retrain_policy",
        "write_report",
    ],
    "shipyard.serving": [
        "BackgroundServer",
        "FEATURE_SERVICE_KEY",
        "FeatureSource",
        "INPUT_PREFIX",
        "ModelServer",
        "PROBA",
        "ServingConfig",
        "build",
        "create_app",
        "find_prediction",
        "installed_wheel",
        "iter_predictions",
        "log_labels",
        "log_root",
        "logged_inputs",
        "predict_file",
        "read_labels",
        "read_predictions",
        "serve",
    ],
    "shipyard.server": ["bind_socket", "check_auth", "create_app", "serve"],
    "shipyard.artifacts": [
        "CHUNK",
        "NO_ROOM",
        "SCRATCH_PREFIX",
        "TMP_MARK",
        "WRITER_PREFIXES",
        "BlobInfo",
        "BlobStore",
        "StoredFile",
        "room_needed",
        "scratch_dir",
        "scratch_file",
        "sha256_file",
    ],
    "shipyard.registry": [
        "ColumnSpec",
        "DiffRow",
        "LoadedModel",
        "ModelInfo",
        "ModelMetadata",
        "ModelRef",
        "PythonModel",
        "PythonModelContext",
        "Schema",
        "Signature",
        "TensorSpec",
        "alias_history",
        "all_flavors",
        "autolog",
        "cache_root",
        "delete_alias",
        "delete_model",
        "delete_model_version",
        "diff_versions",
        "fetch_into_cache",
        "find_version",
        "get_model",
        "get_model_version",
        "get_requirements",
        "infer_signature",
        "list_model_versions",
        "list_models",
        "load",
        "log_model",
        "parse_ref",
        "promote",
        "register_model",
        "resolve",
        "save_model",
        "set_alias",
        "update_model",
        "update_model_version",
    ],
    "shipyard.models": [
        "LoadedModel",
        "PythonModel",
        "Signature",
        "delete",
        "delete_alias",
        "delete_model_version",
        "diff",
        "get",
        "get_version",
        "history",
        "infer_signature",
        "list_models",
        "load",
        "log",
        "promote",
        "register",
        "requirements",
        "save",
        "set_alias",
        "versions",
    ],
    "shipyard.tracking": [
        "ActiveRun",
        "Client",
        "active_run",
        "configure",
        "configured_client",
        "current_user",
        "download_artifact",
        "end_run",
        "get_client",
        "get_metric_history",
        "get_run",
        "log_artifact",
        "log_metric",
        "log_metrics",
        "log_param",
        "log_params",
        "on_run_start",
        "package_set",
        "packages_hash",
        "reap_runs",
        "recorded_environment",
        "recorded_package_set",
        "runs_to_frame",
        "search_runs",
        "set_tag",
        "set_tags",
        "start_run",
    ],
}


#: Former names that keep working with a DeprecationWarning: old spelling -> the name to use.
DEPRECATED = {
    "shipyard.load_model": "shipyard.models.load",
    "shipyard.registry.load_model": "shipyard.models.load",
    "shipyard.models.list": "shipyard.models.list_models",
}


def _resolve(dotted: str) -> object:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("old", sorted(DEPRECATED))
def test_a_deprecated_alias_is_kept_out_of_all_and_mirrors_its_replacement(old: str) -> None:
    module, _, name = old.rpartition(".")
    assert name not in importlib.import_module(module).__all__
    alias, new = _resolve(old), _resolve(DEPRECATED[old])
    assert callable(alias) and callable(new)
    assert inspect.signature(alias) == inspect.signature(new)
    assert DEPRECATED[old] in (alias.__doc__ or "")


@pytest.mark.parametrize("module", sorted(PINNED))
def test_all_is_pinned_and_every_name_resolves(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PINNED[module])
    for name in mod.__all__:
        assert getattr(mod, name) is not None


def test_every_error_is_a_shipyard_error_with_an_http_status() -> None:
    from shipyard import errors

    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, errors.ShipyardError)
            assert 400 <= obj.http_status < 600


def test_errors_round_trip_through_their_code() -> None:
    from shipyard import errors

    original = errors.FilterSyntaxError("bad", position=4, expected=["a value"])
    body = original.to_dict()
    rebuilt = errors.error_from_code(
        body["code"], body["message"], body.get("field"), **body["details"]
    )
    assert type(rebuilt) is errors.FilterSyntaxError
    assert rebuilt.position == 4 and rebuilt.expected == ["a value"]
    nf = errors.error_from_code("not_found", "gone", "run_id")
    assert isinstance(nf, errors.NotFound) and nf.field == "run_id" and nf.http_status == 404


@pytest.mark.parametrize("module", ["shipyard", "shipyard.registry", "shipyard.serving"])
def test_import_is_lazy(module: str) -> None:
    """`import shipyard` (and the registry's and serving's packages) must not pull in
    pandas, SQLAlchemy or scikit-learn: their names load what they need on first use."""
    code = (
        f"import sys, {module}; heavy = [m for m in ('pandas', 'sqlalchemy', 'sklearn', 'numpy') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import {module} loads {out.stdout.strip()}"
