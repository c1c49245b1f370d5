"""The model server: a FastAPI app speaking the Open Inference Protocol (V2) and ``/predict``.

This is a separate application from the Shipyard metadata server: it serves one registered
model (following its alias), and nothing else.

Routes: ``GET /v2/health/live``, ``GET /v2/health/ready``, ``GET /v2`` (server metadata),
``GET /v2/models/{name}[/versions/{v}]`` (model metadata), ``GET .../ready``,
``POST /v2/models/{name}[/versions/{v}]/infer``, ``POST /v2/models/{name}/labels``,
``POST /predict``, ``GET /metrics``.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from shipyard.config import Settings
from shipyard.errors import InvalidArgument, ShipyardError, TooLarge
from shipyard.serving._batcher import BatcherClosed
from shipyard.serving._codec import HEADER, decode_request, encode_response, loads, output_tensor
from shipyard.serving._config import ServingConfig
from shipyard.serving._deployment import DeploymentRecorder
from shipyard.serving._log_queue import LogQueue
from shipyard.serving._metrics import ServingMetrics
from shipyard.serving._mlflow_scoring import add_mlflow_scoring
from shipyard.serving._openapi import add_components, extra_for
from shipyard.serving._outputs import LABEL_OUTPUT, PROBA_OUTPUT, split, wants_proba
from shipyard.serving._prediction_log import LogFiles, Record, log_labels, now_ms
from shipyard.serving._service import ModelService, Served

log = logging.getLogger("shipyard.serving")
JSON = "application/json"
_V2_EXTENSIONS = ["binary_tensor_data"]
_VERSION = importlib.metadata.version("shipyard")


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type=JSON,
        headers=headers,
    )


def _error(exc: ShipyardError) -> Response:
    body = exc.to_dict()
    body["error"] = exc.message  # the V2 error body
    status = 400 if exc.code == "invalid_argument" and exc.field == "body" else exc.http_status
    return _json(body, status)


def _values(array: Any) -> Any:
    """An array orjson can write (object arrays as lists)."""
    return array.tolist() if array.dtype.kind == "O" else array


class ModelServer:
    """State of one model server app: the service, its metrics, and its prediction log."""

    def __init__(
        self,
        ref: str,
        config: ServingConfig,
        settings: Settings,
        on_failed_start: Callable[[str], Any] | None = None,
    ) -> None:
        self.config = config
        self.on_failed_start = on_failed_start
        self.settings = settings
        self.metrics = ServingMetrics()
        self.service = ModelService(ref, config, self.metrics)
        self.deployment = DeploymentRecorder(self.service, config)
        self.log: LogQueue | None = None
        if config.log_predictions:
            self.log = LogQueue(
                LogFiles(settings, config.log_uri),
                max_rows=config.log_queue_rows,
                flush_seconds=config.log_flush_seconds,
                flush_rows=config.log_flush_rows,
                on_written=self.metrics.log_rows.inc,
                on_shed=self.metrics.log_shed.inc,
            )
        self.draining = False

    # ------------------------------------------------------------------ lifecycle

    async def startup(self) -> None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=self.config.threads)  # BLAS/OpenMP: N workers on N cores
        if self.log is not None:
            self.log.start()
        self._loading = asyncio.get_running_loop().create_task(self._load())

    async def _load(self) -> None:
        """The first load. On failure readiness stays false, the error is logged and shown
        on the health routes, and ``on_failed_start`` (set by ``serve``) stops the server."""
        try:
            await self.service.start()
        except Exception as exc:
            if self.on_failed_start is not None:
                self.on_failed_start(str(exc))
            return
        self.deployment.start()

    async def shutdown(self) -> None:
        self.draining = True
        await self.service.stop()
        await self.deployment.stop()
        if self.log is not None:
            await asyncio.to_thread(self.log.close)

    # ------------------------------------------------------------------ helpers

    async def body(self, request: Request) -> bytes:
        """The request body, refused with 413 past the limit (and gunzipped if sent so)."""
        limit = self.config.max_body_bytes
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise TooLarge(
                f"the request body is {int(length)} bytes; the limit is {limit}", field="body"
            )
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"the request body exceeds the {limit}-byte limit", field="body")
            chunks.append(chunk)
        body = b"".join(chunks)
        encoding = request.headers.get("content-encoding")
        if encoding in ("gzip", "deflate"):
            try:
                inflater = zlib.decompressobj(zlib.MAX_WBITS | (16 if encoding == "gzip" else 0))
                body = inflater.decompress(body, limit + 1)
            except zlib.error as exc:
                raise InvalidArgument(
                    f"cannot {encoding}-decode the body: {exc}", field="body"
                ) from None
            if len(body) > limit or inflater.unconsumed_tail:
                raise TooLarge(f"the decoded body exceeds the {limit}-byte limit", field="body")
        return body

    async def predict(
        self, name: str, version: str | None, tensors: list[Any] | None, doc: Any = None
    ) -> tuple[Served, Any, str]:
        """Answer one request: route it, batch it, log it (and shadow it)."""
        started = time.perf_counter()
        service = self.service
        for attempt in (1, 2):
            # Leased: a version swapped out meanwhile stays open until this request is done.
            served, shadow = service.lease(name, version)
            try:
                if tensors is not None:
                    model_input = served.plan.from_tensors(tensors)
                else:
                    model_input = served.plan.from_json(doc)
                outputs = await served.batcher.submit(model_input)
                break
            except BaseException as exc:
                if shadow is not None:
                    shadow.release()
                if not isinstance(exc, BatcherClosed) or attempt == 2:
                    raise
                # retired before this request leased it (cannot happen with leases taken at
                # routing; kept so a retired version never fails a request): route again
            finally:
                served.release()
        role = served.role
        if version is None and role == "challenger":
            role = "canary"
        prediction_id = uuid.uuid4().hex
        if shadow is not None:  # first: the shadow task returns its lease
            service.spawn(self._shadow(shadow, prediction_id, model_input))
        if self.log is not None:
            self._log(served, prediction_id, model_input, outputs, started, role)
        return served, outputs, prediction_id

    def _log(
        self, served: Served, pid: str, data: Any, outputs: Any, started: float, role: str
    ) -> None:
        assert self.log is not None
        self.log.append(
            Record(
                prediction_id=pid,
                ts=now_ms(),
                model=served.name,
                version=served.version,
                alias=served.alias,
                role=role,
                latency_ms=(time.perf_counter() - started) * 1000,
                inputs=data,
                outputs=outputs,
                rows=len(outputs),
                deployment=self.deployment.logged_id,
            )
        )

    async def _shadow(self, served: Served, pid: str, model_input: Any) -> None:
        """Send a copy to the shadow version (leased by ``predict``) and log its answer."""
        started = time.perf_counter()
        try:
            outputs = await served.batcher.submit(model_input)
        except Exception as exc:
            log.warning("shadow %s/%s failed: %s", served.name, served.version, exc)
            return
        finally:
            served.release()
        if self.log is not None:
            self._log(served, pid, model_input, outputs, started, "shadow")


Handler = Callable[[Request], Awaitable[Response]]


def create_app(
    ref: str,
    config: ServingConfig | None = None,
    *,
    settings: Settings | None = None,
    on_failed_start: Callable[[str], Any] | None = None,
) -> FastAPI:
    """The model server app for a registry reference (``churn@champion``, ``churn/3``).

    The model loads in the background once the app starts: ``/v2/health/live`` answers at
    once, ``/v2/health/ready`` only after the model is loaded and warmed up; if that first
    load fails, ``on_failed_start`` gets the reason (``serve`` uses it to stop with an
    error). On shutdown the server stops taking work, answers everything queued, and writes
    the prediction log.
    """
    from shipyard.tracking import get_client

    config = config or ServingConfig()
    state = ModelServer(ref, config, settings or get_client().settings, on_failed_start)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.startup()
        yield
        await state.shutdown()

    app = FastAPI(
        title="Shipyard model server",
        version=_VERSION,
        summary=f"Serves {ref}: the Open Inference Protocol (V2) and /predict.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_components(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.state.server = state
    metrics = state.metrics

    def route(path: str, method: str = "GET") -> Callable[[Handler], Handler]:
        """Register a handler that counts, times and turns Shipyard errors into 4xx bodies."""
        requests, errors = metrics.requests, metrics.errors
        latency = metrics.latency.labels(path)
        ok = requests.labels(path, "200")

        def wrap(fn: Handler) -> Handler:
            async def handler(request: Request) -> Response:
                started = time.perf_counter()
                try:
                    response = await fn(request)
                except ShipyardError as exc:
                    response = _error(exc)
                    errors.labels(path, str(response.status_code), exc.code).inc()
                except Exception as exc:  # a model that crashed on conforming input
                    log.exception("%s failed", path)
                    response = _json({"error": f"the model failed: {exc}", "code": "internal"}, 500)
                    errors.labels(path, "500", "internal").inc()
                code = response.status_code
                (ok if code == 200 else requests.labels(path, str(code))).inc()
                latency.observe(time.perf_counter() - started)
                return response

            handler.__doc__ = fn.__doc__
            app.add_api_route(
                path,
                handler,
                methods=[method],
                name=f"{method} {path}",
                summary=(fn.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ") or None,
                openapi_extra=extra_for(method, path),
            )
            return fn

        return wrap

    @route("/v2/health/live")
    async def live(request: Request) -> Response:
        """Liveness: answers as soon as the process serves HTTP."""
        return _json({"live": True})

    @route("/v2/health/ready")
    async def ready(request: Request) -> Response:
        """Readiness: 200 once the model is loaded and warmed up, 503 before and while
        draining."""
        is_ready = state.service.ready and not state.draining
        body: dict[str, Any] = {"ready": is_ready}
        if state.service.error:
            body["error"] = state.service.error
        return _json(body, 200 if is_ready else 503)

    @route("/healthz")
    async def healthz(request: Request) -> Response:
        """Liveness, under the name Kubernetes probes often use."""
        return _json({"status": "ok"})

    @route("/readyz")
    async def readyz(request: Request) -> Response:
        """Readiness with the details: the versions loaded, and per reference whether it
        still resolves in the registry (a loaded version keeps answering when it does not:
        still ready, with the problem and since when)."""
        is_ready = state.service.ready and not state.draining
        body: dict[str, Any] = {
            "ready": is_ready,
            "draining": state.draining,
            "model": state.service.name,
            "tracks": state.service.status(),
        }
        if state.service.error:
            body["error"] = state.service.error
        return _json(body, 200 if is_ready else 503)

    @route("/v2")
    async def server_metadata(request: Request) -> Response:
        """V2 server metadata, with the protocol extensions supported."""
        return _json({"name": "shipyard", "version": _VERSION, "extensions": _V2_EXTENSIONS})

    async def model_metadata(request: Request) -> Response:
        """V2 model metadata: inputs from the signature, and the outputs."""
        params = request.path_params
        served = state.service.find(params["name"], params.get("version"))
        versions = sorted(
            {
                str(t.current.version)
                for t in (state.service.primary, state.service.challenger)
                if t and t.current
            }
        )
        return _json(
            {
                "name": served.name,
                "versions": versions,
                "platform": f"shipyard-{served.model.metadata.flavor}",
                "inputs": served.plan.metadata(),
                "outputs": served.outputs(),
                "parameters": {"alias": served.alias, "version": served.version},
            }
        )

    async def model_ready(request: Request) -> Response:
        """V2 model readiness."""
        params = request.path_params
        state.service.find(params["name"], params.get("version"))
        is_ready = state.service.ready and not state.draining
        return _json({"name": params["name"], "ready": is_ready}, 200 if is_ready else 503)

    async def infer(request: Request) -> Response:
        """V2 inference: JSON or binary tensors in, the predictions out (with
        ``parameters.proba``, a classifier's labels and probabilities as well)."""
        params = request.path_params
        body = await state.body(request)
        parsed = decode_request(body, request.headers.get(HEADER))
        asked = parsed.parameters.get("proba")
        want = PROBA_OUTPUT in parsed.binary_outputs or wants_proba(
            asked, config.proba, "parameters.proba"
        )
        served, outputs, pid = await state.predict(
            params["name"], params.get("version"), parsed.inputs
        )
        labels, proba = split(outputs, want, served.model.metadata.ref, "parameters.proba")
        tensors = [(LABEL_OUTPUT, output_tensor(LABEL_OUTPUT, labels))]
        extra: dict[str, Any] = {"prediction_id": pid}
        if proba is not None:
            tensors.append((PROBA_OUTPUT, proba.proba))
            extra["classes"] = proba.classes
        payload, header_length = encode_response(
            parsed, served.name, str(served.version), tensors, extra
        )
        headers = {"x-prediction-id": pid}
        if header_length is None:
            return Response(payload, media_type=JSON, headers=headers)
        headers["Inference-Header-Content-Length"] = str(header_length)
        return Response(payload, media_type="application/octet-stream", headers=headers)

    async def labels(request: Request) -> Response:
        """Ground truth for earlier predictions, by prediction id."""
        state.service.find(request.path_params["name"])
        doc = loads(await state.body(request))
        if (
            not isinstance(doc, dict)
            or not isinstance(doc.get("ids"), list)
            or not isinstance(doc.get("labels"), list)
        ):
            raise InvalidArgument(
                'the body is {"ids": [...], "labels": [...], "rows": [...]?}', field="body"
            )
        rows = doc.get("rows")
        if rows is not None and not (
            isinstance(rows, list) and all(isinstance(r, int) for r in rows)
        ):
            raise InvalidArgument("'rows' must be a list of integers", field="rows")
        written = await asyncio.to_thread(
            log_labels,
            doc["ids"],
            doc["labels"],
            rows=rows,
            settings=state.settings,
            log_uri=config.log_uri,
        )
        return _json({"written": written})

    for prefix in ("/v2/models/{name}", "/v2/models/{name}/versions/{version}"):
        route(prefix)(model_metadata)
        route(f"{prefix}/ready")(model_ready)
        route(f"{prefix}/infer", "POST")(infer)
    route("/v2/models/{name}/labels", "POST")(labels)

    @route("/predict", "POST")
    async def predict(request: Request) -> Response:
        """Predictions for JSON records or columns (``?proba=true``: with a classifier's
        probabilities)."""
        want = wants_proba(request.query_params.get("proba"), config.proba, "proba")
        doc = loads(await state.body(request))
        served, outputs, pid = await state.predict(state.service.name, None, None, doc)
        labels, proba = split(outputs, want, served.model.metadata.ref, "proba")
        answer: dict[str, Any] = {"predictions": _values(output_tensor(LABEL_OUTPUT, labels))}
        if proba is not None:
            answer["probabilities"] = proba.proba
            answer["classes"] = proba.classes
        answer.update(prediction_id=pid, model=served.name, version=served.version)
        return _json(answer, headers={"x-prediction-id": pid})

    add_mlflow_scoring(route, state)

    @route("/metrics")
    async def prometheus(request: Request) -> Response:
        """Prometheus metrics (summed over workers)."""
        metrics.queue_depth.labels(state.service.name).set(state.service.depth())
        payload, content_type = metrics.payload()
        return Response(payload, media_type=content_type)

    return app
