"""Authentication and roles: every endpoint against every kind of caller, tokens that are
stored only as hashes and stop working when revoked or expired, the audit log, and the
refusal to serve a public address without authentication."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from shipyard.client import LocalStore, RestStore, now_ms
from shipyard.config import Settings, load_settings
from shipyard.entities import (
    ArtifactInfo,
    Deployment,
    FeatureObject,
    LineageEdge,
    LineageNode,
    MetricPoint,
    Monitor,
    PipelineRun,
    Schedule,
    StepRun,
)
from shipyard.errors import ConfigError, PermissionDenied, Unauthenticated
from shipyard.server._app import api_routes
from shipyard.server._observe import READ_ONLY_POSTS
from shipyard.server._serve import check_auth
from shipyard.server._state import AuditWriter
from tests.support.predictions import log_prediction
from tests.support.server import LiveServer

ROLE_OF = {
    "admin": {"*": "admin"},
    "project-admin": {"default": "admin"},
    "maintainer": {"default": "maintainer"},
    "editor": {"default": "editor"},
    "viewer": {"default": "viewer"},
    "outsider": {"other": "editor"},
    "nobody": {},
}
CALLERS = ["anonymous", "forged", *ROLE_OF]
LEVELS = ["viewer", "editor", "maintainer", "admin"]


@dataclass
class World:
    """A server with authentication on, one user per role, and their tokens."""

    store: LocalStore
    url: str
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, caller: str) -> dict[str, str]:
        if caller == "anonymous":
            return {}
        if caller == "forged":
            return {"Authorization": "Bearer shy_0123456789ab_" + "x" * 43}
        return {"Authorization": f"Bearer {self.tokens[caller]}"}

    def rest(self, caller: str, settings: Settings) -> RestStore:
        return RestStore(
            load_settings(home=settings.home, tracking_uri=self.url, token=self.tokens[caller])
        )


@pytest.fixture
def world(live_server: LiveServer, sqlite_settings: Settings) -> World:
    store = LocalStore(sqlite_settings)
    live_server.serve(store, auth=True)
    built = World(store, live_server.url)
    for name, grants in {**ROLE_OF, "victim": {}}.items():
        store.create_user(name)
        for project, role in grants.items():
            store.set_role(name, project, role)
        built.tokens[name] = store.create_token(name, "test").token
    store.apply_feature_objects([FeatureObject("entity", "user", {"join_keys": ["id"]}), STATS])
    return built


# ---------------------------------------------------------------------------- the role matrix


@dataclass
class Fixture:
    """Fresh records for one call: an experiment in project 'default' with a run that has a
    tag, a metric and an artifact, and a spare token of the caller and of someone else."""

    exp_id: str
    exp_name: str
    run_id: str
    own_token: str
    victim_token: str
    model: str = ""
    seeds: dict[str, str] = field(default_factory=dict)  # datasets, pipelines, schedules


def _fresh(store: LocalStore, caller: str, tmp: Path) -> Fixture:
    exp = store.create_experiment(f"e-{uuid.uuid4().hex[:8]}")
    run = store.create_run(exp.id, "r", tags={"t": "v"})
    store.log_batch(run.id, [MetricPoint("m", 1.0, 0, 1)])
    source = tmp / "a.txt"
    source.write_text("artifact")
    store.log_artifact(run.id, source, "a.txt")
    own = store.create_token(caller).info.id if caller in ROLE_OF else "0" * 12
    victim = store.create_token("victim").info.id
    fixture = Fixture(exp.id, exp.name, run.id, own, victim, _fresh_model(store, exp.name))
    fixture.seeds.update(_seed_data_and_pipelines(store, tmp))
    fixture.seeds["model_version_id"] = store.get_model_version(fixture.model, 1).id
    deployment = Deployment(uuid.uuid4().hex, fixture.model, f"{fixture.model}/1", 1)
    fixture.seeds["deployment"] = store.put_deployment(deployment).id
    fixture.seeds["prediction"] = log_prediction(store.settings, fixture.model, 1)
    return fixture


Body = Callable[[Fixture], Any]


@dataclass(frozen=True)
class Endpoint:
    method: str
    route: str  # the route template, as the app declares it
    needs: str  # a role on project 'default', or 'somewhere:<role>', 'admin*', 'any', 'public'
    path: Callable[[Fixture], str]
    body: Body | None = None
    raw: bool = False
    refused: int = 403  # the status of a caller without the role (404 where existence is
    # itself a secret)


# A feature view the online endpoint can be asked about (nothing materialized).
STATS = FeatureObject(
    "feature_view",
    "stats",
    {
        "entities": ["user"],
        "source": {"type": "file", "path": "none.parquet"},
        "schema": [{"name": "clicks", "dtype": "int64"}],
        "timestamp_field": "ts",
    },
)


def _new() -> str:
    return f"n-{uuid.uuid4().hex[:8]}"


def _edge(f: Fixture) -> dict[str, Any]:
    """A lineage edge between two records of project 'default'."""
    return {
        "src": {"kind": "dataset_version", "id": f.seeds["version_id"]},
        "dst": {"kind": "model_version", "id": f.seeds["model_version_id"]},
        "relation": "produced",
    }


ENDPOINTS = [
    Endpoint(
        "POST", "/experiments", "editor", lambda f: "/experiments", lambda f: {"name": _new()}
    ),
    Endpoint(
        "POST",
        "/experiments/get-or-create",
        "editor",
        lambda f: "/experiments/get-or-create",
        lambda f: {"name": _new()},
    ),
    Endpoint("GET", "/experiments", "any", lambda f: "/experiments"),
    Endpoint(
        "GET", "/experiments/by-name", "viewer", lambda f: f"/experiments/by-name?name={f.exp_name}"
    ),
    Endpoint("GET", "/experiments/{experiment_id}", "viewer", lambda f: f"/experiments/{f.exp_id}"),
    Endpoint(
        "PATCH",
        "/experiments/{experiment_id}",
        "maintainer",
        lambda f: f"/experiments/{f.exp_id}",
        lambda f: {"name": _new()},
    ),
    Endpoint(
        "DELETE", "/experiments/{experiment_id}", "maintainer", lambda f: f"/experiments/{f.exp_id}"
    ),
    Endpoint(
        "POST",
        "/experiments/{experiment_id}/restore",
        "maintainer",
        lambda f: f"/experiments/{f.exp_id}/restore",
    ),
    Endpoint(
        "POST",
        "/runs",
        "editor",
        lambda f: "/runs",
        lambda f: {"experiment_id": f.exp_id, "name": "r2"},
    ),
    Endpoint(
        "POST",
        "/runs/delete",
        "maintainer",
        lambda f: "/runs/delete",
        lambda f: {"run_ids": [f.run_id]},
    ),
    Endpoint(
        "POST",
        "/runs/restore",
        "maintainer",
        lambda f: "/runs/restore",
        lambda f: {"run_ids": [f.run_id]},
    ),
    Endpoint(
        "POST",
        "/runs/search",
        "viewer",
        lambda f: "/runs/search",
        lambda f: {"experiment_ids": [f.exp_id]},
    ),
    Endpoint("GET", "/runs/{run_id}", "viewer", lambda f: f"/runs/{f.run_id}"),
    Endpoint(
        "PATCH",
        "/runs/{run_id}",
        "editor",
        lambda f: f"/runs/{f.run_id}",
        lambda f: {"status": "FINISHED"},
    ),
    Endpoint("GET", "/runs/{run_id}/children", "viewer", lambda f: f"/runs/{f.run_id}/children"),
    Endpoint(
        "POST",
        "/runs/{run_id}/batch",
        "editor",
        lambda f: f"/runs/{f.run_id}/batch",
        lambda f: {"metrics": [{"key": "m", "value": 2, "step": 1, "timestamp": 2}]},
    ),
    Endpoint("DELETE", "/runs/{run_id}/tags/{key}", "editor", lambda f: f"/runs/{f.run_id}/tags/t"),
    Endpoint(
        "GET",
        "/runs/{run_id}/metric-history",
        "viewer",
        lambda f: f"/runs/{f.run_id}/metric-history?key=m",
    ),
    Endpoint(
        "PUT",
        "/runs/{run_id}/artifacts/{path:path}",
        "editor",
        lambda f: f"/runs/{f.run_id}/artifacts/new.txt",
        lambda f: b"bytes",
        raw=True,
    ),
    Endpoint("GET", "/runs/{run_id}/artifacts", "viewer", lambda f: f"/runs/{f.run_id}/artifacts"),
    Endpoint(
        "GET",
        "/runs/{run_id}/artifacts/{path:path}",
        "viewer",
        lambda f: f"/runs/{f.run_id}/artifacts/a.txt",
    ),
    Endpoint(
        "POST",
        "/lineage/edges",
        "editor",
        lambda f: "/lineage/edges",
        lambda f: {"edges": [_edge(f)]},
    ),
    Endpoint("GET", "/lineage", "viewer", lambda f: f"/lineage?kind=run&id={f.run_id}"),
    Endpoint(
        "PUT",
        "/blobs/{digest}",
        "somewhere:editor",
        lambda f: f"/blobs/{hashlib.sha256(b'bytes').hexdigest()}",
        lambda f: b"bytes",
        raw=True,
    ),
    Endpoint(
        "GET",
        "/blobs/{digest}",
        "viewer",
        lambda f: f"/blobs/{hashlib.sha256(b'artifact').hexdigest()}",  # the run's a.txt
        refused=404,  # as if it were not stored
    ),
    Endpoint("GET", "/whoami", "any", lambda f: "/whoami"),
    Endpoint("POST", "/users", "somewhere:admin", lambda f: "/users", lambda f: {"name": _new()}),
    Endpoint("GET", "/users", "somewhere:admin", lambda f: "/users"),
    Endpoint(
        "PUT",
        "/users/{name}/roles/{project}",
        "admin",
        lambda f: "/users/victim/roles/default",
        lambda f: {"role": "viewer"},
    ),
    Endpoint("POST", "/tokens", "any", lambda f: "/tokens", lambda f: {"name": "mine"}),
    Endpoint("GET", "/tokens", "any", lambda f: "/tokens"),
    Endpoint("DELETE", "/tokens/{token_id}", "any", lambda f: f"/tokens/{f.own_token}"),
    Endpoint("GET", "/audit", "somewhere:admin", lambda f: "/audit"),
    Endpoint("GET", "/info", "public", lambda f: "/info"),
    # datasets, pipelines and schedules, in project 'default'; listings answer everyone
    # with what they may see
    Endpoint("GET", "/datasets", "any", lambda f: "/datasets"),
    Endpoint(
        "GET",
        "/datasets/{name}/versions",
        "viewer",
        lambda f: f"/datasets/{f.seeds['dataset']}/versions",
    ),
    Endpoint(
        "POST",
        "/datasets/{name}/versions",
        "editor",
        lambda f: f"/datasets/{_new()}/versions",
        lambda f: {"digest": f.seeds["digest"], "num_rows": 1, "schema": [], "profile": {}},
    ),
    Endpoint(
        "GET",
        "/datasets/{name}/versions/latest",
        "viewer",
        lambda f: f"/datasets/{f.seeds['dataset']}/versions/latest",
    ),
    Endpoint(
        "GET",
        "/datasets/{name}/versions/{version}",
        "viewer",
        lambda f: f"/datasets/{f.seeds['dataset']}/versions/1",
    ),
    Endpoint(
        "GET",
        "/datasets/{name}/by-hash/{content_hash}",
        "viewer",
        lambda f: f"/datasets/{f.seeds['dataset']}/by-hash/{f.seeds['digest']}",
    ),
    Endpoint(
        "GET",
        "/dataset-versions/{version_id}",
        "viewer",
        lambda f: f"/dataset-versions/{f.seeds['version_id']}",
    ),
    Endpoint(
        "PUT",
        "/pipelines/{name}",
        "editor",
        lambda f: f"/pipelines/{_new()}",
        lambda f: {"ref": "pkg.mod:p"},
    ),
    Endpoint("GET", "/pipelines", "any", lambda f: "/pipelines"),
    Endpoint(
        "GET",
        "/pipelines/{name}",
        "viewer",
        lambda f: f"/pipelines/{f.seeds['pipeline']}",
    ),
    Endpoint(
        "POST",
        "/pipeline-runs",
        "editor",
        lambda f: "/pipeline-runs",
        lambda f: {"run": _pipeline_run(f.seeds["pipeline"]).to_dict(), "steps": []},
    ),
    Endpoint("GET", "/pipeline-runs", "any", lambda f: "/pipeline-runs"),
    Endpoint(
        "GET",
        "/pipeline-runs/{run_id}",
        "viewer",
        lambda f: f"/pipeline-runs/{f.seeds['run']}",
    ),
    Endpoint(
        "PATCH",
        "/pipeline-runs/{run_id}",
        "editor",
        lambda f: f"/pipeline-runs/{f.seeds['run']}",
        lambda f: {"status": "FINISHED", "end_time": 2},
    ),
    Endpoint(
        "GET",
        "/pipeline-runs/{run_id}/steps",
        "viewer",
        lambda f: f"/pipeline-runs/{f.seeds['run']}/steps",
    ),
    Endpoint(
        "POST",
        "/pipeline-runs/{run_id}/steps",
        "editor",
        lambda f: f"/pipeline-runs/{f.seeds['run']}/steps",
        lambda f: {"steps": [StepRun("", "", "b", "pkg.mod:b", "PENDING").to_dict()]},
    ),
    Endpoint(
        "PATCH",
        "/step-runs",
        "editor",
        lambda f: "/step-runs",
        lambda f: {"updates": {f.seeds["step"]: {"logs": "more"}}},
    ),
    Endpoint(
        "GET",
        "/step-runs/{step_run_id}",
        "viewer",
        lambda f: f"/step-runs/{f.seeds['step']}",
    ),
    Endpoint(
        "PATCH",
        "/step-runs/{step_run_id}",
        "editor",
        lambda f: f"/step-runs/{f.seeds['step']}",
        lambda f: {"status": "FINISHED", "lineage": [_edge(f)]},
    ),
    Endpoint(
        "GET",
        "/step-cache/{cache_key}",
        "viewer",
        lambda f: f"/step-cache/{f.seeds['cache_key']}",
    ),
    Endpoint(
        "POST",
        "/schedules",
        "editor",
        lambda f: "/schedules",
        lambda f: Schedule(_new(), f.seeds["pipeline"], "pkg.mod:p", "0 3 * * *").to_dict(),
    ),
    Endpoint("GET", "/schedules", "any", lambda f: "/schedules"),
    Endpoint(
        "GET",
        "/schedules/{name}",
        "viewer",
        lambda f: f"/schedules/{f.seeds['schedule']}",
    ),
    Endpoint(
        "DELETE",
        "/schedules/{name}",
        "maintainer",
        lambda f: f"/schedules/{f.seeds['schedule']}",
    ),
    Endpoint(
        "POST",
        "/schedules/{name}/fired",
        "editor",
        lambda f: f"/schedules/{f.seeds['schedule']}/fired",
        lambda f: {"last_fire_at": 5},
    ),
]
# The model registry: a model in project 'default' with versions 1 (@champion) and 2, each
# with tag 't', made from the run's artifact blob.
MODEL_FILE = {"path": "model.txt", "digest": hashlib.sha256(b"artifact").hexdigest(), "size": 8}


def _fresh_model(store: LocalStore, exp_name: str) -> str:
    name = f"m-{exp_name}"
    store.create_registered_model(name, tags={"t": "v"})
    files = [ArtifactInfo(**MODEL_FILE)]
    for _ in range(2):
        store.create_model_version(name, files, flavor="pyfunc", tags={"t": "v"})
    store.set_model_alias(name, "champion", 1)
    return name


ENDPOINTS += [
    Endpoint("POST", "/models", "editor", lambda f: "/models", lambda f: {"name": _new()}),
    Endpoint("GET", "/models", "any", lambda f: "/models"),
    Endpoint("GET", "/models/{name}", "viewer", lambda f: f"/models/{f.model}"),
    Endpoint(
        "PATCH",
        "/models/{name}",
        "editor",
        lambda f: f"/models/{f.model}",
        lambda f: {"description": "new"},
    ),
    Endpoint(
        "DELETE", "/models/{name}/tags/{key}", "editor", lambda f: f"/models/{f.model}/tags/t"
    ),
    Endpoint("DELETE", "/models/{name}", "maintainer", lambda f: f"/models/{f.model}"),
    Endpoint(
        "POST",
        "/models/{name}/versions",
        "editor",
        lambda f: f"/models/{f.model}/versions",
        lambda f: {"files": [MODEL_FILE], "flavor": "pyfunc"},
    ),
    Endpoint("GET", "/models/{name}/versions", "viewer", lambda f: f"/models/{f.model}/versions"),
    Endpoint(
        "GET",
        "/models/{name}/versions/{version}",
        "viewer",
        lambda f: f"/models/{f.model}/versions/1",
    ),
    Endpoint(
        "GET",
        "/model-versions/{version_id}",
        "viewer",
        lambda f: f"/model-versions/{f.seeds['model_version_id']}",
    ),
    Endpoint(
        "PATCH",
        "/models/{name}/versions/{version}",
        "editor",
        lambda f: f"/models/{f.model}/versions/1",
        lambda f: {"tags": {"u": "w"}},
    ),
    Endpoint(
        "DELETE",
        "/models/{name}/versions/{version}/tags/{key}",
        "editor",
        lambda f: f"/models/{f.model}/versions/2/tags/t",
    ),
    Endpoint(
        "DELETE",
        "/models/{name}/versions/{version}",
        "maintainer",
        lambda f: f"/models/{f.model}/versions/2",
    ),
    Endpoint(
        "GET",
        "/models/{name}/aliases/{alias}",
        "viewer",
        lambda f: f"/models/{f.model}/aliases/champion",
    ),
    Endpoint(
        "PUT",
        "/models/{name}/aliases/{alias}",
        "maintainer",
        lambda f: f"/models/{f.model}/aliases/champion",
        lambda f: {"version": 2},
    ),
    Endpoint(
        "DELETE",
        "/models/{name}/aliases/{alias}",
        "maintainer",
        lambda f: f"/models/{f.model}/aliases/champion",
    ),
    Endpoint(
        "GET",
        "/models/{name}/alias-events",
        "viewer",
        lambda f: f"/models/{f.model}/alias-events",
    ),
    Endpoint(
        "POST",
        "/features/online",
        "viewer",
        lambda f: "/features/online",
        lambda f: {"entity_rows": [], "features": ["stats:clicks"]},
    ),
    Endpoint(
        "PUT",
        "/features/objects",
        "editor",
        lambda f: "/features/objects",
        lambda f: {"objects": [{"kind": STATS.kind, "name": STATS.name, "spec": STATS.spec}]},
    ),
    Endpoint("GET", "/features/objects", "any", lambda f: "/features/objects"),
    Endpoint(
        "GET",
        "/features/objects/{kind}/{name}",
        "viewer",
        lambda f: "/features/objects/feature_view/stats",
    ),
    Endpoint(
        "POST",
        "/features/views/{view}/materializations",
        "editor",
        lambda f: "/features/views/stats/materializations",
        lambda f: {"start": 0, "end": 10, "rows": 1},
    ),
    Endpoint(
        "GET",
        "/features/views/{view}/materializations",
        "viewer",
        lambda f: "/features/views/stats/materializations",
    ),
    Endpoint("GET", "/features/freshness", "any", lambda f: "/features/freshness"),
    Endpoint("GET", "/monitors", "any", lambda f: "/monitors"),
    Endpoint("GET", "/monitors/{name}", "viewer", lambda f: f"/monitors/{f.seeds['monitor']}"),
    Endpoint(
        "PUT",
        "/monitors/{name}",
        "editor",
        lambda f: f"/monitors/{f.seeds['monitor']}",
        lambda f: {"name": f.seeds["monitor"], "model": "churn@challenger"},
    ),
    Endpoint("DELETE", "/monitors/{name}", "editor", lambda f: f"/monitors/{f.seeds['monitor']}"),
    Endpoint(
        "POST",
        "/monitors/{name}/runs",
        "editor",
        lambda f: f"/monitors/{f.seeds['monitor']}/runs",
        lambda f: {
            "id": uuid.uuid4().hex,
            "monitor": f.seeds["monitor"],
            "started_at": 1,
            "finished_at": 2,
            "window_start": 0,
            "window_end": 1,
            "model_version": 1,
            "status": "ok",
            "result": {"metrics": {"auc": 0.8}},
        },
    ),
    Endpoint(
        "GET", "/monitors/{name}/runs", "viewer", lambda f: f"/monitors/{f.seeds['monitor']}/runs"
    ),
    Endpoint(
        "PUT",
        "/deployments/{deployment_id}",
        "editor",
        lambda f: f"/deployments/{f.seeds['deployment']}",
        lambda f: {
            "id": f.seeds["deployment"],
            "model": f.model,
            "reference": f"{f.model}/1",
            "version": 1,
        },
    ),
    Endpoint("GET", "/deployments", "any", lambda f: "/deployments"),
    Endpoint(
        "GET",
        "/deployments/{deployment_id}",
        "viewer",
        lambda f: f"/deployments/{f.seeds['deployment']}",
    ),
    Endpoint(
        "GET",
        "/deployments/{deployment_id}/events",
        "viewer",
        lambda f: f"/deployments/{f.seeds['deployment']}/events",
    ),
    Endpoint(
        "POST",
        "/deployments/{deployment_id}/heartbeat",
        "editor",
        lambda f: f"/deployments/{f.seeds['deployment']}/heartbeat",
    ),
    Endpoint(
        "POST",
        "/deployments/{deployment_id}/stop",
        "editor",
        lambda f: f"/deployments/{f.seeds['deployment']}/stop",
    ),
    # the scheduler's lease spans every project
    Endpoint(
        "POST",
        "/leases/{name}",
        "admin*",
        lambda f: "/leases/scheduler",
        lambda f: {"holder": f"host-{f.run_id[:8]}", "ttl_seconds": 60},
    ),
    Endpoint(
        "DELETE", "/leases/{name}", "admin*", lambda f: f"/leases/scheduler?holder=h-{f.run_id[:8]}"
    ),
    # the web UI's reads
    Endpoint(
        "GET",
        "/runs/{run_id}/metrics/{key}/history",
        "viewer",
        lambda f: f"/runs/{f.run_id}/metrics/m/history?max_points=10",
    ),
    Endpoint(
        "GET",
        "/experiments/{experiment_id}/columns",
        "viewer",
        lambda f: f"/experiments/{f.exp_id}/columns",
    ),
    # a prediction of a project the caller may not read is not there for them
    Endpoint(
        "GET",
        "/predictions/{prediction_id}",
        "viewer",
        lambda f: f"/predictions/{f.seeds['prediction']}",
        refused=404,
    ),
]


def _pipeline_run(pipeline: str) -> PipelineRun:
    return PipelineRun("", pipeline, "pkg.mod:p", "RUNNING", {}, "inline", [], created_at=1)


def _seed_data_and_pipelines(store: LocalStore, tmp: Path) -> dict[str, str]:
    """A dataset version, a pipeline with a run and a cached step run, and a schedule, all
    named afresh (for the rows of the matrix on datasets, pipelines and schedules)."""
    tag = uuid.uuid4().hex[:8]
    source = tmp / f"{tag}.parquet"
    source.write_bytes(tag.encode())  # the metadata store never opens it
    version = store.create_dataset_version(f"d-{tag}", source, num_rows=1, schema=[], profile={})
    store.register_pipeline(f"p-{tag}", "pkg.mod:p")
    run, (step,) = store.create_pipeline_run(
        _pipeline_run(f"p-{tag}"),
        [StepRun("", "", "a", "pkg.mod:a", "FINISHED", cache_key=tag, end_time=2)],
    )
    store.put_schedule(Schedule(f"s-{tag}", f"p-{tag}", "pkg.mod:p", "0 3 * * *"))
    store.put_monitor(Monitor(f"mon-{tag}", "churn@champion", alerts=["auc < 0.7"]))
    return {
        "monitor": f"mon-{tag}",
        "dataset": version.dataset,
        "digest": version.content_hash,
        "version_id": version.id,
        "pipeline": f"p-{tag}",
        "run": run.id,
        "step": step,
        "cache_key": tag,
        "schedule": f"s-{tag}",
    }


# Acting on someone else's tokens needs admin on every project.
OTHERS_TOKENS = [
    Endpoint("DELETE", "/tokens/{token_id}", "admin*", lambda f: f"/tokens/{f.victim_token}"),
    Endpoint("POST", "/tokens", "admin*", lambda f: "/tokens", lambda f: {"user": "victim"}),
    Endpoint("GET", "/tokens", "admin*", lambda f: "/tokens?user=victim"),
]


def expected(caller: str, needs: str, refused: int = 403) -> int:
    """The status class a caller should get: 2 (success), 401, or ``refused`` (403)."""
    want = _expected(caller, needs)
    return refused if want == 403 else want


def _expected(caller: str, needs: str) -> int:
    if needs == "public":
        return 2
    if caller in ("anonymous", "forged"):
        return 401
    grants = ROLE_OF[caller]
    held = [LEVELS.index(role) for role in grants.values()]
    if needs == "any":
        return 2
    if needs == "admin*":
        return 2 if grants.get("*") == "admin" else 403
    if needs.startswith("somewhere:"):
        return 2 if any(h >= LEVELS.index(needs.split(":")[1]) for h in held) else 403
    on_default = [LEVELS.index(r) for p, r in grants.items() if p in ("default", "*")]
    return 2 if any(h >= LEVELS.index(needs) for h in on_default) else 403


def _secrets(f: Fixture) -> list[str]:
    """What only callers with a role on project 'default' may see of a fixture's records."""
    return [f.exp_name, f.run_id, f.model, *f.seeds.values()]


@pytest.mark.parametrize(
    "endpoint", ENDPOINTS + OTHERS_TOKENS, ids=lambda e: f"{e.method} {e.route} ({e.needs})"
)
def test_every_caller_gets_what_their_role_allows(
    world: World, endpoint: Endpoint, tmp_path: Path
) -> None:
    wrong = []
    with httpx.Client(base_url=world.url + "/api/v1") as client:
        for caller in CALLERS:
            fresh = _fresh(world.store, caller if caller in ROLE_OF else "victim", tmp_path)
            body = endpoint.body(fresh) if endpoint.body else None
            kwargs: dict[str, Any] = {"content": body} if endpoint.raw else {"json": body}
            answer = client.request(
                endpoint.method, endpoint.path(fresh), headers=world.headers(caller), **kwargs
            )
            want = expected(caller, endpoint.needs, endpoint.refused)
            got = answer.status_code // 100 if answer.status_code < 300 else answer.status_code
            if got != want:
                wrong.append(f"{caller}: got {answer.status_code} {answer.text[:120]}, want {want}")
            elif want in (401, 403, 404):
                code = answer.json()["code"]
                assert code == {401: "unauthenticated", 403: "permission_denied"}.get(
                    want, "not_found"
                )
            if caller in ("outsider", "nobody"):  # a role only elsewhere: never this data
                leaked = [x for x in _secrets(fresh) if x in answer.text]
                if leaked:
                    wrong.append(f"{caller}: the answer shows {leaked}: {answer.text[:120]}")
    assert not wrong, "\n".join(wrong)


def test_the_matrix_covers_every_api_route(live_server: LiveServer) -> None:
    covered = {(e.method, "/api/v1" + e.route) for e in ENDPOINTS}
    routes = {(method, path) for method, path in api_routes() if path.startswith("/api/v1/")}
    assert routes == covered


# ---------------------------------------------------------------------------- tokens


def test_tokens_are_kept_only_as_salted_hashes(world: World) -> None:
    new = world.store.create_token("editor", "laptop")
    with world.store.engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(text("SELECT * FROM api_tokens"))]
    flat = " ".join(str(value) for row in rows for value in row)
    assert new.token not in flat and new.token.split("_", 2)[2] not in flat
    assert new.info.id in flat  # the public id is the key
    salts = [row[3] for row in rows]
    assert len(set(salts)) == len(salts)  # one salt per token
    assert world.store.authenticate(new.token).name == "editor"


def test_revoked_expired_and_forged_tokens_are_refused(
    world: World, sqlite_settings: Settings
) -> None:
    token_id = world.tokens["editor"].split("_")[1]
    world.store.revoke_token(token_id)  # in the database, before the server saw the token
    world.store.create_token("editor")  # another token does not revive the revoked one
    with pytest.raises(Unauthenticated, match="revoked"):
        world.rest("editor", sqlite_settings).whoami()
    assert world.rest("maintainer", sqlite_settings).whoami().roles == {"default": "maintainer"}
    other = world.store.create_token("viewer", expires_at=2**42)
    with world.store.engine.begin() as conn:
        conn.execute(
            text("UPDATE api_tokens SET expires_at = 1 WHERE id = :i"), {"i": other.info.id}
        )
    expired = RestStore(load_settings(tracking_uri=world.url, token=other.token))
    with pytest.raises(Unauthenticated, match="expired"):
        expired.whoami()
    token = world.tokens["viewer"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(Unauthenticated, match="not valid"):
        RestStore(load_settings(tracking_uri=world.url, token=forged)).whoami()
    basic = httpx.get(world.url + "/api/v1/whoami", headers={"Authorization": "Basic abc"})
    assert basic.status_code == 401 and "Bearer" in basic.json()["message"]


def test_the_api_document_and_its_page_need_a_token_like_the_api(world: World) -> None:
    for path in ("/api/v1/openapi.json", "/api/v1/docs"):
        assert httpx.get(world.url + path).status_code == 401, path
        answer = httpx.get(world.url + path, headers=world.headers("viewer"))
        assert answer.status_code == 200, path
    spec = httpx.get(world.url + "/api/v1/openapi.json", headers=world.headers("viewer")).json()
    assert "/api/v1/runs/search" in spec["paths"]


def test_revoking_through_the_server_takes_effect_at_once(
    world: World, sqlite_settings: Settings
) -> None:
    viewer = world.rest("viewer", sqlite_settings)
    assert viewer.list_experiments() == []  # cached as valid now
    (mine,) = viewer.list_tokens()
    viewer.revoke_token(mine.id)
    with pytest.raises(Unauthenticated, match="revoked"):
        viewer.list_experiments()


# ---------------------------------------------------------------------------- projects


def test_callers_see_only_the_projects_they_have_a_role_on(
    world: World, sqlite_settings: Settings
) -> None:
    mine = world.store.create_experiment("mine", project="default")
    theirs = world.store.create_experiment("theirs", project="other")
    viewer = world.rest("viewer", sqlite_settings)
    assert [e.name for e in viewer.list_experiments()] == ["mine"]
    with pytest.raises(PermissionDenied, match="viewer role on project 'other'"):
        viewer.search_runs([mine.id, theirs.id])
    with pytest.raises(PermissionDenied):
        viewer.get_experiment_by_name("theirs")
    outsider = world.rest("outsider", sqlite_settings)
    created = outsider.create_experiment("new", project="other")
    assert created.project == "other"
    with pytest.raises(PermissionDenied, match="editor role on project 'default'"):
        outsider.create_experiment("nope")
    run = outsider.create_run(created.id, "r")
    with pytest.raises(PermissionDenied):  # lineage naming a run needs editor on its project
        world.rest("editor", sqlite_settings).add_lineage_edges(
            [LineageEdge(LineageNode("run", run.id), LineageNode("model_version", "m"), "produced")]
        )
    assert world.store.get_lineage(LineageNode("run", run.id), "down") == []


def test_a_viewer_may_dry_run_a_promotion_but_not_make_it(
    world: World, sqlite_settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "model.txt").write_bytes(b"artifact")
    world.store.put_blob(tmp_path / "model.txt")
    name = _fresh_model(world.store, "dry")
    viewer = world.rest("viewer", sqlite_settings)
    rules = ["metrics.auc > 0.9"]
    trial = viewer.set_model_alias(name, "champion", 2, requires=rules, dry_run=True)
    assert trial.outcome == "rejected" and not trial.gates[0].passed
    with pytest.raises(PermissionDenied, match="maintainer"):
        viewer.set_model_alias(name, "champion", 2)
    assert world.store.get_model_version_by_alias(name, "champion").version == 1
    assert len(world.store.list_alias_events(name, "champion")) == 1  # only the setup's move


def test_model_listing_fills_a_page_with_models_the_caller_may_see(
    world: World, sqlite_settings: Settings
) -> None:
    for name in ("a-hidden", "b-hidden", "c-hidden"):  # sort before the visible one
        world.store.create_registered_model(name, project="other")
    world.store.create_registered_model("z-visible", project="default")
    viewer = world.rest("viewer", sqlite_settings)
    assert [m.name for m in viewer.list_registered_models(limit=1)] == ["z-visible"]
    assert viewer.list_registered_models(projects=["other"]) == []  # no role there
    admin = world.rest("admin", sqlite_settings)
    assert [m.name for m in admin.list_registered_models(limit=2)] == ["a-hidden", "b-hidden"]
    only = admin.list_registered_models(projects=["default"])
    assert [m.name for m in only] == ["z-visible"]


def test_the_sdk_logs_into_the_configured_project(world: World, sqlite_settings: Settings) -> None:
    import shipyard

    client = shipyard.configure(
        home=sqlite_settings.home,
        tracking_uri=world.url,
        token=world.tokens["outsider"],
        project="other",
        sync_logging=True,
    )
    try:
        with shipyard.start_run(experiment="remote") as run:
            shipyard.log_metric("loss", 0.5)
        assert client.get_run(run.id).metrics == {"loss": 0.5}
        assert world.store.get_experiment_by_name("remote").project == "other"
    finally:
        shipyard.tracking._fluent._default = None
        client.close()


# ---------------------------------------------------------------------------- audit


def test_writes_are_audited_with_who_what_and_when(world: World, sqlite_settings: Settings) -> None:
    editor = world.rest("editor", sqlite_settings)
    exp = editor.create_experiment("audited")
    run = editor.create_run(exp.id, "r")
    editor.log_batch(run.id, [MetricPoint("m", 1.0, 0, 1)])
    editor.get_run(run.id)  # reads are not audited
    editor.search_runs([exp.id])  # nor searches, though they are POSTs
    with pytest.raises(PermissionDenied):
        editor.delete_runs([run.id])  # refused writes are
    other = world.rest("outsider", sqlite_settings)
    other.create_experiment("elsewhere", project="other")

    entries = world.rest("admin", sqlite_settings).list_audit(limit=20)
    mine = [(e.user, e.method, e.route, e.status, e.project) for e in entries if e.user == "editor"]
    assert mine == [
        ("editor", "POST", "/api/v1/runs/delete", 403, "default"),
        ("editor", "POST", "/api/v1/runs/{run_id}/batch", 204, "default"),
        ("editor", "POST", "/api/v1/runs", 200, "default"),
        ("editor", "POST", "/api/v1/experiments", 200, "default"),
    ]
    assert all(e.at > 0 and e.client.startswith("127.0.0.1:") for e in entries)
    assert entries[0].path.startswith("/api/v1/experiments")
    scoped = world.rest("project-admin", sqlite_settings).list_audit()
    assert {e.project for e in scoped} == {"default"}  # not the 'other' project's entries
    with pytest.raises(PermissionDenied):
        editor.list_audit()


def test_the_audit_log_keeps_to_its_retention(sqlite_settings: Settings) -> None:
    store = LocalStore(sqlite_settings)
    day = 86_400_000

    def entry(age_days: int) -> dict[str, Any]:
        at = now_ms() - age_days * day
        return {"at": at, "user": "u", "method": "POST", "route": "/api/v1/runs", "path": "/x"}

    writer = AuditWriter(store, retention_days=30)
    writer.add({**entry(40), "status": 200, "project": "default", "client": ""})
    writer.add({**entry(1), "status": 200, "project": "default", "client": ""})
    writer.flush()
    writer.close()
    kept = store.list_audit()
    assert len(kept) == 1 and now_ms() - kept[0].at < 2 * day  # the 40-day-old entry went
    with pytest.raises(ConfigError, match="audit_retention_days"):
        load_settings(home=sqlite_settings.home, audit_retention_days=0)


def test_the_read_only_posts_name_real_routes() -> None:
    posts = {path for method, path in api_routes() if method == "POST"}
    assert posts >= READ_ONLY_POSTS


# ---------------------------------------------------------------------------- starting up


def test_a_public_address_needs_authentication(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path)
    check_auth(settings, "127.0.0.1", False)
    check_auth(settings, "::1", False)
    check_auth(settings, "localhost", False)
    for host in ("0.0.0.0", "10.1.2.3", "::"):
        with pytest.raises(ConfigError, match="without authentication"):
            check_auth(settings, host, False)
    check_auth(settings, "0.0.0.0", True)  # --insecure-no-auth
    with_auth = load_settings(home=tmp_path, server_auth=True)
    with pytest.raises(ConfigError, match="no usable API token exists"):
        check_auth(with_auth, "0.0.0.0", False)
    store = LocalStore(with_auth)
    store.create_user("ops")
    store.revoke_token(store.create_token("ops").info.id)
    with pytest.raises(ConfigError, match="no usable API token"):
        check_auth(with_auth, "0.0.0.0", False)  # a revoked token lets nobody in
    store.create_token("ops")
    check_auth(with_auth, "0.0.0.0", False)
