"""The wire schemas of the REST API, for validation and for the OpenAPI document.

Entities have one JSON form, the one their ``to_dict`` produces; the response models here are
*derived* from the entity dataclasses (``wire_model``), not written a second time, so a field
added to an entity appears in the API document by itself. The only translation is the one
``to_dict`` makes: a float may travel as the string ``"nan"``, ``"inf"`` or ``"-inf"``, since
JSON has no such numbers. Request bodies that are not entities are plain pydantic models.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
import warnings
from functools import cache
from typing import Annotated, Any, Literal, Union

import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model

from shipyard import entities as e

INT64 = 2**63 - 1
_INTEGER_BOUNDS = {"ge": -INT64, "le": INT64}

WireFloat = Annotated[
    float | Literal["nan", "inf", "-inf"],
    Field(description="a number; NaN and the infinities travel as 'nan', 'inf' and '-inf'"),
]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


#: Text in a request: any string but NUL (which databases cannot store).
Text = Annotated[str, AfterValidator(_no_nul)]
#: An integer that fits the database's 64-bit columns.
Int64 = Annotated[int, Field(**_INTEGER_BOUNDS)]
#: Milliseconds since the epoch.
Millis = Annotated[int, Field(ge=0, le=INT64)]


def _json_in_range(value: Any) -> Any:
    """Refuse an integer anywhere inside a free-form JSON value that 64 bits cannot hold: the
    database would keep it, and every later read of the record would fail to encode it."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > INT64:
            raise ValueError(f"integer {item} is outside the 64-bit range")
    return value


#: A free-form JSON value (params, outputs, details) whose integers fit in 64 bits.
JsonValue = Annotated[Any, AfterValidator(_json_in_range)]


def _wire_type(tp: Any) -> Any:
    """The pydantic type that validates what ``to_dict`` makes of a field of type ``tp``."""
    if tp is float:
        return WireFloat
    if tp is int:
        return Int64
    if tp is Any:
        return JsonValue
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return wire_model(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        return Union[tuple(_wire_type(a) for a in args)]  # noqa: UP007
    if origin is list:
        return list[_wire_type(args[0])]  # type: ignore[misc]
    if origin is dict:
        key: Any = args[0]
        return dict[key, _wire_type(args[1])]  # type: ignore[misc]
    return tp


@cache
def wire_model(cls: type) -> type[BaseModel]:
    """A pydantic model of an entity dataclass's JSON form (its fields, its docstring)."""
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = Field(default_factory=f.default_factory)
        else:
            default = ...
        fields[f.name] = (_wire_type(hints[f.name]), default)
    model: type[BaseModel] = create_model(
        cls.__name__, __doc__=cls.__doc__, __config__=ConfigDict(extra="forbid"), **fields
    )
    return model


def listing(name: str, key: str, item: Any) -> type[BaseModel]:
    """A response model ``{key: [item, ...]}``."""
    model: type[BaseModel] = create_model(name, **{key: (list[item], ...)})  # type: ignore[call-overload]
    return model


ExperimentOut = wire_model(e.Experiment)
RunOut = wire_model(e.Run)
RunPageOut = wire_model(e.RunPage)
MetricPointIn = wire_model(e.MetricPoint)
ArtifactOut = wire_model(e.ArtifactInfo)
LineageEdgeIn = wire_model(e.LineageEdge)
UserOut = wire_model(e.User)
TokenOut = wire_model(e.TokenInfo)
NewTokenOut = wire_model(e.NewToken)
AuditOut = wire_model(e.AuditEntry)

ExperimentList = listing("ExperimentList", "experiments", ExperimentOut)
RunIdList = listing("RunIdList", "run_ids", str)
MetricHistory = listing("MetricHistory", "metrics", MetricPointIn)
ArtifactList = listing("ArtifactList", "artifacts", ArtifactOut)
EdgeList = listing("EdgeList", "edges", LineageEdgeIn)
UserList = listing("UserList", "users", UserOut)
TokenList = listing("TokenList", "tokens", TokenOut)
AuditList = listing("AuditList", "entries", AuditOut)


class Body(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    """What every error response carries: a stable code, a headline, the field at fault."""

    code: str
    message: str
    field: str | None = None
    details: dict[str, Any] | None = None


class Info(BaseModel):
    """What a client needs to know about the server before talking to it."""

    version: str
    auth: bool
    max_upload_bytes: int


class BlobStored(BaseModel):
    """A blob now in the store: its sha256 and size in bytes."""

    digest: str
    size: int


class CreateExperiment(Body):
    name: Text
    description: Text = ""
    tags: dict[Text, Text] = Field(default_factory=dict)
    project: Text = e.DEFAULT_PROJECT


class GetOrCreateExperiment(Body):
    name: Text
    project: Text = e.DEFAULT_PROJECT


class RenameExperiment(Body):
    name: Text


class CreateRun(Body):
    experiment_id: Text
    name: Text
    user: Text = ""
    start_time: Millis | None = None
    parent_run_id: Text | None = None
    tags: dict[Text, Text] = Field(default_factory=dict)


class UpdateRun(Body):
    status: Text | None = None
    end_time: Millis | None = None
    name: Text | None = None


class RunIds(Body):
    run_ids: list[Text]


if typing.TYPE_CHECKING:
    MetricPointBody = Any
    LineageEdgeBody = Any
else:
    MetricPointBody = MetricPointIn
    LineageEdgeBody = LineageEdgeIn


class LogBatch(Body):
    metrics: list[MetricPointBody] = Field(default_factory=list)
    params: dict[Text, Text] = Field(default_factory=dict)
    tags: dict[Text, Text] = Field(default_factory=dict)


class SearchRuns(Body):
    experiment_ids: list[Text]
    filter: Text | None = None
    order_by: list[Text] = Field(default_factory=list)
    limit: Annotated[int, Field(ge=1, le=50_000)] = 1000
    page_token: Text | None = None
    include_deleted: bool = False


class AddEdges(Body):
    edges: list[LineageEdgeBody]


class CreateUser(Body):
    name: Text


class SetRole(Body):
    role: Literal["viewer", "editor", "maintainer", "admin"] | None


class CreateToken(Body):
    user: Text | None = None
    name: Text = ""
    expires_at: Millis | None = None


#: Models the API document lists although no handler declares them as a parameter (their
#: bodies are decoded by hand on hot paths); ``create_app`` adds them to the components.
EXTRA_MODELS: list[type[BaseModel]] = [LogBatch]
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` declaring a required JSON body of ``model``."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def parse_batch(raw: bytes) -> tuple[list[e.MetricPoint], dict[str, str], dict[str, str]]:
    """A LogBatch body as metric points, params and tags, decoded without building a model
    per point. A body this fast path does not recognise is validated by the LogBatch model
    instead, so the error (a 422 naming the field) is the schema's."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = None
    if type(data) is dict and data.keys() <= {"metrics", "params", "tags"}:
        params, tags = data.get("params", {}), data.get("tags", {})
        points = _points(data.get("metrics", []))
        if points is not None and _text_map(params) and _text_map(tags):
            return points, params, tags
    try:
        body = LogBatch.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        raise RequestValidationError(errors) from None
    points = [e.MetricPoint(m.key, float(m.value), m.step, m.timestamp) for m in body.metrics]
    return points, dict(body.params), dict(body.tags)


def _points(items: Any) -> list[e.MetricPoint] | None:
    if type(items) is not list:
        return None
    points = []
    for item in items:
        if type(item) is not dict or len(item) != 4:
            return None
        try:
            key, value, step, timestamp = (
                item["key"],
                item["value"],
                item["step"],
                item["timestamp"],
            )
        except KeyError:
            return None
        if type(value) is str:
            value = _NON_FINITE.get(value)
        if (
            type(key) is not str
            or type(value) not in (float, int)
            or type(step) is not int
            or type(timestamp) is not int
        ):
            return None
        points.append(e.MetricPoint(key, float(value), step, timestamp))
    return points


def _text_map(value: Any) -> bool:
    return type(value) is dict and all(
        type(k) is str and type(v) is str and "\x00" not in k + v for k, v in value.items()
    )


# ----------------------------------------------------------------------------- model registry

RegisteredModelOut = wire_model(e.RegisteredModel)
ModelVersionOut = wire_model(e.ModelVersion)
AliasEventOut = wire_model(e.AliasEvent)
ModelList = listing("ModelList", "models", RegisteredModelOut)
ModelVersionList = listing("ModelVersionList", "versions", ModelVersionOut)
AliasEventList = listing("AliasEventList", "events", AliasEventOut)
#: A name of at most 256 characters (model owners, version creators, alias actors).
ShortText = Annotated[Text, Field(max_length=256)]

if typing.TYPE_CHECKING:
    ArtifactBody = Any
else:
    ArtifactBody = ArtifactOut


class CreateModel(Body):
    name: Text
    description: Text = ""
    tags: dict[Text, Text] = Field(default_factory=dict)
    owner: ShortText = ""
    project: Text = e.DEFAULT_PROJECT


class DescribeModel(Body):
    """A new description (null keeps the old one) and tags to set."""

    description: Text | None = None
    tags: dict[Text, Text] = Field(default_factory=dict)


class DescribeModelVersion(DescribeModel):
    """A new description, tags to set and evaluation metrics to record on the version."""

    metrics: dict[Text, WireFloat] = Field(default_factory=dict)


class CreateModelVersion(Body):
    """A version of files already stored as blobs (``PUT /blobs/{digest}`` first)."""

    files: list[ArtifactBody]
    flavor: Annotated[Text, Field(max_length=32)]
    source: Annotated[Text, Field(max_length=1024)] = ""
    run_id: Text | None = None
    signature: dict[Text, Any] | None = None
    metrics: dict[Text, WireFloat] = Field(default_factory=dict)
    requirements: list[Text] = Field(default_factory=list)
    python_version: Annotated[Text, Field(max_length=32)] = ""
    metadata: dict[Text, Any] = Field(default_factory=dict)
    description: Text = ""
    tags: dict[Text, Text] = Field(default_factory=dict)
    created_by: ShortText = ""
    project: Text = Field(
        default=e.DEFAULT_PROJECT, description="where the model is created if it does not exist"
    )


class SetAlias(Body):
    """Point an alias at a version if every gate rule passes (or ``force``)."""

    version: Annotated[int, Field(ge=1, le=INT64)]
    requires: list[Text] = Field(default_factory=list)
    force: bool = False
    reason: Text = ""
    actor: ShortText = Field(default="", description="ignored when the server authenticates")
    dry_run: bool = False


# ----------------------------------------------------------------------------- datasets


def maybe(name: str, key: str, item: Any) -> type[BaseModel]:
    """A response model ``{key: item or null}`` (a look-up that may find nothing)."""
    model: type[BaseModel] = create_model(name, **{key: (item | None, ...)})  # type: ignore[call-overload]
    return model


DatasetOut = wire_model(e.Dataset)
with warnings.catch_warnings():  # a field named like BaseModel.schema: harmless on the wire
    warnings.filterwarnings("ignore", 'Field name "schema"', UserWarning)
    DatasetVersionOut = wire_model(e.DatasetVersion)
DatasetList = listing("DatasetList", "datasets", DatasetOut)
DatasetVersionList = listing("DatasetVersionList", "versions", DatasetVersionOut)
DatasetVersionFound = maybe("DatasetVersionFound", "version", DatasetVersionOut)


class CreateDatasetVersion(Body):
    """A dataset version whose canonical Parquet file was uploaded as the blob ``digest``."""

    digest: Text
    num_rows: Annotated[int, Field(ge=0, le=INT64)]
    schema_: list[dict[Text, Any]] = Field(alias="schema")
    profile: dict[Text, Any]
    source: Text = ""
    description: Text = ""
    project: Text = e.DEFAULT_PROJECT


# ----------------------------------------------------------------------------- pipelines

PipelineOut = wire_model(e.PipelineInfo)
PipelineRunOut = wire_model(e.PipelineRun)
StepRunOut = wire_model(e.StepRun)
ScheduleOut = wire_model(e.Schedule)
PipelineList = listing("PipelineList", "pipelines", PipelineOut)
PipelineRunList = listing("PipelineRunList", "runs", PipelineRunOut)
StepRunList = listing("StepRunList", "step_runs", StepRunOut)
StepRunIds = listing("StepRunIds", "step_run_ids", str)
ScheduleList = listing("ScheduleList", "schedules", ScheduleOut)
StepRunFound = maybe("StepRunFound", "step_run", StepRunOut)
PipelineRunCreated: type[BaseModel] = create_model(
    "PipelineRunCreated", run=(PipelineRunOut, ...), step_run_ids=(list[str], ...)
)

if typing.TYPE_CHECKING:
    PipelineRunBody = Any
    StepRunBody = Any
    ScheduleBody = Any
else:
    PipelineRunBody = PipelineRunOut
    StepRunBody = StepRunOut
    ScheduleBody = ScheduleOut


class RegisterPipeline(Body):
    ref: Text
    description: Text = ""
    project: Text = e.DEFAULT_PROJECT


class CreatePipelineRun(Body):
    """A pipeline run with its step runs (ids are generated where empty)."""

    run: PipelineRunBody
    steps: list[StepRunBody] = Field(default_factory=list)
    project: Text = e.DEFAULT_PROJECT


class AddStepRuns(Body):
    steps: list[StepRunBody]


class UpdatePipelineRun(Body):
    """The fields of a pipeline run to change; fields left out stay as they are."""

    status: Text | None = None
    start_time: Millis | None = None
    end_time: Millis | None = None
    error: Text | None = None
    executor: Text | None = None
    dag: list[dict[Text, Any]] | None = None
    params: dict[Text, Any] | None = None


class StepRunChanges(Body):
    """The fields of a step run to change; fields left out stay as they are."""

    status: Text | None = None
    attempts: Annotated[int, Field(ge=0, le=INT64)] | None = None
    cache_key: Text | None = None
    cache_hit: bool | None = None
    start_time: Millis | None = None
    end_time: Millis | None = None
    inputs: dict[Text, Any] | None = None
    params: dict[Text, Any] | None = None
    outputs: list[dict[Text, Any]] | None = None
    logs: Text | None = None
    error: Text | None = None
    code_parts: dict[Text, Text] | None = None


class UpdateStepRun(StepRunChanges):
    """Step run changes and the lineage edges to record in the same transaction."""

    lineage: list[LineageEdgeBody] = Field(default_factory=list)


class UpdateStepRuns(Body):
    """Changes to several step runs, by step run id, and the lineage edges to record, made
    in one transaction."""

    updates: dict[Text, StepRunChanges]
    lineage: list[LineageEdgeBody] = Field(default_factory=list)


class ScheduleFired(Body):
    last_fire_at: Millis


# ----------------------------------------------------------------------------- feature store

FeatureObjectOut = wire_model(e.FeatureObject)
FeatureMaterializationOut = wire_model(e.FeatureMaterialization)
FeatureObjectList = listing("FeatureObjectList", "objects", FeatureObjectOut)
FeatureMaterializationList = listing(
    "FeatureMaterializationList", "materializations", FeatureMaterializationOut
)
FeatureViewFreshnessList = listing(
    "FeatureViewFreshnessList", "views", wire_model(e.FeatureViewFreshness)
)


class FeatureObjectIn(Body):
    """A definition to store: its kind, name and JSON spec (the server computes the digest)."""

    kind: Text
    name: Text
    spec: dict[Text, Any]


class ApplyFeatureObjects(Body):
    """Definitions to create or replace and (kind, name) pairs to remove, in one transaction."""

    objects: list[FeatureObjectIn] = Field(default_factory=list)
    delete: list[tuple[Text, Text]] = Field(default_factory=list)
    project: Text = e.DEFAULT_PROJECT


class RecordMaterialization(Body):
    """A materialized event-time window ``[start, end)`` (epoch ms) and the rows written."""

    start: Millis
    end: Millis
    rows: Annotated[int, Field(ge=0, le=INT64)]
