"""Every record belongs to a project, and a user with a role only on another project gets
403 (or 404 for a blob) and never its data, through every route and every lineage node kind;
the project's own users still succeed. The step-cache exploit (patch another project's step
outputs to point at a pickle) fails at the route, and a schedule only ever runs a pipeline
registered in its own project, by that pipeline's reference."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import text

from shipyard.client import LocalStore
from shipyard.config import Settings
from shipyard.entities import (
    LINEAGE_NODE_KINDS,
    PACKAGE_SET_TAG,
    ArtifactInfo,
    Deployment,
    FeatureObject,
    LineageEdge,
    LineageNode,
    Monitor,
    MonitorRun,
    PipelineRun,
    Schedule,
    StepRun,
)
from shipyard.pipelines import Scheduler
from tests.support.predictions import log_prediction
from tests.support.scheduling import Recorder
from tests.support.server import LiveServer

API = "/api/v1"
#: Users: one maintainer per project, and an admin of every project.
USERS = {
    "owner": {"default": "maintainer"},
    "fraud": {"fraud": "maintainer"},
    "root": {"*": "admin"},
}


@dataclass
class Projects:
    """A server with authentication, a record of every kind in project 'default' (and a few
    in 'fraud'), and a client per user."""

    store: LocalStore
    url: str
    tmp: Path
    tokens: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, LineageNode] = field(default_factory=dict)  # default's, by kind
    names: dict[str, str] = field(default_factory=dict)  # default's records, by kind

    def client(self, user: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        return httpx.Client(base_url=self.url + API, headers=headers, timeout=60)


def _blob(store: LocalStore, tmp: Path, content: bytes) -> str:
    path = tmp / f"{uuid.uuid4().hex}.bin"
    path.write_bytes(content)
    return store.put_blob(path)


Seeded = tuple[dict[str, LineageNode], dict[str, str]]


def _seed(store: LocalStore, tmp: Path, project: str) -> Seeded:
    """One record of every kind in ``project``, linked in one lineage chain."""
    tag = f"{project}-{uuid.uuid4().hex[:6]}"
    exp = store.create_experiment(f"e-{tag}", project=project)
    packages = _blob(store, tmp, f"pkg-{tag}==1.0".encode())  # the run's package set
    run = store.create_run(exp.id, "r", tags={PACKAGE_SET_TAG: packages})
    artifact = tmp / f"{tag}.txt"
    artifact.write_text(f"artifact of {tag}")
    store.log_artifact(run.id, artifact, "a.txt")
    parquet = tmp / f"{tag}.parquet"
    parquet.write_bytes(f"rows of {tag}".encode())
    dataset = store.create_dataset_version(
        f"d-{tag}", parquet, num_rows=1, schema=[], profile={}, project=project
    )
    model_file = ArtifactInfo("model.txt", _blob(store, tmp, f"model {tag}".encode()), 8)
    version = store.create_model_version(f"m-{tag}", [model_file], flavor="pyfunc", project=project)
    store.set_model_alias(f"m-{tag}", "champion", 1)
    event = store.list_alias_events(f"m-{tag}")[0]
    store.register_pipeline(f"p-{tag}", "pkg.mod:p", project=project)
    output = _blob(store, tmp, f"step output {tag}".encode())
    prun, (step,) = store.create_pipeline_run(
        PipelineRun("", f"p-{tag}", "pkg.mod:p", "FINISHED", {}, "inline", [], created_at=1),
        [
            StepRun(
                "",
                "",
                "a",
                "pkg.mod:a",
                "FINISHED",
                cache_key=f"key-{tag}",
                end_time=2,
                outputs=[{"digest": output, "format": "json"}],
            )
        ],
        project=project,
    )
    store.put_schedule(Schedule(f"s-{tag}", f"p-{tag}", "pkg.mod:p", "0 3 * * *"), project)
    store.apply_feature_objects(
        [
            FeatureObject("entity", f"u_{tag}", {"join_keys": ["id"]}),
            FeatureObject("feature_view", f"v_{tag}", {"entities": [f"u_{tag}"]}),
        ],
        project=project,
    )
    store.record_feature_materialization(f"v_{tag}", 0, 10, 1)
    store.put_monitor(Monitor(f"mon-{tag}", f"m-{tag}@champion"), project)
    monitor_run = store.add_monitor_run(
        MonitorRun(uuid.uuid4().hex, f"mon-{tag}", 1, 2, 0, 1, 1, "ok")
    )
    nodes = {
        "run": LineageNode("run", run.id),
        "dataset_version": LineageNode("dataset_version", dataset.id),
        "model_version": LineageNode("model_version", version.id),
        "alias_event": LineageNode("alias_event", str(event.id)),
        "pipeline_run": LineageNode("pipeline_run", prun.id),
        "step_run": LineageNode("step_run", step),
        "feature_view": LineageNode("feature_view", f"v_{tag}"),
        "monitor_run": LineageNode("monitor_run", monitor_run.id),
    }
    chain = list(nodes.values())
    store.add_lineage_edges([LineageEdge(a, b, "produced") for a, b in itertools.pairwise(chain)])
    deployment = store.put_deployment(
        Deployment(uuid.uuid4().hex, f"m-{tag}", f"m-{tag}@champion", 1)
    )  # linked from its model version by the store
    nodes["deployment"] = LineageNode("deployment", deployment.id)
    names = {
        "experiment": exp.name,
        "dataset": dataset.dataset,
        "model": f"m-{tag}",
        "pipeline": f"p-{tag}",
        "schedule": f"s-{tag}",
        "view": f"v_{tag}",
        "monitor": f"mon-{tag}",
        "cache_key": f"key-{tag}",
        "artifact": hashlib.sha256(artifact.read_bytes()).hexdigest(),
        "step_output": output,
        "prediction": log_prediction(store.settings, f"m-{tag}", 1),
        "package_set": packages,
    }
    return nodes, names


@pytest.fixture
def projects(live_server: LiveServer, sqlite_settings: Settings, tmp_path: Path) -> Projects:
    store = LocalStore(sqlite_settings)
    live_server.serve(store, auth=True)
    world = Projects(store, live_server.url, tmp_path)
    for name, grants in USERS.items():
        store.create_user(name)
        for project, role in grants.items():
            store.set_role(name, project, role)
        world.tokens[name] = store.create_token(name, "test").token
    world.nodes, world.names = _seed(store, tmp_path, "default")
    return world


# ---------------------------------------------------------------------------- lineage


LINEAGE_KINDS = [
    "run",
    "dataset_version",
    "model_version",
    "alias_event",
    "pipeline_run",
    "step_run",
    "feature_view",
    "monitor_run",
    "deployment",
]


@pytest.mark.parametrize("kind", LINEAGE_KINDS)
def test_lineage_of_every_node_kind_is_read_only_by_its_project(
    projects: Projects, kind: str
) -> None:
    node = projects.nodes[kind]
    query = {"kind": node.kind, "id": node.id, "direction": "down"}
    with projects.client("fraud") as fraud, projects.client("owner") as owner:
        refused = fraud.get("/lineage", params=query)
        assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
        assert node.id not in refused.text
        for direction in ("up", "down"):
            mine = owner.get("/lineage", params={**query, "direction": direction})
            assert mine.status_code == 200
        edges = owner.get("/lineage", params={"kind": node.kind, "id": node.id}).json()["edges"]
        edges += owner.get("/lineage", params=query).json()["edges"]
        assert edges  # every node is on the chain


def test_a_lineage_walk_stops_at_nodes_of_projects_the_caller_cannot_read(
    projects: Projects,
) -> None:
    theirs, _ = _seed(projects.store, projects.tmp, "fraud")
    mine = projects.nodes["monitor_run"]
    projects.store.add_lineage_edges([LineageEdge(mine, theirs["run"], "consumed")])
    walked = f"{theirs['run'].id}"
    with projects.client("owner") as owner, projects.client("root") as root:
        seen = owner.get(
            "/lineage", params={"kind": "run", "id": projects.nodes["run"].id, "direction": "down"}
        )
        assert seen.status_code == 200 and walked not in seen.text
        assert len(seen.json()["edges"]) == len(LINEAGE_KINDS) - 1  # the chain, not beyond
        everything = root.get(
            "/lineage", params={"kind": "run", "id": projects.nodes["run"].id, "direction": "down"}
        )
        assert walked in everything.text  # an admin of every project sees across


def test_writing_a_lineage_edge_needs_editor_on_both_ends(projects: Projects) -> None:
    theirs, _ = _seed(projects.store, projects.tmp, "fraud")
    across = {
        "src": {"kind": "run", "id": theirs["run"].id},
        "dst": {"kind": "model_version", "id": projects.nodes["model_version"].id},
        "relation": "produced",
    }
    unowned = {
        "src": {"kind": "run", "id": theirs["run"].id},
        "dst": {"kind": "deployment", "id": "prod"},
        "relation": "produced",
    }
    with projects.client("fraud") as fraud, projects.client("owner") as owner:
        for edges in ([across], [unowned]):
            assert fraud.post("/lineage/edges", json={"edges": edges}).status_code == 403
        assert owner.post("/lineage/edges", json={"edges": [across]}).status_code == 403
        inside = {**across, "src": {"kind": "run", "id": projects.nodes["run"].id}}
        assert owner.post("/lineage/edges", json={"edges": [inside]}).status_code == 204
    reached = projects.store.get_lineage(projects.nodes["model_version"], "up", 1)
    assert LineageNode("run", theirs["run"].id) not in {e.src for e in reached}


# ---------------------------------------------------------------------------- deployments


def test_a_deployment_is_read_and_written_only_by_its_model_s_project(
    projects: Projects,
) -> None:
    deployment = projects.store.get_deployment(projects.nodes["deployment"].id)
    body = {**deployment.to_dict(), "version": 1}
    path = f"/deployments/{deployment.id}"
    with projects.client("fraud") as fraud, projects.client("owner") as owner:
        for answer in (
            fraud.get(path),
            fraud.get(f"{path}/events"),
            fraud.post(f"{path}/heartbeat"),
            fraud.post(f"{path}/stop"),
            fraud.put(path, json=body),
            # a new deployment of another project's model
            fraud.put("/deployments/ab12", json={**body, "id": "ab12"}),
        ):
            assert answer.status_code == 403, answer.text
            assert deployment.id not in answer.text
        assert owner.get(path).json()["id"] == deployment.id
        assert [e["kind"] for e in owner.get(f"{path}/events").json()["events"]] == ["started"]
        assert owner.post(f"{path}/stop").json()["status"] == "stopped"
    assert projects.store.list_deployments(projects=["fraud"]) == []


# ---------------------------------------------------------------------------- blobs


def test_a_blob_is_read_only_by_projects_that_reference_it(projects: Projects) -> None:
    theirs, their_names = _seed(projects.store, projects.tmp, "fraud")
    uploaded = b"uploaded by fraud, referenced by nobody"
    digest = hashlib.sha256(uploaded).hexdigest()
    mine = [projects.names[n] for n in ("artifact", "step_output", "package_set")]
    mine.append(
        projects.store.get_dataset_version_by_id(projects.nodes["dataset_version"].id).content_hash
    )
    with projects.client("fraud") as fraud, projects.client("owner") as owner:
        assert fraud.put(f"/blobs/{digest}", content=uploaded).status_code == 200
        # storing a blob grants no right to read it, and another project's blobs are unknown
        for unreadable in [digest, *mine]:
            refused = fraud.get(f"/blobs/{unreadable}")
            assert refused.status_code == 404 and refused.json()["code"] == "not_found"
            assert str(projects.store.settings.home) not in refused.text
        for readable in mine:
            assert owner.get(f"/blobs/{readable}").status_code == 200
        assert fraud.get(f"/blobs/{their_names['artifact']}").status_code == 200
        assert owner.get(f"/blobs/{their_names['artifact']}").status_code == 404
    assert theirs  # fraud's records exist, only fraud reads them


# ---------------------------------------------------------------------------- listings


def test_listings_hold_only_records_of_readable_projects_before_the_limit(
    projects: Projects,
) -> None:
    _, theirs = _seed(projects.store, projects.tmp, "fraud")
    for _ in range(3):  # default's runs are newer: a limit applied first would hide fraud's
        projects.store.create_pipeline_run(
            PipelineRun(
                "", projects.names["pipeline"], "pkg.mod:p", "QUEUED", {}, "", [], created_at=10**12
            )
        )
    listings = {
        "/datasets": ("datasets", "name", "dataset"),
        "/pipelines": ("pipelines", "name", "pipeline"),
        "/schedules": ("schedules", "name", "schedule"),
        "/monitors": ("monitors", "name", "monitor"),
        "/deployments": ("deployments", "model", "model"),
        "/features/objects?kind=feature_view": ("objects", "name", "view"),
        "/features/freshness": ("views", "view", "view"),
        "/pipeline-runs?limit=1": ("runs", "pipeline", "pipeline"),
    }
    with projects.client("fraud") as fraud, projects.client("owner") as owner:
        for path, (key, attribute, kind) in listings.items():
            found = [item[attribute] for item in fraud.get(path).json()[key]]
            assert found == [theirs[kind]], path
            assert projects.names[kind] not in fraud.get(path).text
            owned = [item[attribute] for item in owner.get(path).json()[key]]
            assert owned == [projects.names[kind]], path
            assert {i["project"] for i in owner.get(path).json()[key]} == {"default"}


# ---------------------------------------------------------------------------- defect 1


def test_patching_another_projects_step_outputs_fails_at_the_route(projects: Projects) -> None:
    """The exploit: list another project's runs, point one of its step's outputs at a
    pickle, and wait for that project's next run to load it from the step cache."""
    step_id = projects.nodes["step_run"].id
    run_id = projects.nodes["pipeline_run"].id
    before = projects.store.get_step_run(step_id)
    pickle = b"\x80\x04cposix\nsystem\n."  # what an attacker would upload
    digest = hashlib.sha256(pickle).hexdigest()
    evil = {"outputs": [{"digest": digest, "format": "pickle"}]}
    with projects.client("fraud") as fraud:
        assert fraud.put(f"/blobs/{digest}", content=pickle).status_code == 200
        assert run_id not in fraud.get("/pipeline-runs").text
        for answer in (
            fraud.get(f"/pipeline-runs/{run_id}"),
            fraud.get(f"/pipeline-runs/{run_id[:8]}"),
            fraud.get(f"/pipeline-runs/{run_id}/steps"),
            fraud.get(f"/step-runs/{step_id}"),
            fraud.patch(f"/step-runs/{step_id}", json=evil),
            fraud.patch("/step-runs", json={"updates": {step_id: evil}}),
            fraud.patch(f"/pipeline-runs/{run_id}", json={"status": "RUNNING"}),
            fraud.post(f"/pipeline-runs/{run_id}/steps", json={"steps": []}),
            fraud.get(f"/step-cache/{projects.names['cache_key']}"),  # 'default' by default
        ):
            assert answer.status_code == 403, answer.text
            assert step_id not in answer.text
        # fraud's own step run with the victim's cache key is never offered to 'default'
        planted = {
            "run": PipelineRun("", "p", "x:p", "FINISHED", {}, "", [], 1).to_dict(),
            "steps": [
                StepRun(
                    "",
                    "",
                    "a",
                    "x:a",
                    "FINISHED",
                    cache_key=projects.names["cache_key"],
                    end_time=10**13,
                    outputs=evil["outputs"],
                ).to_dict()
            ],
            "project": "fraud",
        }
        assert fraud.post("/pipeline-runs", json=planted).status_code == 200
    assert projects.store.get_step_run(step_id) == before
    hit = projects.store.find_cached_step_run(projects.names["cache_key"], project="default")
    assert hit is not None and hit.id == step_id and hit.outputs == before.outputs
    with projects.client("owner") as owner:
        cached = owner.get(f"/step-cache/{projects.names['cache_key']}").json()["step_run"]
        assert cached["id"] == step_id


# ---------------------------------------------------------------------------- schedules


def test_a_schedule_runs_only_the_pipeline_its_project_registered(projects: Projects) -> None:
    pipeline = projects.names["pipeline"]
    free_form = Schedule("nightly", pipeline, "os:system", "0 3 * * *").to_dict()
    _, theirs = _seed(projects.store, projects.tmp, "fraud")
    with projects.client("owner") as owner, projects.client("fraud") as fraud:
        stored = owner.post("/schedules", json=free_form)
        assert stored.status_code == 200 and stored.json()["ref"] == "pkg.mod:p"
        # a pipeline of another project cannot be scheduled here (nor by name squatting)
        foreign = owner.post("/schedules", json={**free_form, "pipeline": theirs["pipeline"]})
        assert foreign.status_code == 422 and foreign.json()["field"] == "pipeline"
        hijack = fraud.post("/schedules", json={**free_form, "project": "fraud"})
        assert hijack.status_code == 403  # 'nightly' is default's
    # a ref written into the database is never imported: the registered pipeline's is
    with projects.store.engine.begin() as conn:
        conn.execute(text("UPDATE schedules SET ref = 'evil.module:run', last_fire_at = 0"))
    # fraud queues a run for default's schedule in its own project: never launched
    projects.store.create_pipeline_run(
        PipelineRun(
            "",
            pipeline,
            "evil.module:run",
            "QUEUED",
            {},
            "",
            [],
            created_at=0,
            schedule="nightly",
            scheduled_for=0,
        ),
        project="fraud",
    )
    recorder = Recorder()
    scheduler = Scheduler(projects.store, clock=lambda: 10**13, launcher=recorder)
    scheduler.tick()
    launched = [r for r in recorder.launched if r.schedule == "nightly"]
    assert [(r.ref, r.project) for r in launched] == [("pkg.mod:p", "default")]


def test_a_schedule_whose_pipeline_left_its_project_starts_nothing(
    projects: Projects,
) -> None:
    schedule = projects.names["schedule"]
    with projects.store.engine.begin() as conn:
        conn.execute(text("UPDATE pipelines SET project = 'fraud'"))
        conn.execute(text("UPDATE schedules SET last_fire_at = 0"))
    recorder = Recorder()
    Scheduler(projects.store, clock=lambda: 10**13, launcher=recorder).tick()
    assert [r for r in recorder.launched if r.schedule == schedule] == []


# ---------------------------------------------------------------------------- every route

#: What a user of another project may get from a route:
REFUSED = "refused"  # 403 or 404: the route touches one record of 'default'
LISTED = "listed"  # 200: a listing of the projects the caller reads, without default's
OPEN = "open"  # not project data (health, metrics, the caller's own tokens, a blob upload)


@dataclass(frozen=True)
class Case:
    """One request of the matrix and what the other project's user may get from it."""

    expect: str
    url: str
    body: object = None
    content: bytes | None = None


def _routes(app: FastAPI) -> set[str]:
    """Every ``METHOD /path`` the app answers, from its routes (included routers too)."""
    found: set[str] = set()
    pending = list(app.routes)
    while pending:
        route = pending.pop()
        if isinstance(route, APIRoute):
            found.update(f"{method} {route.path}" for method in route.methods)
        elif hasattr(route, "original_router"):
            pending.extend(route.original_router.routes)
    return found


def _cases(world: Projects) -> dict[str, Case]:
    """A request per route, aimed at a record of project 'default'."""
    n, ids = world.names, {kind: node.id for kind, node in world.nodes.items()}
    exp, run, model, view = n["experiment"], ids["run"], n["model"], n["view"]
    prun, step, schedule, monitor = (
        ids["pipeline_run"],
        ids["step_run"],
        n["schedule"],
        n["monitor"],
    )
    dataset, deployed = n["dataset"], ids["deployment"]
    content_hash = world.store.get_dataset_version_by_id(ids["dataset_version"]).content_hash
    token = next(t.id for t in world.store.list_tokens("owner"))
    step_run = StepRun("", "", "b", "pkg.mod:b", "FINISHED", end_time=3).to_dict()
    models, datasets = f"/api/v1/models/{model}", f"/api/v1/datasets/{dataset}"
    default = {"project": "default"}
    edge = {"src": {"kind": "run", "id": run}, "dst": {"kind": "model_version",
            "id": ids["model_version"]}, "relation": "produced"}  # fmt: skip
    R, L, P = REFUSED, LISTED, OPEN
    # fmt: off
    return {
        "GET /healthz": Case(P, "/healthz"),
        "GET /readyz": Case(P, "/readyz"),
        "GET /metrics": Case(P, "/metrics"),
        "GET /api/v1/openapi.json": Case(P, "/api/v1/openapi.json"),
        "GET /api/v1/docs": Case(P, "/api/v1/docs"),
        "GET /api/v1/info": Case(P, "/api/v1/info"),
        "GET /api/v1/whoami": Case(P, "/api/v1/whoami"),
        # features
        "POST /api/v1/features/online": Case(R, "/api/v1/features/online",
            {"entity_rows": [{"id": 1}], "features": [f"{view}:f"], **default}),
        "PUT /api/v1/features/objects": Case(R, "/api/v1/features/objects", {"objects": [
            {"kind": "feature_view", "name": view, "spec": {}}], **default}),
        "GET /api/v1/features/objects": Case(L, "/api/v1/features/objects"),
        "GET /api/v1/features/objects/{kind}/{name}": Case(
            R, f"/api/v1/features/objects/feature_view/{view}"),
        "POST /api/v1/features/views/{view}/materializations": Case(
            R, f"/api/v1/features/views/{view}/materializations",
            {"start": 0, "end": 1, "rows": 1}),
        "GET /api/v1/features/views/{view}/materializations": Case(
            R, f"/api/v1/features/views/{view}/materializations"),
        "GET /api/v1/features/freshness": Case(L, "/api/v1/features/freshness"),
        # tracking
        "POST /api/v1/experiments": Case(R, "/api/v1/experiments", {"name": "new", **default}),
        "POST /api/v1/experiments/get-or-create": Case(
            R, "/api/v1/experiments/get-or-create", {"name": exp, **default}),
        "GET /api/v1/experiments": Case(L, "/api/v1/experiments"),
        "GET /api/v1/experiments/by-name": Case(R, f"/api/v1/experiments/by-name?name={exp}"),
        "GET /api/v1/experiments/{experiment_id}": Case(R, f"/api/v1/experiments/{exp_id(world)}"),
        "PATCH /api/v1/experiments/{experiment_id}": Case(
            R, f"/api/v1/experiments/{exp_id(world)}", {"name": "renamed"}),
        "DELETE /api/v1/experiments/{experiment_id}": Case(
            R, f"/api/v1/experiments/{exp_id(world)}"),
        "POST /api/v1/experiments/{experiment_id}/restore": Case(
            R, f"/api/v1/experiments/{exp_id(world)}/restore"),
        "POST /api/v1/runs": Case(
            R, "/api/v1/runs", {"experiment_id": exp_id(world), "name": "r2"}),
        "POST /api/v1/runs/delete": Case(R, "/api/v1/runs/delete", {"run_ids": [run]}),
        "POST /api/v1/runs/restore": Case(R, "/api/v1/runs/restore", {"run_ids": [run]}),
        "POST /api/v1/runs/search": Case(
            R, "/api/v1/runs/search", {"experiment_ids": [exp_id(world)]}),
        "GET /api/v1/runs/{run_id}": Case(R, f"/api/v1/runs/{run}"),
        "PATCH /api/v1/runs/{run_id}": Case(R, f"/api/v1/runs/{run}", {"status": "KILLED"}),
        "GET /api/v1/runs/{run_id}/children": Case(R, f"/api/v1/runs/{run}/children"),
        "POST /api/v1/runs/{run_id}/batch": Case(
            R, f"/api/v1/runs/{run}/batch", {"params": {"p": "1"}}),
        "DELETE /api/v1/runs/{run_id}/tags/{key}": Case(R, f"/api/v1/runs/{run}/tags/t"),
        "GET /api/v1/runs/{run_id}/metric-history": Case(
            R, f"/api/v1/runs/{run}/metric-history?key=m"),
        "PUT /api/v1/runs/{run_id}/artifacts/{path:path}": Case(
            R, f"/api/v1/runs/{run}/artifacts/b.txt", content=b"planted"),
        "GET /api/v1/runs/{run_id}/artifacts": Case(R, f"/api/v1/runs/{run}/artifacts"),
        "GET /api/v1/runs/{run_id}/artifacts/{path:path}": Case(
            R, f"/api/v1/runs/{run}/artifacts/a.txt"),
        # lineage and blobs
        "POST /api/v1/lineage/edges": Case(R, "/api/v1/lineage/edges", {"edges": [edge]}),
        "GET /api/v1/lineage": Case(R, f"/api/v1/lineage?kind=run&id={run}"),
        "PUT /api/v1/blobs/{digest}": Case(
            P, f"/api/v1/blobs/{hashlib.sha256(b'fresh').hexdigest()}", content=b"fresh"),
        "GET /api/v1/blobs/{digest}": Case(R, f"/api/v1/blobs/{n['artifact']}"),
        # access
        "POST /api/v1/users": Case(R, "/api/v1/users", {"name": "intruder"}),
        "GET /api/v1/users": Case(R, "/api/v1/users"),
        "PUT /api/v1/users/{name}/roles/{project}": Case(
            R, "/api/v1/users/fraud/roles/default", {"role": "admin"}),
        "POST /api/v1/tokens": Case(R, "/api/v1/tokens", {"user": "owner", "name": "stolen"}),
        "GET /api/v1/tokens": Case(R, "/api/v1/tokens?user=owner"),
        "DELETE /api/v1/tokens/{token_id}": Case(R, f"/api/v1/tokens/{token}"),
        "GET /api/v1/audit": Case(R, "/api/v1/audit?project=default"),
        # registry
        "POST /api/v1/models": Case(R, "/api/v1/models", {"name": "squat", **default}),
        "GET /api/v1/models": Case(L, "/api/v1/models"),
        "GET /api/v1/models/{name}": Case(R, models),
        "PATCH /api/v1/models/{name}": Case(R, models, {"description": "defaced"}),
        "DELETE /api/v1/models/{name}/tags/{key}": Case(R, f"{models}/tags/t"),
        "DELETE /api/v1/models/{name}": Case(R, models),
        "POST /api/v1/models/{name}/versions": Case(R, f"{models}/versions", {
            "files": [{"path": "m.txt", "digest": n["artifact"], "size": 1}],
            "flavor": "pyfunc", **default}),
        "GET /api/v1/models/{name}/versions": Case(R, f"{models}/versions"),
        "GET /api/v1/models/{name}/versions/{version}": Case(R, f"{models}/versions/1"),
        "GET /api/v1/model-versions/{version_id}": Case(
            R, f"/api/v1/model-versions/{ids['model_version']}"),
        "PATCH /api/v1/models/{name}/versions/{version}": Case(
            R, f"{models}/versions/1", {"description": "defaced"}),
        "DELETE /api/v1/models/{name}/versions/{version}/tags/{key}": Case(
            R, f"{models}/versions/1/tags/t"),
        "DELETE /api/v1/models/{name}/versions/{version}": Case(R, f"{models}/versions/1"),
        "GET /api/v1/models/{name}/aliases/{alias}": Case(R, f"{models}/aliases/champion"),
        "PUT /api/v1/models/{name}/aliases/{alias}": Case(
            R, f"{models}/aliases/champion", {"version": 1}),
        "DELETE /api/v1/models/{name}/aliases/{alias}": Case(R, f"{models}/aliases/champion"),
        "GET /api/v1/models/{name}/alias-events": Case(R, f"{models}/alias-events"),
        # data
        "GET /api/v1/datasets": Case(L, "/api/v1/datasets"),
        "GET /api/v1/datasets/{name}/versions": Case(R, f"{datasets}/versions"),
        "POST /api/v1/datasets/{name}/versions": Case(R, f"{datasets}/versions", {
            "digest": content_hash, "num_rows": 1, "schema": [], "profile": {}, **default}),
        "GET /api/v1/datasets/{name}/versions/latest": Case(R, f"{datasets}/versions/latest"),
        "GET /api/v1/datasets/{name}/versions/{version}": Case(R, f"{datasets}/versions/1"),
        "GET /api/v1/datasets/{name}/by-hash/{content_hash}": Case(
            R, f"{datasets}/by-hash/{content_hash}"),
        "GET /api/v1/dataset-versions/{version_id}": Case(
            R, f"/api/v1/dataset-versions/{ids['dataset_version']}"),
        # pipelines
        "PUT /api/v1/pipelines/{name}": Case(
            R, f"/api/v1/pipelines/{n['pipeline']}", {"ref": "os:system", **default}),
        "GET /api/v1/pipelines": Case(L, "/api/v1/pipelines"),
        "GET /api/v1/pipelines/{name}": Case(R, f"/api/v1/pipelines/{n['pipeline']}"),
        "POST /api/v1/pipeline-runs": Case(R, "/api/v1/pipeline-runs", {
            "run": PipelineRun("", n["pipeline"], "pkg.mod:p", "QUEUED", {}, "", [], 1).to_dict(),
            **default}),
        "GET /api/v1/pipeline-runs": Case(L, "/api/v1/pipeline-runs"),
        "GET /api/v1/pipeline-runs/{run_id}": Case(R, f"/api/v1/pipeline-runs/{prun}"),
        "PATCH /api/v1/pipeline-runs/{run_id}": Case(
            R, f"/api/v1/pipeline-runs/{prun}", {"status": "FAILED"}),
        "GET /api/v1/pipeline-runs/{run_id}/steps": Case(R, f"/api/v1/pipeline-runs/{prun}/steps"),
        "POST /api/v1/pipeline-runs/{run_id}/steps": Case(
            R, f"/api/v1/pipeline-runs/{prun}/steps", {"steps": [step_run]}),
        "PATCH /api/v1/step-runs": Case(
            R, "/api/v1/step-runs", {"updates": {step: {"status": "FAILED"}}}),
        "GET /api/v1/step-runs/{step_run_id}": Case(R, f"/api/v1/step-runs/{step}"),
        "PATCH /api/v1/step-runs/{step_run_id}": Case(
            R, f"/api/v1/step-runs/{step}", {"status": "FAILED"}),
        "GET /api/v1/step-cache/{cache_key}": Case(R, f"/api/v1/step-cache/{n['cache_key']}"),
        "POST /api/v1/schedules": Case(R, "/api/v1/schedules", {
            **Schedule(schedule, n["pipeline"], "pkg.mod:p", "* * * * *").to_dict(), **default}),
        "GET /api/v1/schedules": Case(L, "/api/v1/schedules"),
        "GET /api/v1/schedules/{name}": Case(R, f"/api/v1/schedules/{schedule}"),
        "DELETE /api/v1/schedules/{name}": Case(R, f"/api/v1/schedules/{schedule}"),
        "POST /api/v1/schedules/{name}/fired": Case(
            R, f"/api/v1/schedules/{schedule}/fired", {"last_fire_at": 1}),
        # monitoring
        "PUT /api/v1/monitors/{name}": Case(
            R, f"/api/v1/monitors/{monitor}", {"name": monitor, "model": f"{model}@champion",
                                               **default}),
        "GET /api/v1/monitors": Case(L, "/api/v1/monitors"),
        "GET /api/v1/monitors/{name}": Case(R, f"/api/v1/monitors/{monitor}"),
        "DELETE /api/v1/monitors/{name}": Case(R, f"/api/v1/monitors/{monitor}"),
        "POST /api/v1/monitors/{name}/runs": Case(R, f"/api/v1/monitors/{monitor}/runs", {
            **MonitorRun(uuid.uuid4().hex, monitor, 1, 2, 0, 1, 1, "ok").to_dict()}),
        "GET /api/v1/monitors/{name}/runs": Case(R, f"/api/v1/monitors/{monitor}/runs"),
        # deployments: another project's model server is neither read nor written
        "PUT /api/v1/deployments/{deployment_id}": Case(R, f"/api/v1/deployments/{deployed}", {
            "id": deployed, "model": model, "reference": f"{model}@champion", "version": 1}),
        "GET /api/v1/deployments": Case(L, "/api/v1/deployments"),
        "GET /api/v1/deployments/{deployment_id}": Case(R, f"/api/v1/deployments/{deployed}"),
        "GET /api/v1/deployments/{deployment_id}/events": Case(
            R, f"/api/v1/deployments/{deployed}/events"),
        "POST /api/v1/deployments/{deployment_id}/heartbeat": Case(
            R, f"/api/v1/deployments/{deployed}/heartbeat"),
        "POST /api/v1/deployments/{deployment_id}/stop": Case(
            R, f"/api/v1/deployments/{deployed}/stop"),
        # the scheduler's lease spans every project: only a maintainer of '*' takes it
        "POST /api/v1/leases/{name}": Case(
            R, "/api/v1/leases/scheduler", {"holder": "fraud-host", "ttl_seconds": 60}),
        "DELETE /api/v1/leases/{name}": Case(R, "/api/v1/leases/scheduler?holder=fraud-host"),
        # the web UI's reads
        "GET /api/v1/runs/{run_id}/metrics/{key}/history": Case(
            R, f"/api/v1/runs/{run}/metrics/m/history"),
        "GET /api/v1/experiments/{experiment_id}/columns": Case(
            R, f"/api/v1/experiments/{exp_id(world)}/columns"),
        "GET /api/v1/predictions/{prediction_id}": Case(
            R, f"/api/v1/predictions/{n['prediction']}"),
    }
    # fmt: on


def exp_id(world: Projects) -> str:
    """The id of default's experiment."""
    return world.store.get_run(world.nodes["run"].id).experiment_id


def _secrets(world: Projects) -> set[str]:
    """What default's records hold that another project's user must never see."""
    found = set(world.names.values()) | {node.id for node in world.nodes.values()}
    found.add(exp_id(world))
    found.add(world.names["model"].partition("-")[2])  # the tag in every record's name
    return {s for s in found if len(s) >= 8}  # not the alias event's number


def test_every_route_refuses_another_projects_user_and_never_answers_its_data(
    projects: Projects, live_server: LiveServer
) -> None:
    cases = _cases(projects)
    assert set(cases) == _routes(live_server.app)  # a new route needs its case here
    secrets = _secrets(projects)
    problems = []
    with projects.client("fraud") as fraud:
        for route, case in cases.items():
            method = route.split()[0]
            url = projects.url + case.url
            answer = fraud.request(method, url, json=case.body, content=case.content)
            sent = case.url + repr(case.body)
            leaked = sorted(s for s in secrets if s not in sent and s in answer.text)
            if case.expect == REFUSED:
                ok = answer.status_code in (403, 404)
            else:
                ok = answer.status_code < 400
            if not ok or leaked:
                problems.append(f"{route}: {answer.status_code} {answer.text[:200]} {leaked}")
    assert not problems, "\n".join(problems)
    # nothing of default's changed: its owner still reads every record
    with projects.client("owner") as owner:
        for path in (f"/models/{projects.names['model']}/aliases/champion",
                     f"/step-runs/{projects.nodes['step_run'].id}",
                     f"/schedules/{projects.names['schedule']}"):  # fmt: skip
            assert owner.get(path).status_code == 200, path


def test_every_lineage_node_kind_has_a_case() -> None:
    """'deployment' nodes belong to no project (the next test); every other kind is one of
    the matrix above, so a new kind without a case fails here."""
    assert {*LINEAGE_KINDS, "deployment"} == set(LINEAGE_NODE_KINDS)


def test_a_deployment_node_shows_another_projects_user_nothing_of_its_project(
    projects: Projects,
) -> None:
    deployment = LineageNode("deployment", "prod")
    projects.store.add_lineage_edges(
        [LineageEdge(projects.nodes["model_version"], deployment, "consumed")]
    )
    query = {"kind": "deployment", "id": "prod"}
    secrets = _secrets(projects)
    with projects.client("fraud") as fraud, projects.client("root") as root:
        for direction in ("up", "down"):
            seen = fraud.get("/lineage", params={**query, "direction": direction})
            assert seen.status_code in (200, 403, 404)
            assert not [s for s in secrets if s in seen.text], seen.text
        everything = root.get("/lineage", params={**query, "direction": "up"})
        assert projects.nodes["model_version"].id in everything.text
