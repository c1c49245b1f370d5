"""The server's HTTP surface as clients meet it: error bodies, the API document, health and
metrics, streamed and size-limited uploads, hash-checked downloads, path attacks, and the
REST client's own behaviour (one request per batch, unreachable servers, credentials)."""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import math
import os
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from shipyard import entities
from shipyard.client import LocalStore, RestStore
from shipyard.config import Settings, load_settings
from shipyard.entities import MetricPoint
from shipyard.errors import (
    ConfigError,
    FilterSyntaxError,
    IntegrityError,
    InvalidArgument,
    NotFound,
    ServiceUnavailable,
    TooLarge,
)
from shipyard.server._schemas import wire_model
from tests.support.server import LiveServer


@pytest.fixture
def served(live_server: LiveServer, sqlite_settings: Settings) -> LocalStore:
    """The live server answering from a fresh SQLite store (returned, for direct checks)."""
    store = LocalStore(sqlite_settings)
    live_server.serve(store, max_upload_bytes=4096)
    return store


@pytest.fixture
def api(live_server: LiveServer, served: LocalStore) -> httpx.Client:
    with httpx.Client(base_url=live_server.url + "/api/v1") as client:
        yield client


@pytest.fixture
def rest(live_server: LiveServer, served: LocalStore) -> RestStore:
    store = RestStore(live_server.client_settings(served.settings))
    yield store
    store.close()


def _run(store: LocalStore) -> str:
    exp = store.get_or_create_experiment("e")
    return store.create_run(exp.id, "r").id


def raw(live_server: LiveServer, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send a request line exactly as given (httpx would normalise '..' away)."""
    parts = urlsplit(live_server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, path, body=body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# ---------------------------------------------------------------------------- errors


def test_malformed_json_names_the_body_and_the_character(api: httpx.Client) -> None:
    broken = api.post(
        "/experiments", content=b'{"name": }', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422
    body = broken.json()
    assert body["field"] == "body" and body["code"] == "invalid_argument"
    assert "not valid JSON at character 9" in body["message"]


def test_a_missing_blob_is_a_404_that_reveals_no_server_path(
    api: httpx.Client, served: LocalStore
) -> None:
    missing = api.get(f"/blobs/{'0' * 64}")
    assert missing.status_code == 404 and missing.json()["field"] == "digest"
    text = missing.text
    assert str(served.settings.home) not in text and served.settings.artifacts_uri not in text
    assert "/" not in missing.json()["message"]


def test_errors_come_back_as_status_and_a_body_naming_the_field(
    api: httpx.Client, served: LocalStore
) -> None:
    missing = api.get(f"/runs/{'0' * 32}")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found" and missing.json()["field"] == "run_id"

    api.post("/experiments", json={"name": "churn"}).raise_for_status()
    taken = api.post("/experiments", json={"name": "churn"})
    assert taken.status_code == 409 and taken.json()["field"] == "name"

    no_name = api.post("/experiments", json={"description": "x"})
    assert no_name.status_code == 422
    assert no_name.json()["field"] == "name" and no_name.json()["code"] == "invalid_argument"

    run_id = _run(served)
    bad_value = api.post(
        f"/runs/{run_id}/batch",
        json={"metrics": [{"key": "m", "value": "high", "step": 0, "timestamp": 1}]},
    )
    assert bad_value.status_code == 422
    assert bad_value.json()["field"].startswith("metrics.0.value")

    huge = api.post("/runs", json={"experiment_id": "x", "name": "r", "start_time": 2**70})
    assert huge.status_code == 422 and huge.json()["field"] == "start_time"

    not_json = api.post(
        "/experiments", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422

    nul = api.post("/experiments", json={"name": "a\x00b"})
    assert nul.status_code == 422 and nul.json()["field"] == "name"

    nowhere = api.get("/no/such/route")
    assert nowhere.status_code == 404 and nowhere.json()["code"] == "not_found"
    assert api.put("/experiments").status_code == 405
    assert served.list_experiments()[0].name == "churn"  # nothing else was created


def test_a_monitor_run_body_is_checked_against_the_record(
    api: httpx.Client, served: LocalStore, rest: RestStore
) -> None:
    """The body of a recorded monitor run is the MonitorRun record's JSON form: its fields
    and types come from the record, so a wrong one is a 422 naming it and nothing is kept."""
    served.put_monitor(entities.Monitor("watch", "churn@champion"))
    run = entities.MonitorRun("r1", "watch", 1, 2, 0, 1, 3, "ok", {"metrics": {"auc": 0.9}})
    for field, value in (("status", "fine"), ("window_end", 2**70), ("colour", "red")):
        refused = api.post("/monitors/watch/runs", json={**run.to_dict(), field: value})
        assert refused.status_code == 422, field
        assert refused.json()["field"] == field
    assert served.list_monitor_runs("watch", 10) == []
    assert rest.add_monitor_run(run).to_dict() == run.to_dict()
    assert served.list_monitor_runs("watch", 10) == [run]


def test_rest_client_raises_the_exception_the_server_raised(rest: RestStore) -> None:
    exp = rest.create_experiment("e")
    with pytest.raises(FilterSyntaxError) as info:
        rest.search_runs([exp.id], "metrics.auc >> 1")
    assert info.value.position > 0 and info.value.field == "filter"
    run_id = rest.create_run(exp.id, "r").id
    rest.log_batch(run_id, params={"lr": "0.1"})
    with pytest.raises(InvalidArgument) as changed:
        rest.log_batch(run_id, params={"lr": "0.2"})
    assert changed.value.field == "lr" and changed.value.details["old_value"] == "0.1"


# ---------------------------------------------------------------------------- the API document


def test_openapi_documents_every_route_with_entity_schemas(live_server: LiveServer) -> None:
    spec = httpx.get(live_server.url + "/api/v1/openapi.json").json()
    documented = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    served_routes = {
        (method, route.path)
        for route in live_server.app.routes
        for method in getattr(route, "methods", ()) or ()
        if route.path.startswith("/api/v1/") and method != "HEAD"
    }
    assert (
        served_routes - {("GET", "/api/v1/openapi.json"), ("GET", "/api/v1/docs")}
        <= {(m, p.replace("{path}", "{path:path}")) for m, p in documented} | documented
    )
    schemas = spec["components"]["schemas"]
    for cls in (entities.Experiment, entities.Run, entities.MetricPoint, entities.User):
        fields = {f.name for f in dataclasses.fields(cls)}
        assert set(schemas[cls.__name__]["properties"]) == fields, cls
    assert schemas["ErrorBody"]["required"] == ["code", "message"]


def test_wire_models_accept_what_every_entity_sends() -> None:
    run = entities.Run(
        "r",
        "e",
        "n",
        "RUNNING",
        1,
        None,
        None,
        "u",
        "active",
        {"p": "1"},
        {},
        {"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "x": 0.5},
    )
    samples = [
        run,
        entities.RunPage([run], "tok"),
        entities.Experiment("e", "n", "", "active", 1, 2, {"t": "v"}, "proj"),
        entities.MetricPoint("m", math.nan, 3, 4),
        entities.LineageEdge(
            entities.LineageNode("run", "r"), entities.LineageNode("x", "y"), "produced"
        ),
        entities.NewToken("shy_x", entities.TokenInfo("id", "u", "n", 1)),
        entities.AuditEntry(1, 2, "u", "POST", "/r", "/p", 200),
    ]
    for sample in samples:
        data = sample.to_dict()  # type: ignore[attr-defined]
        model = wire_model(type(sample)).model_validate(data)
        assert type(sample).from_dict(model.model_dump()).to_dict() == data  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- service endpoints


def test_health_readiness_and_metrics_by_route_template(
    live_server: LiveServer, api: httpx.Client, served: LocalStore
) -> None:
    assert httpx.get(live_server.url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(live_server.url + "/readyz").status_code == 200
    run_id = _run(served)
    for _ in range(3):
        api.get(f"/runs/{run_id}").raise_for_status()
    api.get(f"/runs/{'f' * 32}")
    text = httpx.get(live_server.url + "/metrics").text
    assert 'route="/api/v1/runs/{run_id}"' in text
    assert run_id not in text and "f" * 32 not in text
    assert 'status="404"' in text
    assert "shipyard_http_request_duration_seconds_bucket" in text
    info = api.get("/info").json()
    assert info == {"version": info["version"], "auth": False, "max_upload_bytes": 4096}


def test_readiness_fails_when_the_database_is_unreachable(
    live_server: LiveServer, tmp_path: Path
) -> None:
    down = load_settings(home=tmp_path, db_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    live_server.serve(LocalStore(down))
    ready = httpx.get(live_server.url + "/readyz")
    assert ready.status_code == 503 and ready.json()["code"] == "unavailable"
    assert httpx.get(live_server.url + "/healthz").status_code == 200


# ---------------------------------------------------------------------------- artifacts


def test_uploads_over_the_limit_are_refused_and_store_nothing(
    live_server: LiveServer, api: httpx.Client, rest: RestStore, served: LocalStore, tmp_path: Path
) -> None:
    run_id = _run(served)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(5000))
    with pytest.raises(TooLarge, match="larger than the server accepts"):
        rest.log_artifact(run_id, big, "big.bin")  # the client checks first
    declared = api.put(f"/runs/{run_id}/artifacts/big.bin", content=big.read_bytes())
    assert declared.status_code == 413 and declared.json()["code"] == "too_large"

    def chunked():  # no Content-Length: the server counts as it streams
        yield big.read_bytes()[:3000]
        yield big.read_bytes()[3000:]

    streamed = api.put(f"/runs/{run_id}/artifacts/big.bin", content=chunked())
    assert streamed.status_code == 413
    assert served.list_artifacts(run_id) == []
    small = tmp_path / "small.bin"
    small.write_bytes(b"x" * 4096)  # exactly the limit is fine
    assert [a.size for a in rest.log_artifact(run_id, small, "small.bin")] == [4096]


def test_a_json_body_over_the_limit_is_refused(api: httpx.Client, served: LocalStore) -> None:
    from shipyard.server._http import JSON_BODY_LIMIT

    run_id = _run(served)
    huge = b'{"params": {"p": "' + b"x" * JSON_BODY_LIMIT + b'"}}'
    answer = api.post(f"/runs/{run_id}/batch", content=huge)
    assert answer.status_code == 413 and answer.json()["code"] == "too_large"
    assert served.get_run(run_id).params == {}


def test_an_upload_that_does_not_match_its_digest_is_refused(
    api: httpx.Client, served: LocalStore
) -> None:
    run_id = _run(served)
    answer = api.put(
        f"/runs/{run_id}/artifacts/a.txt",
        content=b"hello",
        headers={"X-Shipyard-Sha256": "0" * 64},
    )
    assert answer.status_code == 422 and answer.json()["field"] == "X-Shipyard-Sha256"
    assert served.list_artifacts(run_id) == []


@pytest.mark.parametrize(
    "path",
    [
        "../escape.txt",
        "%2e%2e/escape.txt",
        "a/%2E%2E/%2e%2e/escape.txt",
        "%2Fetc%2Fpasswd",
        "/etc/passwd",
        "a%5Cb",
        "C:/windows",
        "a//b",
        "./a",
    ],
)
def test_the_server_refuses_artifact_paths_that_escape(
    live_server: LiveServer, served: LocalStore, path: str
) -> None:
    run_id = _run(served)
    prefix = f"/api/v1/runs/{run_id}/artifacts/"
    put_status, _ = raw(live_server, "PUT", prefix + path, b"x")
    get_status, _ = raw(live_server, "GET", prefix + path)
    assert put_status in (404, 422), put_status  # 404: the router matched no route at all
    assert get_status in (404, 422), get_status
    assert served.list_artifacts(run_id) == []


def test_a_corrupted_blob_is_caught_on_download(
    rest: RestStore, served: LocalStore, tmp_path: Path
) -> None:
    run_id = _run(served)
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights" * 500)
    (info,) = rest.log_artifact(run_id, source, "model.bin")
    blob = Path(served.blobs._path(info.digest))
    blob.write_bytes(b"x" * 3500)  # same size, other content
    with pytest.raises(IntegrityError):
        rest.download_artifact(run_id, "model.bin", tmp_path / "out.bin")
    assert not (tmp_path / "out.bin").exists()


# ---------------------------------------------------------------------------- the REST client


def test_a_metric_batch_is_one_request(rest: RestStore, served: LocalStore) -> None:
    run_id = _run(served)
    requests: list[str] = []
    rest.http.on_request.append(lambda r: requests.append(r.method))
    points = [MetricPoint("loss", i / 10, i, 1) for i in range(5000)]
    rest.log_batch(run_id, points, params={"a": "1"}, tags={"t": "x"})
    assert requests == ["POST"]
    assert len(served.get_metric_history(run_id, "loss")) == 5000


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = load_settings(home=tmp_path, tracking_uri=f"http://127.0.0.1:{port}", http_retries=1)
    with pytest.raises(ServiceUnavailable, match="cannot reach the Shipyard server"):
        RestStore(settings).list_experiments()


def test_the_environment_proxy_is_used_unless_no_proxy_lists_the_server(
    live_server: LiveServer, served: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As with any HTTP client, HTTP_PROXY carries the calls, except to hosts NO_PROXY lists."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there: a proxy that is down
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    settings = live_server.client_settings(served.settings, http_retries=0)
    with pytest.raises(ServiceUnavailable, match="cannot reach the Shipyard server"):
        RestStore(settings).list_experiments()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    direct = RestStore(settings)
    assert direct.list_experiments() == []
    direct.close()


def test_token_comes_from_env_then_the_credentials_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipyard.client._credentials import find_token, save_token

    monkeypatch.setenv("HOME", str(tmp_path))
    url = "http://shipyard.example:8080"
    settings = load_settings(home=tmp_path / ".shipyard", tracking_uri=url)
    assert find_token(settings) == ""
    path = save_token(settings, "shy_server")
    assert path == tmp_path / ".shipyard" / "credentials"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    save_token(load_settings(home=tmp_path / ".shipyard"), "shy_default")
    assert find_token(settings) == "shy_server"  # the server's own entry wins
    other = load_settings(home=tmp_path / ".shipyard", tracking_uri="http://other:1")
    assert find_token(other) == "shy_default"
    monkeypatch.setenv("SHIPYARD_TOKEN", "shy_env")
    assert find_token(load_settings(tracking_uri=url)) == "shy_env"
    assert "shy_env" not in repr(load_settings(tracking_uri=url))  # never in logs
    monkeypatch.delenv("SHIPYARD_TOKEN")
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        find_token(settings)


# ---------------------------------------------------------------------------- blobs


def test_blobs_round_trip_verified_and_bad_uploads_store_nothing(
    live_server: LiveServer, served: LocalStore, rest: RestStore, tmp_path: Path
) -> None:
    source = tmp_path / "weights.bin"
    source.write_bytes(bytes(range(256)) * 12)  # 3 KiB, under the 4 KiB limit
    digest = rest.put_blob(source)
    assert digest == hashlib.sha256(source.read_bytes()).hexdigest()
    assert served.blobs.exists(digest)
    assert rest.download_blob(digest, tmp_path / "out.bin").read_bytes() == source.read_bytes()
    assert rest.fetch_blob(digest).read_bytes() == source.read_bytes()

    # a body that does not hash to the digest in the URL is refused, and nothing is stored
    other = hashlib.sha256(b"something else").hexdigest()
    answer = httpx.put(f"{live_server.url}/api/v1/blobs/{other}", content=b"tampered")
    assert answer.status_code == 422 and answer.json()["field"] == "X-Shipyard-Sha256"
    assert not served.blobs.exists(other)
    # too large: refused before sending, and by the server when sent anyway
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 5000)
    with pytest.raises(TooLarge):
        rest.put_blob(big)
    big_digest = hashlib.sha256(big.read_bytes()).hexdigest()
    answer = httpx.put(f"{live_server.url}/api/v1/blobs/{big_digest}", content=big.read_bytes())
    assert answer.status_code == 413 and not served.blobs.exists(big_digest)
    # a malformed digest is a 422 naming the field; an unknown one a 404 leaving no file
    answer = httpx.get(f"{live_server.url}/api/v1/blobs/not-a-digest")
    assert answer.status_code == 422 and answer.json()["field"] == "digest"
    with pytest.raises(NotFound):
        rest.download_blob("0" * 64, tmp_path / "missing.bin")
    assert not (tmp_path / "missing.bin").exists()
