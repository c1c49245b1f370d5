"""The input checks the Store protocol declares run on both stores, before any I/O, with the
same error: what a user sees for a bad value does not depend on where the store is.

``BAD_INPUT`` holds one bad call per checked parameter of every protocol method; a test pins
that it covers every declaration, so a method added with checks must add its cases here.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from shipyard.client import LocalStore, RestStore
from shipyard.client._checking import applied, checks, declared
from shipyard.client._protocol import CheckedStore, Store, protocol_methods
from shipyard.config import load_settings
from shipyard.entities import (
    ArtifactInfo,
    Deployment,
    FeatureObject,
    MetricPoint,
    Monitor,
    MonitorRun,
    PipelineRun,
    Schedule,
)
from shipyard.errors import InvalidArgument, NotFound, ShipyardError
from tests.client.conftest import Offline


@dataclass(frozen=True)
class Bad:
    """A call of ``method`` that its check of ``param`` refuses with ``error``, whose
    message contains ``match``."""

    method: str
    param: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    error: type[ShipyardError] = InvalidArgument
    match: str = field(kw_only=True)

    @property
    def id(self) -> str:
        return f"{self.method}-{self.param}"


LONG = "x" * 300
NO_FILE = Path("/nonexistent/shipyard-test/model.pkl")
RUN = PipelineRun("", "", "m:f", "RUNNING", {}, "inline", [], 0)
VERSION = {"flavor": "sklearn"}
DATASET = {"num_rows": 1, "schema": [], "profile": {}}


def DEPLOYMENT(**changes: Any) -> Deployment:  # noqa: N802  # reads like the record
    """A deployment record of ``churn`` with ``changes``."""
    return replace(Deployment("ab12", "churn", "churn@champion", 1), **changes)


BAD_INPUT = [
    # tracking
    Bad("create_experiment", "name", ("",), match="experiment name must be a non-empty"),
    Bad("create_experiment", "description", ("e", "a\x00b"), match="description contains a NUL"),
    Bad("create_experiment", "tags", ("e", "", {"a/b": "1"}), match="path separator"),
    Bad("create_experiment", "project", ("e", "", None, "no way"), match="not a valid name"),
    Bad("get_or_create_experiment", "name", (" ",), match="experiment name"),
    Bad("get_or_create_experiment", "project", ("e", "no way"), match="project 'no way'"),
    Bad("rename_experiment", "new_name", ("id", ""), match="experiment name"),
    Bad("create_run", "name", ("exp", ""), match="run name must be a non-empty"),
    Bad("create_run", "user", ("exp", "r"), {"user": LONG}, match="user is 300 characters"),
    Bad("create_run", "start_time", ("exp", "r"), {"start_time": -1}, match="timestamp"),
    Bad("create_run", "tags", ("exp", "r"), {"tags": {"": "v"}}, match="tag key must be"),
    Bad("update_run", "name", ("run",), {"name": ""}, match="run name must be a non-empty"),
    Bad("update_run", "end_time", ("run",), {"end_time": "soon"}, match="timestamp"),
    Bad("log_batch", "metrics", ("run", [MetricPoint("m", "high", 0, 0)]), match="numbers"),
    Bad("log_batch", "params", ("run", (), {"p": "x" * 7000}), match="param 'p' value is 7000"),
    Bad("log_batch", "tags", ("run", (), None, {"t": "x" * 9000}), match="tag 't' value"),
    Bad("search_runs", "limit", (["e"],), {"limit": 0}, match="between 1 and 50000"),
    Bad("sampled_metric_history", "max_points", ("run", "m", 1), match="from 2 to 20000"),
    Bad("sampled_metric_history", "axis", ("run", "m", 10, "x"), match="one of step, time"),
    Bad("log_artifact", "artifact_path", ("run", NO_FILE, "../x"), match="'..' part"),
    Bad("log_artifact", "local_path", ("run", NO_FILE, "x"), match="no such file or folder"),
    Bad("download_artifact", "artifact_path", ("run", "/abs", Path("out")), match="relative"),
    # blobs
    Bad("fetch_blob", "digest", ("abc",), match="not a sha256 digest"),
    Bad("download_blob", "digest", ("abc", Path("out")), match="not a sha256 digest"),
    # registry
    Bad("create_registered_model", "name", ("a/b",), match="model name 'a/b'"),
    Bad("create_registered_model", "description", ("m", "\x00"), match="description"),
    Bad("create_registered_model", "tags", ("m", "", {"a\\b": "1"}), match="tag key"),
    Bad("create_registered_model", "owner", ("m", "", None, LONG), match="owner is 300"),
    Bad("create_registered_model", "project", ("m",), {"project": "?"}, match="project '?'"),
    Bad("get_registered_model", "name", ("a/b",), error=NotFound, match="no registered model"),
    Bad("list_registered_models", "limit", (), {"limit": 0}, match="between 1 and 10000"),
    Bad("update_registered_model", "description", ("m", "\x00"), match="description"),
    Bad("update_registered_model", "tags", ("m", None, {"": "v"}), match="tag key"),
    Bad("update_registered_model", "name", ("a/b",), error=NotFound, match="no registered"),
    Bad("delete_registered_model_tag", "name", ("a/b", "k"), error=NotFound, match="a/b"),
    Bad("delete_registered_model", "name", ("a/b",), error=NotFound, match="a/b"),
    Bad("create_model_version", "name", ("a/b", []), VERSION, match="model name 'a/b'"),
    Bad(
        "create_model_version",
        "files",
        ("m", [ArtifactInfo("model.pkl", "beef", 1)]),
        VERSION,
        match="no valid sha256 digest",
    ),
    Bad(
        "create_model_version",
        "metrics",
        ("m", []),
        {**VERSION, "metrics": {"auc": "high"}},
        match="metric 'auc' got 'high'",
    ),
    Bad(
        "create_model_version",
        "description",
        ("m", []),
        {**VERSION, "description": "\x00"},
        match="description contains a NUL",
    ),
    Bad(
        "create_model_version",
        "tags",
        ("m", []),
        {**VERSION, "tags": {"a/b": "1"}},
        match="tag key 'a/b'",
    ),
    Bad(
        "create_model_version",
        "created_by",
        ("m", []),
        {**VERSION, "created_by": LONG},
        match="created_by is 300 characters",
    ),
    Bad(
        "create_model_version",
        "project",
        ("m", []),
        {**VERSION, "project": "?"},
        match="project '?' is not a valid name",
    ),
    Bad("get_model_version", "version", ("m", 0), match="positive integer, got 0"),
    Bad("get_model_version", "name", ("a/b", 1), error=NotFound, match="no registered model"),
    Bad("get_model_version_by_alias", "alias", ("m", "Champion"), match="alias 'Champion'"),
    Bad("get_model_version_by_alias", "name", ("a/b", "champion"), error=NotFound, match="a/b"),
    Bad("list_model_versions", "name", ("a/b",), error=NotFound, match="no registered model"),
    Bad("update_model_version", "description", ("m", 1, "\x00"), match="description"),
    Bad("update_model_version", "tags", ("m", 1, None, {"": "v"}), match="tag key"),
    Bad("update_model_version", "metrics", ("m", 1, None, None, {"auc": None}), match="'auc'"),
    Bad("update_model_version", "version", ("m", True), match="positive integer"),
    Bad("update_model_version", "name", ("a/b", 1), error=NotFound, match="a/b"),
    Bad("delete_model_version_tag", "version", ("m", -1, "k"), match="positive integer"),
    Bad("delete_model_version_tag", "name", ("a/b", 1, "k"), error=NotFound, match="a/b"),
    Bad("delete_model_version", "version", ("m", "1"), match="positive integer"),
    Bad("delete_model_version", "name", ("a/b", 1), error=NotFound, match="a/b"),
    Bad("set_model_alias", "alias", ("m", "latest", 1), match="alias 'latest' is reserved"),
    Bad("set_model_alias", "version", ("m", "champion", 0), match="positive integer"),
    Bad(
        "set_model_alias",
        "requires",
        ("m", "champion", 1),
        {"requires": ["metrics.auc >"]},
        match="syntax error",
    ),
    Bad("set_model_alias", "reason", ("m", "champion", 1), {"reason": "\x00"}, match="reason"),
    Bad("set_model_alias", "actor", ("m", "champion", 1), {"actor": LONG}, match="actor is"),
    Bad("set_model_alias", "name", ("a/b", "champion", 1), error=NotFound, match="a/b"),
    Bad("delete_model_alias", "alias", ("m", "latest"), match="reserved"),
    Bad("delete_model_alias", "reason", ("m", "champion"), {"reason": 3}, match="reason"),
    Bad("delete_model_alias", "actor", ("m", "champion"), {"actor": LONG}, match="actor"),
    Bad("delete_model_alias", "name", ("a/b", "champion"), error=NotFound, match="a/b"),
    Bad("list_alias_events", "alias", ("m", "Bad"), match="alias 'Bad'"),
    Bad("list_alias_events", "limit", ("m", None, 0), match="between 1 and 10000"),
    Bad("list_alias_events", "name", ("a/b",), error=NotFound, match="a/b"),
    # data
    Bad("find_dataset_version", "name", ("a b", "hash"), match="dataset name 'a b'"),
    Bad("create_dataset_version", "name", ("a@1", NO_FILE), DATASET, match="dataset name"),
    Bad(
        "create_dataset_version",
        "project",
        ("d", NO_FILE),
        {**DATASET, "project": "no way"},
        match="project 'no way'",
    ),
    Bad("get_dataset_version", "name", ("",), match="dataset name must be"),
    Bad("list_dataset_versions", "name", ("a/b",), match="dataset name 'a/b'"),
    # pipelines
    Bad("register_pipeline", "name", ("", "m:f"), match="pipeline name must be"),
    Bad("register_pipeline", "project", ("p", "m:f", "", "no way"), match="project 'no way'"),
    Bad("create_pipeline_run", "run", (RUN,), match="pipeline name must be"),
    Bad(
        "create_pipeline_run",
        "project",
        (PipelineRun("", "p", "m:f", "RUNNING", {}, "inline", [], 0),),
        {"project": "?"},
        match="project '?'",
    ),
    Bad("find_cached_step_run", "project", ("key", "no way"), match="project 'no way'"),
    Bad("update_pipeline_run", "values", ("run",), {"colour": "red"}, match="'colour'"),
    Bad("list_pipeline_runs", "limit", (), {"limit": 10_001}, match="between 1 and 10000"),
    Bad("update_step_run", "values", ("step",), {"colour": "red"}, match="step run field"),
    Bad("update_step_runs", "updates", ({"step": {"colour": "red"}},), match="step run field"),
    Bad("put_schedule", "schedule", (Schedule("n", "p", "m:f", "0 3 * *"),), match="cron"),
    Bad(
        "put_schedule",
        "project",
        (Schedule("n", "p", "m:f", "0 3 * * *"), "no way"),
        match="project 'no way'",
    ),
    # access
    Bad("create_user", "name", ("no way",), match="user 'no way' is not a valid name"),
    Bad("set_role", "project", ("ann", "no way", "viewer"), match="project 'no way'"),
    Bad("create_token", "name", ("ann", LONG), match="name is 300 characters"),
    Bad("create_token", "expires_at", ("ann", "", -5), match="timestamp"),
    Bad("list_audit", "limit", (0,), match="between 1 and 10000"),
    # features
    Bad(
        "apply_feature_objects",
        "objects",
        ([FeatureObject("entity", "a:b", {})],),
        match="entity 'a:b' is not allowed",
    ),
    Bad("apply_feature_objects", "delete", ([], [("thing", "x")]), match="kind must be one of"),
    Bad("apply_feature_objects", "project", ([], [], "no way"), match="project 'no way'"),
    Bad("get_feature_object", "kind", ("thing", "x"), match="kind must be one of"),
    Bad("get_feature_object", "check_named_by_kind", ("entity", "a:b"), match="entity 'a:b'"),
    Bad("list_feature_objects", "kind", ("thing",), match="kind must be one of"),
    Bad("record_feature_materialization", "view", ("a:b", 0, 1, 1), match="feature_view"),
    Bad("record_feature_materialization", "check_window", ("v", 5, 1, 0), match="window"),
    Bad("list_feature_materializations", "view", ("a:b",), match="feature_view 'a:b'"),
    # monitoring
    Bad("put_monitor", "monitor", (Monitor("churn", ""),), match="model must be a model ref"),
    Bad("put_monitor", "project", (Monitor("churn", "m@1"), "no way"), match="project 'no way'"),
    Bad("get_monitor", "name", ("a:b",), match="monitor 'a:b' is not allowed"),
    Bad("delete_monitor", "name", ("",), match="monitor must be a non-empty string"),
    Bad(
        "add_monitor_run",
        "run",
        (MonitorRun("", "churn", 0, 0, 0, 0, 1, "ok"),),
        match="a monitor run needs an id",
    ),
    Bad("list_monitor_runs", "name", ("a:b",), match="monitor 'a:b'"),
    # deployments
    Bad("put_deployment", "deployment", (DEPLOYMENT(version=0),), match="model version must"),
    Bad("heartbeat_deployment", "deployment_id", ("x!",), match="deployment id is 1 to 32"),
    Bad("stop_deployment", "deployment_id", ("",), match="deployment id is 1 to 32"),
    Bad("get_deployment", "deployment_id", ("Z" * 40,), match="deployment id is 1 to 32"),
    Bad("list_deployments", "model", (), {"model": "a/b"}, match="model name 'a/b'"),
    Bad("list_deployments", "status", (), {"status": "paused"}, match="status 'paused'"),
    Bad("list_deployments", "limit", (), {"limit": 0}, match="limit must be between"),
    Bad("list_deployment_events", "deployment_id", ("x!",), match="deployment id is 1 to 32"),
    Bad("list_deployment_events", "limit", ("ab", 0), match="limit must be between"),
    # leases
    Bad("acquire_lease", "name", ("a b", "me", 60), match="lease 'a b' is not a valid"),
    Bad("acquire_lease", "holder", ("scheduler", "", 60), match="holder must be a non-empty"),
    Bad("acquire_lease", "ttl_seconds", ("scheduler", "me", 0), match="ttl_seconds must be"),
    Bad("release_lease", "name", ("", "me"), match="lease '' is not a valid"),
    Bad("release_lease", "holder", ("scheduler", ""), match="holder must be a non-empty"),
]
#: Checks that bring a value into range rather than refuse it (tested below).
NORMALISING = {("list_feature_materializations", "limit"), ("list_monitor_runs", "limit")}


def _checked_methods() -> dict[str, Any]:
    return {n: m for n, m in protocol_methods().items() if declared(m) is not None}


def test_every_declared_check_has_a_bad_input_case() -> None:
    """A method added to the protocol with checks cannot escape the tests below."""
    wanted = set()
    for name, method in _checked_methods().items():
        rules = declared(method)
        assert rules is not None
        wanted |= {(name, param) for param in rules.params}
        wanted |= {(name, call.__name__) for call in rules.calls}
    assert {(case.method, case.param) for case in BAD_INPUT} | NORMALISING == wanted


@pytest.mark.parametrize("cls", [LocalStore, RestStore])
def test_both_stores_apply_every_declared_check(cls: type[Store]) -> None:
    for name, method in _checked_methods().items():
        assert applied(getattr(cls, name)) is declared(method), f"{cls.__name__}.{name}"


@pytest.mark.parametrize("case", BAD_INPUT, ids=lambda case: case.id)
def test_bad_input_fails_alike_on_both_stores_before_any_io(case: Bad, offline: Offline) -> None:
    errors = []
    for store in (offline.local, offline.rest):
        with pytest.raises(case.error, match=re.escape(case.match)) as info:
            getattr(store, case.method)(*case.args, **case.kwargs)
        errors.append(info.value)
    local, rest = errors
    assert (type(local), str(local), local.field) == (type(rest), str(rest), rest.field)
    assert offline.untouched()


def test_an_implementation_only_method_declares_its_own_checks(offline: Offline) -> None:
    """The server's side of create_dataset_version is checked like a protocol method."""
    with pytest.raises(InvalidArgument, match="not a sha256 digest"):
        offline.local.create_dataset_version_from_blob("d", "abc", **DATASET)
    with pytest.raises(InvalidArgument, match="dataset name 'a b'"):
        offline.local.create_dataset_version_from_blob("a b", "0" * 64, **DATASET)
    assert offline.untouched()


class _Recording(LocalStore):
    """A LocalStore whose overrides record what reaches the translation."""

    seen: list[tuple[Any, ...]]

    def log_batch(
        self, run_id: str, metrics: Any = (), params: Any = None, tags: Any = None
    ) -> None:
        self.seen.append((run_id, list(metrics), dict(params), dict(tags)))
        params["mutated"] = "1"  # a translation changing its input must not change defaults

    def list_monitor_runs(self, name: str, limit: int = 100) -> list[MonitorRun]:
        self.seen.append((name, limit))
        return []


@pytest.fixture
def recording(tmp_path: Path) -> _Recording:
    store = _Recording(load_settings(home=tmp_path / ".shipyard"))
    store.seen = []
    return store


def test_an_override_is_checked_and_gets_clean_values(recording: _Recording) -> None:
    with pytest.raises(InvalidArgument, match="param key"):
        recording.log_batch("run", params={"": "x"})
    recording.log_batch("run")
    recording.log_batch("run", (), {"lr": 0.1})
    recording.log_batch("run", params={"lr": 0.1}, tags={"t": 1})
    recording.log_batch("run")
    assert recording.seen == [
        ("run", [], {}, {}),
        ("run", [], {"lr": "0.1"}, {}),
        ("run", [], {"lr": "0.1"}, {"t": "1"}),
        ("run", [], {}, {}),
    ]


def test_page_sizes_out_of_range_are_brought_into_range(recording: _Recording) -> None:
    recording.list_monitor_runs("churn", 0)
    recording.list_monitor_runs("churn", limit=50_000)
    recording.list_monitor_runs("churn")
    assert recording.seen == [("churn", 1), ("churn", 10_000), ("churn", 100)]


def test_checked_methods_keep_their_signature_and_the_protocol_docs() -> None:
    from shipyard.client._local_tracking import LocalTracking
    from shipyard.client._tracking import TrackingStore

    assert inspect.signature(LocalStore.create_run) == inspect.signature(LocalTracking.create_run)
    assert LocalStore.create_run.__doc__ == TrackingStore.create_run.__doc__
    assert RestStore.create_run.__doc__ == TrackingStore.create_run.__doc__
    assert LocalStore.create_run.__name__ == "create_run"


def test_an_implementation_lacking_a_protocol_method_is_refused() -> None:
    from shipyard.client._local_monitoring import LocalMonitoring

    areas = tuple(base for base in LocalStore.__bases__ if base is not LocalMonitoring)
    assert areas[-1] is CheckedStore
    with pytest.raises(TypeError, match=r"NoMonitors does not implement Store\.\w*monitor"):
        type("NoMonitors", areas, {})


def test_a_check_of_a_parameter_the_method_lacks_is_refused() -> None:
    def lookup(self: Any, name: str) -> None: ...

    with pytest.raises(TypeError, match="has no parameter nmae"):
        checks(nmae=str)(lookup)
