"""Reading a live MLflow tracking server through its REST API, with httpx, without MLflow.

Experiments (``experiments/search``, every view), runs (``runs/search``, paged), metric
histories (``metrics/get-history``, paged), logged models (``logged-models/search``),
registered models (``registered-models/search``), their versions (``model-versions/search``)
and aliases. Artifacts come through the server's artifact proxy (``mlflow-artifacts/...``)
when the run's artifact URI is an ``mlflow-artifacts:`` one (``mlflow server``'s default),
else through ``artifacts/list`` and ``get-artifact``; each file is downloaded into a
temporary file that is removed once the importer has stored it.

``MLFLOW_TRACKING_TOKEN`` is sent as a bearer token when it is set (or
``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD`` as basic auth).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import httpx

from shipyard import _validation as v
from shipyard.errors import InvalidArgument, NotFound, PermissionDenied, ServiceUnavailable
from shipyard.importers._mlflow_records import (
    MetricRow,
    MlflowExperiment,
    MlflowLoggedModel,
    MlflowModel,
    MlflowRun,
    MlflowVersion,
    run_status,
)

API = "/api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"
_PAGE = 1000
_HISTORY_PAGE = 25_000
_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


def _pairs(items: Any) -> dict[str, str]:
    if not isinstance(items, list):
        return {}
    return {str(i["key"]): str(i.get("value", "")) for i in items if isinstance(i, dict)}


def _number(value: Any) -> float:
    """A double as protobuf-JSON sends it (NaN and infinities as strings)."""
    return float(value) if value is not None else math.nan


class HttpSource:
    """A live MLflow tracking server (``http(s)://host:port``), read-only."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.label = self.url
        headers = {}
        token = os.environ.get("MLFLOW_TRACKING_TOKEN")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        user, password = (
            os.environ.get("MLFLOW_TRACKING_USERNAME"),
            os.environ.get("MLFLOW_TRACKING_PASSWORD"),
        )
        auth = httpx.BasicAuth(user, password) if user and password and not token else None
        self.http = httpx.Client(base_url=self.url, headers=headers, auth=auth, timeout=_TIMEOUT)
        self._tmp = tempfile.TemporaryDirectory(prefix="shipyard-mlflow-")
        self._metric_keys: dict[str, list[str]] = {}  # run id -> its metrics' keys
        try:
            self._experiments = self._search_experiments()  # also checks it is MLflow
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self.http.close()
        self._tmp.cleanup()

    # ------------------------------------------------------------------ HTTP

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"cannot reach the MLflow tracking server at {self.url}: {exc}", field="from"
            ) from None
        if response.status_code in (401, 403):
            raise PermissionDenied(
                f"the MLflow tracking server at {self.url} refused {path} "
                f"({response.status_code}); set MLFLOW_TRACKING_TOKEN (or "
                "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)",
                field="from",
            )
        if response.status_code != 200:
            raise InvalidArgument(
                f"{self.url} is not an MLflow tracking server that answers {path}: "
                f"HTTP {response.status_code} {response.text[:200]!r}",
                field="from",
            )
        try:
            return response.json()
        except ValueError:
            raise InvalidArgument(
                f"{self.url} is not an MLflow tracking server: {path} did not answer JSON",
                field="from",
            ) from None

    def _pages(self, method: str, path: str, field: str, query: dict[str, Any]) -> list[Any]:
        """Every item of a paged MLflow listing (``next_page_token``)."""
        found: list[Any] = []
        token = None
        while True:
            args = {**query, **({"page_token": token} if token else {})}
            body = (
                self._call(method, path, json=args)
                if method == "POST"
                else self._call(method, path, params=args)
            )
            if not isinstance(body, dict):
                raise InvalidArgument(f"{self.url}{path} did not answer an object", field="from")
            found += body.get(field) or []
            token = body.get("next_page_token")
            if not token:
                return found

    # ------------------------------------------------------------------ records

    def _search_experiments(self) -> list[MlflowExperiment]:
        raw = self._pages(
            "POST",
            f"{API}/experiments/search",
            "experiments",
            {"max_results": _PAGE, "view_type": "ALL"},
        )
        return [
            MlflowExperiment(
                str(e["experiment_id"]),
                str(e["name"]),
                e.get("lifecycle_stage") == "deleted",
                _pairs(e.get("tags")),
            )
            for e in raw
        ]

    def experiments(self) -> list[MlflowExperiment]:
        return list(self._experiments)

    def _experiment_ids(self) -> list[str]:
        return [e.id for e in self._experiments]

    def runs(self) -> list[MlflowRun]:
        found = []
        ids = self._experiment_ids()
        for start in range(0, len(ids), 100):  # MLflow takes at most 100 experiments a call
            raw = self._pages(
                "POST",
                f"{API}/runs/search",
                "runs",
                {
                    "experiment_ids": ids[start : start + 100],
                    "run_view_type": "ALL",
                    "max_results": _PAGE,
                },
            )
            found += [self._run(r) for r in raw]
        found.sort(key=lambda r: (r.start_time, r.id))
        return found

    def _run(self, raw: dict[str, Any]) -> MlflowRun:
        info, data = raw.get("info") or {}, raw.get("data") or {}
        run_id = str(info.get("run_id") or info.get("run_uuid"))
        self._metric_keys[run_id] = [
            str(m["key"]) for m in data.get("metrics") or [] if isinstance(m, dict)
        ]
        status = info.get("status", "FINISHED")
        end = info.get("end_time")
        return MlflowRun(
            id=run_id,
            experiment_id=str(info.get("experiment_id")),
            name=str(info.get("run_name") or ""),
            status=run_status(status),
            start_time=int(info.get("start_time") or 0),
            end_time=None if end is None else int(end),
            user=str(info.get("user_id") or ""),
            deleted=info.get("lifecycle_stage") == "deleted",
            artifact_uri=str(info.get("artifact_uri") or ""),
            params=_pairs(data.get("params")),
            tags=_pairs(data.get("tags")),
        )

    def metrics(self, run_id: str) -> list[MetricRow]:
        rows = []
        for key in sorted(self._metric_keys.get(run_id, [])):
            raw = self._pages(
                "GET",
                f"{API}/metrics/get-history",
                "metrics",
                {"run_id": run_id, "metric_key": key, "max_results": _HISTORY_PAGE},
            )
            rows += [
                MetricRow(
                    key,
                    _number(m.get("value")),
                    int(m.get("timestamp") or 0),
                    int(m.get("step") or 0),
                )
                for m in raw
            ]
        rows.sort(key=lambda r: (r.key, r.step, r.timestamp))
        return rows

    def logged_models(self) -> list[MlflowLoggedModel]:
        ids = self._experiment_ids()
        found = []
        for start in range(0, len(ids), 100):
            try:
                raw = self._pages(
                    "POST",
                    f"{API}/logged-models/search",
                    "models",
                    {"experiment_ids": ids[start : start + 100], "max_results": 100},
                )
            except InvalidArgument:  # an MLflow 2 server has no logged models
                return []
            for model in raw:
                info, data = model.get("info") or {}, model.get("data") or {}
                source = info.get("source_run_id")
                found.append(
                    MlflowLoggedModel(
                        str(info["model_id"]),
                        str(info.get("experiment_id")),
                        str(info.get("name") or ""),
                        str(info.get("artifact_uri") or ""),
                        None if source is None else str(source),
                        str(info.get("model_type") or ""),
                        _pairs(info.get("tags")),
                        _pairs(data.get("params")),
                    )
                )
        return found

    def models(self) -> list[MlflowModel]:
        raw = self._pages(
            "GET", f"{API}/registered-models/search", "registered_models", {"max_results": _PAGE}
        )
        found = []
        for model in raw:
            name = str(model["name"])
            quoted = name.replace("'", "\\'")
            versions = [
                MlflowVersion(
                    name,
                    int(ver["version"]),
                    str(ver.get("source") or ""),
                    None if not ver.get("run_id") else str(ver["run_id"]),
                    str(ver.get("description") or ""),
                    str(ver.get("user_id") or ""),
                    str(ver.get("storage_location") or ""),
                    _pairs(ver.get("tags")),
                )
                for ver in self._pages(
                    "GET",
                    f"{API}/model-versions/search",
                    "model_versions",
                    {"filter": f"name = '{quoted}'", "max_results": 10_000},
                )
                if ver.get("name") == name
            ]
            versions.sort(key=lambda ver: ver.version)
            aliases = {
                str(a["alias"]): int(a["version"])
                for a in model.get("aliases") or []
                if isinstance(a, dict)
            }
            found.append(
                MlflowModel(
                    name,
                    str(model.get("description") or ""),
                    _pairs(model.get("tags")),
                    versions,
                    aliases,
                )
            )
        return found

    # ------------------------------------------------------------------ artifacts

    def run_files(self, run: MlflowRun) -> Iterator[tuple[Path, str]]:
        if run.artifact_uri.startswith("mlflow-artifacts:"):
            yield from self._proxy_files(run.artifact_uri)
        else:
            yield from self._listed_files(run.id, "")

    def model_files(self, model: MlflowLoggedModel) -> Iterator[tuple[Path, str]]:
        if not model.artifact_location.startswith("mlflow-artifacts:"):
            raise InvalidArgument(
                f"logged model {model.id}'s artifacts are at {model.artifact_location!r}, "
                "which this server does not proxy; start it with artifact serving "
                "(mlflow server --serve-artifacts, the default) or import its database",
                field="from",
            )
        yield from self._proxy_files(model.artifact_location)

    def _proxy_files(self, uri: str) -> Iterator[tuple[Path, str]]:
        """Every file below an ``mlflow-artifacts:[//host]/<path>`` URI, downloaded."""
        root = urlparse(uri).path.strip("/")
        folders = [""]
        while folders:
            folder = folders.pop()
            path = f"{root}/{folder}".rstrip("/")
            listing = self._call("GET", PROXY, params={"path": path})
            for entry in sorted(listing.get("files") or [], key=lambda f: str(f["path"])):
                name = f"{folder}/{entry['path']}".lstrip("/")
                v.check_artifact_path(name)
                if entry.get("is_dir"):
                    folders.append(name)
                else:
                    yield self._download(f"{PROXY}/{quote(f'{root}/{name}')}", {}), name

    def _listed_files(self, run_id: str, folder: str) -> Iterator[tuple[Path, str]]:
        """Every file of a run whose artifacts the server reaches itself (not proxied)."""
        args = {"run_id": run_id, **({"path": folder} if folder else {})}
        listing = self._call("GET", f"{API}/artifacts/list", params=args)
        for entry in sorted(listing.get("files") or [], key=lambda f: str(f["path"])):
            name = v.check_artifact_path(str(entry["path"]))
            if entry.get("is_dir"):
                yield from self._listed_files(run_id, name)
            else:
                yield self._download("/get-artifact", {"run_id": run_id, "path": name}), name

    def _download(self, path: str, params: dict[str, str]) -> Path:
        target = Path(self._tmp.name) / "file"
        try:
            with self.http.stream("GET", path, params=params) as response:
                if response.status_code == 404:
                    raise NotFound(f"{self.url}{path} is gone", field="from")
                if response.status_code != 200:
                    raise InvalidArgument(
                        f"{self.url}{path} answered HTTP {response.status_code}", field="from"
                    )
                with target.open("wb") as out:
                    for chunk in response.iter_bytes(1 << 20):
                        out.write(chunk)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"cannot download {path} from {self.url}: {exc}", field="from"
            ) from None
        return target
