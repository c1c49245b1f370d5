"""The model registry through the server: clear HTTP answers to bad input that leave the
registry as it was, promotion gates over the wire, models that belong to projects, and the
authenticated user recorded as who registered a version or moved an alias."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.client import LocalStore, RestStore
from shipyard.config import Settings, load_settings
from shipyard.entities import ArtifactInfo
from shipyard.errors import NotFound, PermissionDenied
from tests.support.server import LiveServer


def _files(store: LocalStore, tmp: Path) -> list[ArtifactInfo]:
    source = tmp / "model.txt"
    source.write_text("weights")
    digest = store.put_blob(source)
    return [ArtifactInfo("model.txt", digest, source.stat().st_size)]


def _state(store: LocalStore, name: str) -> tuple[Any, ...]:
    return (
        store.get_registered_model(name),
        store.list_model_versions(name),
        store.list_alias_events(name),
    )


@pytest.fixture
def served(live_server: LiveServer, sqlite_settings: Settings, tmp_path: Path) -> LocalStore:
    """A server without authentication over a store holding churn/1 (@champion, auc 0.8)
    and churn/2 (auc 0.7)."""
    store = LocalStore(sqlite_settings)
    live_server.serve(store)
    files = _files(store, tmp_path)
    for auc in (0.8, 0.7):
        store.create_model_version("churn", files, flavor="pyfunc", metrics={"auc": auc})
    store.set_model_alias("churn", "champion", 1)
    return store


def _call(url: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, f"{url}/api/v1{path}", **kwargs)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("GET", "/models/nope", None, 404, "name"),
        ("GET", "/models/nope/versions/1", None, 404, "name"),
        ("GET", "/models/churn/versions/9", None, 404, "version"),
        ("GET", "/models/churn/versions/0", None, 422, "version"),
        ("GET", "/models/churn/aliases/gone", None, 404, "alias"),
        ("PUT", "/models/churn/aliases/Champ!on", {"version": 2}, 422, "alias"),
        ("PUT", "/models/churn/aliases/latest", {"version": 2}, 422, "alias"),
        ("PUT", "/models/churn/aliases/champion", {"version": 9}, 404, "version"),
        ("PUT", "/models/churn/aliases/champion", {"version": 0}, 422, "version"),
        (
            "PUT",
            "/models/churn/aliases/champion",
            {"version": 2, "requires": ["metrics.auc >>> 1"]},
            422,
            "require",
        ),
        ("PUT", "/models/nope/aliases/champion", {"version": 1}, 404, "name"),
        ("DELETE", "/models/churn/aliases/challenger", None, 404, "alias"),
        ("DELETE", "/models/churn/versions/1", None, 409, "version"),
        (
            "POST",
            "/models/churn/versions",
            {"files": [{"path": "m.txt", "digest": "0" * 64, "size": 1}], "flavor": "pyfunc"},
            422,
            "files",
        ),
        (
            "POST",
            "/models/churn/versions",
            {"files": [{"path": "../m.txt", "digest": "0" * 64, "size": 1}], "flavor": "pyfunc"},
            422,
            "path",
        ),
        ("POST", "/models/bad!name/versions", {"files": [], "flavor": "pyfunc"}, 422, "name"),
        ("POST", "/models", {"name": "churn"}, 409, "name"),
        ("POST", "/models", {"name": "x", "project": "no such/project"}, 422, "project"),
        ("POST", "/models", {"name": "x", "owners": "typo"}, 422, "owners"),
    ],
)
def test_bad_requests_get_clear_answers_and_change_nothing(
    served: LocalStore,
    live_server: LiveServer,
    method: str,
    path: str,
    body: Any,
    status: int,
    field: str,
) -> None:
    before = _state(served, "churn")
    answer = _call(live_server.url, method, path, json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["field"] == field
    assert _state(served, "churn") == before
    assert [m.name for m in served.list_registered_models()] == ["churn"]


def test_a_failed_gate_is_recorded_and_leaves_the_alias(
    served: LocalStore, live_server: LiveServer, sqlite_settings: Settings
) -> None:
    body = {"version": 2, "requires": ["metrics.auc >= champion.metrics.auc"], "reason": "try"}
    answer = _call(live_server.url, "PUT", "/models/churn/aliases/champion", json=body)
    assert answer.status_code == 200
    event = answer.json()
    assert (event["outcome"], event["from_version"], event["to_version"]) == ("rejected", 1, 2)
    assert [g["passed"] for g in event["gates"]] == [False]
    assert "0.7" in event["gates"][0]["detail"] and "0.8" in event["gates"][0]["detail"]
    rest = RestStore(live_server.client_settings(sqlite_settings))
    assert rest.get_model_version_by_alias("churn", "champion").version == 1
    (last, *_) = rest.list_alias_events("churn", "champion")
    assert (last.outcome, last.reason, last.id) == ("rejected", "try", event["id"])
    dry = rest.set_model_alias("churn", "champion", 2, requires=["metrics.auc > 0.5"], dry_run=True)
    assert (dry.outcome, dry.id) == ("moved", 0)
    assert rest.get_registered_model("churn").aliases == {"champion": 1}
    rest.close()


def test_non_finite_metrics_and_json_metadata_round_trip(
    served: LocalStore, live_server: LiveServer, sqlite_settings: Settings, tmp_path: Path
) -> None:
    rest = RestStore(live_server.client_settings(sqlite_settings))
    signature = {"inputs": [{"name": "x", "type": "double", "nullable": True}]}
    made = rest.create_model_version(
        "churn",
        _files(served, tmp_path),
        flavor="pyfunc",
        signature=signature,
        metrics={"auc": math.nan, "loss": math.inf},
        requirements=["numpy==2.0"],
        metadata={"nested": {"list": [1, 2.5, None]}},
        tags={"stage": "qa"},
    )
    stored = served.get_model_version("churn", 3)
    assert replace(made, metrics={}) == replace(stored, metrics={})  # NaN != NaN
    assert math.isnan(made.metrics["auc"]) and made.metrics["loss"] == math.inf
    assert made.signature == signature and made.metadata == {"nested": {"list": [1, 2.5, None]}}
    rest.close()


# ---------------------------------------------------------------------------- projects, roles


@pytest.fixture
def secured(live_server: LiveServer, sqlite_settings: Settings, tmp_path: Path) -> LocalStore:
    """A server with authentication: churn/1 in project 'default'; 'editor' and 'maintainer'
    on 'default', 'outsider' an editor of 'other' only."""
    store = LocalStore(sqlite_settings)
    live_server.serve(store, auth=True)
    for user, role, project in (
        ("editor", "editor", "default"),
        ("maintainer", "maintainer", "default"),
        ("outsider", "editor", "other"),
    ):
        store.create_user(user)
        store.set_role(user, project, role)
    store.create_model_version("churn", _files(store, tmp_path), flavor="pyfunc")
    return store


def _as(store: LocalStore, user: str, url: str, home: Path) -> RestStore:
    token = store.create_token(user).token
    return RestStore(load_settings(home=home, tracking_uri=url, token=token))


def test_the_server_records_who_really_did_it(
    secured: LocalStore, live_server: LiveServer, tmp_path: Path
) -> None:
    editor = _as(secured, "editor", live_server.url, tmp_path)
    files = secured.get_model_version("churn", 1).files
    made = editor.create_model_version("churn", files, flavor="pyfunc", created_by="someone")
    assert made.created_by == "editor"
    with pytest.raises(PermissionDenied, match="maintainer role on project 'default'"):
        editor.set_model_alias("churn", "champion", 2, actor="editor")
    assert secured.list_alias_events("churn") == []
    maintainer = _as(secured, "maintainer", live_server.url, tmp_path)
    moved = maintainer.set_model_alias("churn", "champion", 2, actor="mallory", reason="r")
    removed = maintainer.delete_model_alias("churn", "champion", actor="mallory")
    assert (moved.actor, removed.actor) == ("maintainer", "maintainer")
    assert [e.actor for e in secured.list_alias_events("churn")] == ["maintainer"] * 2


def test_models_are_seen_and_changed_only_through_their_project(
    secured: LocalStore, live_server: LiveServer, tmp_path: Path
) -> None:
    outsider = _as(secured, "outsider", live_server.url, tmp_path)
    assert outsider.list_registered_models() == []
    with pytest.raises(PermissionDenied, match="viewer role on project 'default'"):
        outsider.get_registered_model("churn")
    files = secured.get_model_version("churn", 1).files
    with pytest.raises(PermissionDenied, match="editor role on project 'default'"):
        # an existing model stays in its project whatever the request names
        outsider.create_model_version("churn", files, flavor="pyfunc", project="other")
    with pytest.raises(PermissionDenied, match="editor role on project 'default'"):
        outsider.create_registered_model("mine")
    with pytest.raises(NotFound):
        outsider.get_registered_model("nope")
    theirs = outsider.create_model_version("theirs", files, flavor="pyfunc", project="other")
    assert secured.get_registered_model("theirs").project == "other"
    assert [m.name for m in outsider.list_registered_models()] == ["theirs"]
    assert [v.version for v in secured.list_model_versions("churn")] == [1]
    assert theirs.created_by == "outsider"
    editor = _as(secured, "editor", live_server.url, tmp_path)
    assert [m.name for m in editor.list_registered_models()] == ["churn"]


def test_the_sdk_registers_into_the_configured_project(
    secured: LocalStore, live_server: LiveServer, tmp_path: Path
) -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=300).fit(X, y)
    client = shipyard.configure(
        home=tmp_path / "client",
        tracking_uri=live_server.url,
        token=secured.create_token("outsider").token,
        project="other",
        sync_logging=True,
    )
    try:
        version = shipyard.register_model(model, "iris")
        assert secured.get_registered_model("iris").project == "other"
        loaded = shipyard.models.load("iris@latest")
        assert list(loaded.predict(X.head(3))) == list(model.predict(X.head(3)))
        assert version.created_by == "outsider"
    finally:
        shipyard.tracking._fluent._default = None
        client.close()
