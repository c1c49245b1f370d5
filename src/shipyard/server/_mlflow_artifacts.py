"""MLflow's artifact proxy (``/api/2.0/mlflow-artifacts/artifacts/...``) over run artifacts.

MLflow's client writes and reads a run's artifacts at ``mlflow-artifacts:/<experiment>/<run>/
artifacts/<path>`` (the ``artifact_uri`` the tracking API hands out), which it turns into
``PUT``/``GET`` of ``/api/2.0/mlflow-artifacts/artifacts/<experiment>/<run>/artifacts/
<path>`` and a listing ``GET .../artifacts?path=<folder>``. Those land in the run's
artifact tree in Shipyard's content-addressed blob store, with Shipyard's checks: the
caller's role on the run's project (viewer reads, editor writes), safe paths, the upload
size limit.

The paths of MLflow 3's logged models (``<experiment>/models/<model id>/artifacts/<path>``)
are mapped by ``_mlflow_models`` onto the run the model was logged from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from shipyard import _validation as v
from shipyard.entities import ArtifactInfo
from shipyard.errors import InvalidArgument, NotFound, ShipyardError
from shipyard.server._access import Caller, get_caller
from shipyard.server._mlflow_wire import MlflowRoute, answer, mlflow_error
from shipyard.server._transfer import spooled_upload, stream_blob

PREFIX = "/api/2.0/mlflow-artifacts/artifacts"


@dataclass(frozen=True)
class Place:
    """Where an MLflow artifact path lives in Shipyard: a run and a path in its tree
    (``""``: the root)."""

    run_id: str
    path: str


#: Maps ``<experiment>/<kind>/<id>/artifacts/<path>`` parts (after the experiment) to a Place;
#: the logged-model module registers the ``models`` kind.
Resolver = Callable[[Caller, str, str, str], Place]
RESOLVERS: dict[str, Resolver] = {}


def place_of(caller: Caller, mlflow_path: str, role: str) -> Place:
    """The run and path an MLflow artifact path names, after checking ``role`` on the run's
    project (NotFound for a path outside every run)."""
    parts = mlflow_path.strip("/").split("/", 3)
    if len(parts) >= 3 and parts[2] == "artifacts":  # <experiment>/<run>/artifacts[/<path>]
        experiment, run_id = parts[0], parts[1]
        caller.require_run(run_id, role)
        run = caller.store.get_run(run_id)
        if run.experiment_id != experiment:
            raise NotFound(f"run {run_id} is not in experiment {experiment}", field="path")
        return Place(run_id, _relative(parts[3] if len(parts) > 3 else ""))
    if len(parts) >= 3 and parts[1] in RESOLVERS:  # <experiment>/<kind>/<id>/artifacts/...
        rest = parts[3] if len(parts) > 3 else ""
        if rest != "artifacts" and not rest.startswith("artifacts/"):
            raise NotFound(f"no artifacts at {mlflow_path!r}", field="path")
        return RESOLVERS[parts[1]](caller, parts[2], _relative(rest[len("artifacts") :]), role)
    raise NotFound(
        f"no artifacts at {mlflow_path!r}: Shipyard serves <experiment>/<run>/artifacts/<path>",
        field="path",
    )


def _relative(path: str) -> str:
    path = path.strip("/")
    return v.check_artifact_path(path) if path else ""


def children(files: list[ArtifactInfo], folder: str) -> list[dict[str, object]]:
    """MLflow's listing of ``folder``: its direct children, folders first by name."""
    start = f"{folder}/" if folder else ""
    found: dict[str, dict[str, object]] = {}
    for info in files:
        if not info.path.startswith(start):
            continue
        head, _, tail = info.path[len(start) :].partition("/")
        if tail:
            found.setdefault(head, {"path": head, "is_dir": True})
        else:
            found[head] = {"path": head, "is_dir": False, "file_size": info.size}
    return sorted(found.values(), key=lambda f: str(f["path"]))


async def _list(request: Request) -> Response:
    try:
        caller = await get_caller(request)
        path = request.query_params.get("path", "")
        place = await run_in_threadpool(place_of, caller, path, "viewer")
        files = await run_in_threadpool(caller.store.list_artifacts, place.run_id, place.path)
    except ShipyardError as exc:
        return mlflow_error(exc)
    return answer({"files": children(files, place.path)})


async def _file(request: Request) -> Response:
    try:
        caller = await get_caller(request)
        path = request.path_params["path"]
        if request.method == "PUT":
            return await _upload(request, caller, path)
        if request.method == "DELETE":
            raise InvalidArgument(
                "Shipyard keeps run artifacts once written; deleting them is not supported",
                field="path",
            )
        place = await run_in_threadpool(place_of, caller, path, "viewer")
        info = await run_in_threadpool(_one_file, caller, place)
        return stream_blob(caller, info.digest, info.size)
    except ShipyardError as exc:
        return mlflow_error(exc)


async def _upload(request: Request, caller: Caller, path: str) -> Response:
    place = await run_in_threadpool(place_of, caller, path, "editor")
    if not place.path:
        raise InvalidArgument("an upload needs a file path under the run's artifacts", field="path")
    async with spooled_upload(request, caller.backend.max_upload_bytes, None) as spool:
        await run_in_threadpool(caller.store.log_artifact, place.run_id, spool, place.path)
    return answer({})


def _one_file(caller: Caller, place: Place) -> ArtifactInfo:
    for info in caller.store.list_artifacts(place.run_id, place.path):
        if info.path == place.path:
            return info
    raise NotFound(f"run {place.run_id} has no artifact file {place.path!r}", field="path")


def routes() -> list[MlflowRoute]:
    """The artifact proxy's routes: listing, and upload/download of one file."""
    return [
        MlflowRoute(PREFIX, _list, methods=["GET"], read_only=True),
        MlflowRoute(PREFIX + "/{path:path}", _file, methods=["GET", "PUT", "DELETE"]),
    ]
