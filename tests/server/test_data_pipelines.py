"""Datasets, pipelines and schedules through the server: bad input answered with the right
status and field (and nothing stored), a digest the server does not hold, the roles they
need on their project, and a pipeline whose steps run in worker processes that
report to an authenticated server with the caller's token."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pandas as pd
import pytest

from shipyard import data
from shipyard.client import LocalStore, RestStore
from shipyard.config import Settings, load_settings
from shipyard.entities import PipelineRun, Schedule, StepRun
from shipyard.errors import InvalidArgument, NotFound, PermissionDenied
from shipyard.tracking import _fluent
from tests.pipelines import steps
from tests.support.server import LiveServer

API = "/api/v1"


@pytest.fixture
def served(live_server: LiveServer, sqlite_settings: Settings) -> LocalStore:
    """The live server answering from a fresh SQLite store, without authentication."""
    store = LocalStore(sqlite_settings)
    live_server.serve(store)
    return store


def _version_body(digest: str) -> dict[str, object]:
    return {"digest": digest, "num_rows": 1, "schema": [], "profile": {}}


def test_unknown_datasets_and_digests_are_clear_errors(
    live_server: LiveServer, served: LocalStore, tmp_path: Path
) -> None:
    with httpx.Client(base_url=live_server.url + API) as client:
        missing = client.get("/datasets/nope/versions/latest")
        assert missing.status_code == 404 and missing.json()["field"] == "dataset"
        assert client.get("/datasets/nope/versions").status_code == 404
        assert client.get("/dataset-versions/" + "0" * 32).status_code == 404
        assert client.get("/datasets/nope/by-hash/" + "0" * 64).json() == {"version": None}
        # metadata naming a blob the server does not hold: 404 naming the digest
        unknown = client.post("/datasets/d/versions", json=_version_body("1" * 64))
        assert unknown.status_code == 404 and unknown.json()["field"] == "digest"
        assert "upload the Parquet file first" in unknown.json()["message"]
        # not a digest at all: 422 naming it
        bad = client.post("/datasets/d/versions", json=_version_body("../../etc/passwd"))
        assert bad.status_code == 422 and bad.json()["field"] == "digest"
        # a bad dataset name: 422 naming the dataset
        blob = tmp_path / "x.bin"
        blob.write_bytes(b"parquet bytes")
        digest = served.put_blob(blob)
        named = client.post("/datasets/bad%20name/versions", json=_version_body(digest))
        assert named.status_code == 422 and named.json()["field"] == "dataset"
        negative = client.post(
            "/datasets/d/versions", json={**_version_body(digest), "num_rows": -1}
        )
        assert negative.status_code == 422 and negative.json()["field"] == "num_rows"
    assert served.list_datasets() == []  # nothing was created


def test_the_server_takes_a_version_size_from_its_blob_store(
    live_server: LiveServer, served: LocalStore, tmp_path: Path
) -> None:
    rest = RestStore(live_server.client_settings(served.settings))
    frame = pd.DataFrame({"x": [1, 2, 3]})
    version = data.register("sales", frame, store=rest)
    assert version.size == served.blobs.size(version.content_hash)
    assert served.get_dataset_version("sales") == version
    assert rest.find_dataset_version("sales", version.content_hash) == version
    pd.testing.assert_frame_equal(data.load("sales@1", store=rest), frame, check_dtype=False)
    with pytest.raises(NotFound, match="has no version 0"):
        rest.get_dataset_version("sales", 0)


def test_bad_schedules_are_refused_naming_the_field(
    live_server: LiveServer, served: LocalStore
) -> None:
    good = Schedule("nightly", "train", "pkg.mod:train", "0 3 * * *").to_dict()
    served.register_pipeline("train", "pkg.mod:train")
    with httpx.Client(base_url=live_server.url + API) as client:
        for field, value in (
            ("cron", "61 * * * *"),
            ("cron", "every day"),
            ("timezone", "Mars/Olympus"),
            ("missed", "sometimes"),
            ("overlap", "both"),
        ):
            answer = client.post("/schedules", json={**good, field: value})
            assert answer.status_code == 422, (field, value, answer.text)
            assert answer.json()["field"] == field
        assert client.get("/schedules/nightly").status_code == 404
        fired = client.post("/schedules/ghost/fired", json={"last_fire_at": 5})
        assert fired.status_code == 404 and fired.json()["field"] == "schedule"
        assert client.post("/schedules", json=good).status_code == 200
    assert [s.name for s in served.list_schedules()] == ["nightly"]
    rest = RestStore(live_server.client_settings(served.settings))
    with pytest.raises(InvalidArgument, match="not a valid cron expression"):
        rest.put_schedule(Schedule("nightly", "train", "pkg.mod:train", "0 3 * *"))
    assert served.get_schedule("nightly").cron == "0 3 * * *"  # unchanged


def test_bad_pipeline_records_are_refused(live_server: LiveServer, served: LocalStore) -> None:
    with httpx.Client(base_url=live_server.url + API) as client:
        unknown = client.patch("/step-runs/" + "0" * 32, json={"status": "FAILED"})
        assert unknown.status_code == 404 and unknown.json()["field"] == "step_run_id"
        field = client.patch("/pipeline-runs/" + "0" * 32, json={"pipeline": "x"})
        assert field.status_code == 422 and field.json()["field"] == "pipeline"
        status = client.post(
            "/pipeline-runs",
            json={
                "run": {
                    "id": "",
                    "pipeline": "p",
                    "ref": "m:p",
                    "status": "DONE",
                    "params": {},
                    "executor": "inline",
                    "dag": [],
                    "created_at": 1,
                },
            },
        )
        assert status.status_code == 422 and status.json()["field"] == "run.status"
        huge = client.post(
            "/pipeline-runs",
            json={
                "run": {
                    "id": "",
                    "pipeline": "p",
                    "ref": "m:p",
                    "status": "RUNNING",
                    "params": {"n": [1, {"deep": 2**70}]},
                    "executor": "inline",
                    "dag": [],
                    "created_at": 1,
                },
            },
        )
        assert huge.status_code == 422 and huge.json()["field"].startswith("run.params")
        assert "64-bit" in huge.text
        assert client.get("/pipeline-runs").status_code == 200
        assert client.get("/step-cache/" + "k" * 64).json() == {"step_run": None}
    assert served.list_pipeline_runs() == []
    run, (step,) = served.create_pipeline_run(
        PipelineRun("", "p", "m:p", "RUNNING", {}, "inline", [], 1),
        [StepRun("", "", "a", "m:a", "PENDING")],
    )
    with httpx.Client(base_url=live_server.url + API) as client:
        for path in (f"/step-runs/{step}", f"/pipeline-runs/{run.id}"):
            null = client.patch(path, json={"status": None})
            assert null.status_code == 422 and null.json()["field"] == "status"
        batch = client.patch("/step-runs", json={"updates": {step: {"logs": None}}})
        assert batch.status_code == 422 and batch.json()["field"] == "logs"
        again = client.post("/pipeline-runs", json={"run": run.to_dict()})
        assert again.status_code == 409 and again.json()["field"] == "id"
        cleared = client.patch(f"/step-runs/{step}", json={"start_time": None, "logs": "x"})
        assert cleared.status_code == 204
    assert served.get_step_run(step).status == "PENDING"
    assert served.get_step_run(step).logs == "x"


def test_schedules_and_datasets_need_a_role_on_their_project(
    live_server: LiveServer, sqlite_settings: Settings
) -> None:
    store = LocalStore(sqlite_settings)
    live_server.serve(store, auth=True)
    tokens = {}
    for name, role in (("reader", "viewer"), ("writer", "editor"), ("keeper", "maintainer")):
        store.create_user(name)
        store.set_role(name, "elsewhere", role)
        tokens[name] = store.create_token(name).token
    store.create_user("nobody")
    tokens["nobody"] = store.create_token("nobody").token

    def rest(user: str) -> RestStore:
        return RestStore(
            load_settings(
                home=sqlite_settings.home, tracking_uri=live_server.url, token=tokens[user]
            )
        )

    store.register_pipeline("train", "pkg.mod:train", project="elsewhere")
    schedule = Schedule("nightly", "train", "pkg.mod:train", "0 3 * * *")
    with pytest.raises(PermissionDenied, match="editor role on project 'elsewhere'"):
        rest("reader").put_schedule(schedule, "elsewhere")
    with pytest.raises(PermissionDenied, match="editor role on project 'default'"):
        rest("writer").put_schedule(schedule)  # where the writer has no role
    rest("writer").put_schedule(schedule, "elsewhere")
    assert [s.name for s in rest("reader").list_schedules()] == ["nightly"]
    assert rest("nobody").list_schedules() == [] and rest("nobody").list_datasets() == []
    with pytest.raises(PermissionDenied, match="viewer role on project 'elsewhere'"):
        rest("nobody").get_schedule("nightly")
    with pytest.raises(PermissionDenied, match="maintainer role on project 'elsewhere'"):
        rest("writer").delete_schedule("nightly")
    rest("keeper").delete_schedule("nightly")
    assert store.list_schedules() == []


@pytest.mark.slow
def test_process_workers_report_to_the_server_with_the_callers_token(
    live_server: LiveServer, sqlite_settings: Settings, tmp_path: Path
) -> None:
    store = LocalStore(sqlite_settings)
    live_server.serve(store, auth=True)
    store.create_user("ci")
    store.set_role("ci", "default", "editor")
    token = store.create_token("ci").token
    client = _fluent.configure(
        load_settings(home=tmp_path / "client-home", tracking_uri=live_server.url, token=token)
    )
    try:
        result = steps.chain.run(n=3, executor="process")
        assert result.ok and result.output("total") == 6
    finally:
        client.close()
        _fluent._default = None
    stored = {s.name: s for s in store.list_step_runs(result.id)}
    assert all(s.status == "FINISHED" for s in stored.values())
    digest = stored["source"].outputs[0]["hash"]
    assert store.get_dataset_version("chain.source").content_hash == digest
    assert hashlib.sha256(store.blobs.get_bytes(digest)).hexdigest() == digest
