"""The public API is exactly what the packages export in ``__all__``; pinned here."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

PINNED = {
    "shipyard": [
        "ActiveRun",
        "ArtifactInfo",
        "Client",
        "Experiment",
        "MetricPoint",
        "Run",
        "RunPage",
        "Settings",
        "__version__",
        "active_run",
        "autolog",
        "configure",
        "download_artifact",
        "end_run",
        "errors",
        "get_metric_history",
        "get_run",
        "load_settings",
        "log_artifact",
        "log_metric",
        "log_metrics",
        "log_param",
        "log_params",
        "search_runs",
        "set_tag",
        "set_tags",
        "start_run",
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
        "SchemaError",
        "ServiceUnavailable",
        "ShipyardError",
        "TooLarge",
        "Unauthenticated",
        "error_from_code",
    ],
    "shipyard.client": ["LocalStore", "RestStore", "Store", "now_ms", "open_store"],
    "shipyard.server": ["bind_socket", "create_app", "serve"],
    "shipyard.artifacts": ["BlobInfo", "BlobStore", "sha256_file"],
    "shipyard.tracking": [
        "ActiveRun",
        "Client",
        "active_run",
        "autolog",
        "configure",
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
        "runs_to_frame",
        "search_runs",
        "set_tag",
        "set_tags",
        "start_run",
    ],
}


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


def test_import_shipyard_is_lazy() -> None:
    """`import shipyard` must not pull in pandas, SQLAlchemy or scikit-learn."""
    code = (
        "import sys, shipyard; heavy = [m for m in ('pandas', 'sqlalchemy', 'sklearn', 'numpy') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
