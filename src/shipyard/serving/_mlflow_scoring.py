"""MLflow's scoring protocol on the model server: ``POST /invocations``, ``GET /ping`` and
``GET /health``, so a caller of ``mlflow models serve`` switches by changing the URL.

``/invocations`` takes what MLflow's scoring server takes: a JSON object with exactly one of
``dataframe_split`` (``{"columns", "data"}``), ``dataframe_records`` (a list of records),
``instances`` or ``inputs`` (records, columns or rows), and an optional ``params``; or CSV
(``Content-Type: text/csv``) with a header row. It answers ``{"predictions": [...]}``, and
errors as MLflow does: ``{"error_code": "BAD_REQUEST", "message": ...}`` with status 400.

Requests go through the same path as ``/predict`` (signature checks, the micro-batcher, the
prediction log); an all-number ``dataframe_split`` or ``dataframe_records`` body takes the
fast path of numeric models: one float64 matrix, with no per-row frame.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pandas as pd
from fastapi import Request
from fastapi.responses import Response

from shipyard.errors import InvalidArgument, SchemaError, ShipyardError, TooLarge
from shipyard.serving._codec import Tensor, loads, output_tensor
from shipyard.serving._openapi import EXTRA
from shipyard.serving._outputs import LABEL_OUTPUT, split

if TYPE_CHECKING:
    from shipyard.serving._app import ModelServer

_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_ERROR = {
    "type": "object",
    "required": ["error_code", "message"],
    "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
}
_MLFLOW_ERRORS = {
    str(code): {"description": text, "content": {"application/json": {"schema": _ERROR}}}
    for code, text in (
        (400, "Input MLflow's protocol or the model does not take"),
        (413, "The body is over the limit"),
        (503, "Not ready (loading or draining)"),
    )
}
_TEXT = {"text/plain": {"schema": {"type": "string"}}}
# The API document of these routes (MLflow's error body, not the model server's own).
EXTRA[("POST", "/invocations")] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    },
    "responses": {
        "200": {
            "description": "The predictions",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["predictions"],
                        "properties": {"predictions": {"type": "array"}},
                    }
                }
            },
        },
        **_MLFLOW_ERRORS,
    },
}
for _path in ("/ping", "/health"):
    EXTRA[("GET", _path)] = {
        "responses": {
            "200": {"description": "The model is loaded", "content": _TEXT},
            "503": {"description": "Not ready (loading or draining)", "content": _TEXT},
        }
    }
Route = Callable[..., Callable[[Callable[[Request], Any]], Any]]


def _mlflow_error(code: str, message: str, status: int) -> Response:
    body = orjson.dumps({"error_code": code, "message": message})
    return Response(body, status_code=status, media_type="application/json")


def mlflow_input(body: bytes, content_type: str) -> Any:
    """The model input of an MLflow scoring body: a JSON document ``/predict`` reads, or a
    :class:`Split` of numbers (which the fast path may take as it is)."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "text/csv":
        try:
            frame = pd.read_csv(io.BytesIO(body))
        except (ValueError, pd.errors.ParserError) as exc:
            raise InvalidArgument(f"cannot read the CSV body: {exc}", field="body") from None
        return {"columns": list(frame.columns), "data": frame.to_numpy().tolist()}
    if kind not in ("application/json", ""):
        raise InvalidArgument(
            f"content type {kind!r} is not supported; send application/json or text/csv",
            field="content-type",
        )
    doc = loads(body)
    if not isinstance(doc, dict):
        raise InvalidArgument(
            f"the body must be a JSON object with one of {', '.join(_KEYS)}", field="body"
        )
    given = [k for k in _KEYS if k in doc]
    unknown = sorted(set(doc) - {*_KEYS, "params"})
    if len(given) != 1 or unknown:
        raise InvalidArgument(
            f"the body must have exactly one of {', '.join(_KEYS)} (and optionally params); "
            f"it has {', '.join(sorted(doc)) or 'none'}",
            field="body",
        )
    key = given[0]
    data = doc[key]
    if key == "dataframe_split":
        if not isinstance(data, dict) or "data" not in data:
            raise InvalidArgument(
                'dataframe_split must be {"columns": [...], "data": [[...]]}',
                field="dataframe_split",
            )
        if "columns" not in data:
            return data["data"]
        matrix = _numbers(data["data"])
        if matrix is not None and matrix.shape[1] == len(data["columns"]):
            return Split(list(data["columns"]), matrix)
        return {"columns": data["columns"], "data": data["data"]}
    if key == "dataframe_records" and not isinstance(data, list):
        raise InvalidArgument("dataframe_records must be a list of records", field=key)
    if key == "inputs" and isinstance(data, dict) and not data:
        raise InvalidArgument("inputs is empty", field=key)
    return data


@dataclass(frozen=True)
class Split:
    """A ``dataframe_split`` of numbers: its columns and its float64 matrix."""

    columns: list[str]
    matrix: np.ndarray[Any, Any]

    def request(self, columns: list[str] | None) -> tuple[Any, list[Tensor] | None]:
        """(document, tensors) for ``ModelServer.predict`` of a model taking ``columns``: the
        matrix as one tensor when its columns are the model's, in order (the fast path),
        else the general path's ``{"columns", "data"}``."""
        if columns is not None and self.columns == columns:
            return None, [Tensor("dataframe_split", "FP64", self.matrix.shape, self.matrix)]
        return {"columns": self.columns, "data": self.matrix.tolist()}, None


def _numbers(rows: Any) -> np.ndarray[Any, Any] | None:
    """Rows of plain numbers as a float64 matrix (None for anything else)."""
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], list):
        return None
    try:
        matrix = np.array(rows, dtype=np.float64)
    except (ValueError, TypeError):
        return None
    if matrix.ndim != 2 or any(type(v) is bool for v in rows[0]):
        return None
    return matrix


def add_mlflow_scoring(route: Route, state: ModelServer) -> None:
    """Register ``/invocations``, ``/ping`` and ``/health`` with the app's ``route``."""

    @route("/invocations", "POST")
    async def invocations(request: Request) -> Response:
        """MLflow's scoring protocol: ``dataframe_split``, ``dataframe_records``,
        ``instances``, ``inputs`` or CSV in, ``{"predictions": [...]}`` out."""
        try:
            body = await state.body(request)
            name = state.service.name
            doc: Any = mlflow_input(body, request.headers.get("content-type", ""))
            tensors = None
            if isinstance(doc, Split):
                doc, tensors = doc.request(state.service.find(name).plan.columns)
            served, outputs, pid = await state.predict(name, None, tensors, doc)
            labels, _ = split(outputs, False, served.model.metadata.ref, "proba")
        except TooLarge as exc:
            return _mlflow_error("RESOURCE_EXHAUSTED", exc.message, 413)
        except (InvalidArgument, SchemaError) as exc:
            return _mlflow_error("BAD_REQUEST", exc.message, 400)
        except ShipyardError as exc:  # not ready yet, or draining
            return _mlflow_error("TEMPORARILY_UNAVAILABLE", exc.message, 503)
        values = output_tensor(LABEL_OUTPUT, labels)
        answer = {"predictions": values.tolist() if values.dtype.kind == "O" else values}
        payload = orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)
        return Response(payload, media_type="application/json", headers={"x-prediction-id": pid})

    async def ping(request: Request) -> Response:
        """MLflow's health check: 200 once the model is loaded, 503 before."""
        ready = state.service.ready and not state.draining
        return Response("\n", status_code=200 if ready else 503, media_type="text/plain")

    route("/ping")(ping)
    route("/health")(ping)
