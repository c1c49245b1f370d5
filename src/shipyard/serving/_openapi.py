"""The model server's API document (``/openapi.json``, browsable at ``/docs``).

The routes read their bodies by hand (the V2 codec decodes tensors straight into numpy, and
binary tensors follow the JSON part), so FastAPI cannot infer their schemas: the bodies are
described here as pydantic models and attached to each route's document. Describing a body
changes nothing about how it is read or checked.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Datatype = Literal[
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BYTES",
]


class V2Tensor(BaseModel):
    """One tensor: ``data`` flattened in row-major order, or (binary extension)
    ``parameters.binary_data_size`` bytes after the JSON part."""

    name: str = Field(description="For a table model, a column name, or any name for a matrix.")
    datatype: Datatype
    shape: list[int] = Field(description="Non-negative sizes, e.g. [rows] or [rows, columns].")
    data: list[Any] | None = None
    parameters: dict[str, Any] | None = None


class V2RequestedOutput(BaseModel):
    """An output the caller wants, and whether as binary (``parameters.binary_data``)."""

    name: Literal["predict", "label", "proba"]
    parameters: dict[str, Any] | None = None


class V2InferenceRequest(BaseModel):
    """A V2 inference request (each input named once)."""

    id: str | None = None
    inputs: list[V2Tensor]
    outputs: list[V2RequestedOutput] | None = None
    parameters: dict[str, Any] | None = Field(
        default=None,
        description="binary_data_output (bool): every output as binary; proba (bool): add "
        "the class labels and probabilities of a classifier.",
    )


class V2InferenceResponse(BaseModel):
    """The outputs (``parameters.prediction_id`` identifies the prediction for labels)."""

    id: str | None = None
    model_name: str
    model_version: str
    outputs: list[V2Tensor]
    parameters: dict[str, Any]


class PredictResponse(BaseModel):
    """``/predict``: one prediction per input row."""

    predictions: list[Any]
    probabilities: list[list[float]] | None = Field(
        default=None, description="With ?proba=true: per row, one probability per class."
    )
    classes: list[Any] | None = Field(
        default=None, description="With ?proba=true: the class labels, in column order."
    )
    prediction_id: str
    model: str
    version: int


class Labels(BaseModel):
    """Ground truth for earlier predictions (``rows``: which row of each prediction)."""

    ids: list[str]
    labels: list[Any]
    rows: list[int] | None = None


class ErrorBody(BaseModel):
    """Every 4xx/5xx: what went wrong and the input or field at fault."""

    error: str
    code: str
    message: str
    field: str | None = None


#: The models the document lists under ``components/schemas``.
MODELS: tuple[type[BaseModel], ...] = (
    V2Tensor,
    V2RequestedOutput,
    V2InferenceRequest,
    V2InferenceResponse,
    PredictResponse,
    Labels,
    ErrorBody,
)

_PREDICT_BODY = {
    "description": "Records ([{column: value}]), columns ({column: [values]}), "
    '{"columns": [...], "data": [[...]]}, or rows of numbers.',
    "oneOf": [
        {"type": "array", "items": {"type": "object"}},
        {"type": "object"},
        {"type": "array", "items": {"type": "array", "items": {}}},
    ],
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _errors() -> dict[str, Any]:
    error = _json(_ref(ErrorBody))
    return {
        "400": {"description": "Malformed JSON", **error},
        "404": {"description": "No such model or version", **error},
        "413": {"description": "The body is over the limit", **error},
        "422": {"description": "Input that does not match the model", **error},
        "503": {"description": "Not ready (loading or draining)", **error},
    }


def _answers(*codes: str) -> dict[str, Any]:
    """The documented error responses among ``codes``, after a JSON 200."""
    errors = _errors()
    return {"200": {"description": "OK", **_json({"type": "object"})}} | {
        code: errors[code] for code in codes
    }


_NOT_READY = _answers("503")
_UNKNOWN_MODEL = _answers("404")
_MODEL_READY = _answers("404", "503")
_METRICS = {
    "200": {
        "description": "The Prometheus text format",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}

#: Per (method, path): what the route's document adds (request body, responses). A path's
#: last part stands for every route ending with it (``{name}``, ``{version}``, ``ready``).
EXTRA: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/v2/health/ready"): {"responses": _NOT_READY},
    ("GET", "/readyz"): {"responses": _NOT_READY},
    ("GET", "{name}"): {"responses": _UNKNOWN_MODEL},
    ("GET", "{version}"): {"responses": _UNKNOWN_MODEL},
    ("GET", "ready"): {"responses": _MODEL_READY},
    ("GET", "/metrics"): {"responses": _METRICS},
    ("POST", "infer"): {
        "requestBody": {"required": True, **_json(_ref(V2InferenceRequest))},
        "parameters": [
            {
                "name": "Inference-Header-Content-Length",
                "in": "header",
                "required": False,
                "schema": {"type": "integer", "minimum": 0},
                "description": "Binary tensor extension: the length of the JSON part; the "
                "inputs' raw bytes (parameters.binary_data_size each) follow it.",
            }
        ],
        "responses": {"200": {"description": "OK", **_json(_ref(V2InferenceResponse))}} | _errors(),
    },
    ("POST", "/predict"): {
        "requestBody": {"required": True, **_json(_PREDICT_BODY)},
        "parameters": [
            {
                "name": "proba",
                "in": "query",
                "required": False,
                "schema": {"type": "boolean"},
                "description": "Add each row's class probabilities (classifiers).",
            }
        ],
        "responses": {"200": {"description": "OK", **_json(_ref(PredictResponse))}} | _errors(),
    },
    ("POST", "labels"): {
        "requestBody": {"required": True, **_json(_ref(Labels))},
        "responses": {"200": {"description": "How many labels were written"}} | _errors(),
    },
}


def extra_for(method: str, path: str) -> dict[str, Any] | None:
    """The document additions of a route, matched on its path (or the path's last part)."""
    return EXTRA.get((method, path)) or EXTRA.get((method, path.rsplit("/", 1)[-1]))


def add_components(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with the body models under ``components/schemas``."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for model in MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        schemas[model.__name__] = schema
    return spec
