"""Running the model server: uvicorn on a TCP_NODELAY socket, one BLAS thread per worker.

Every accepted connection gets ``TCP_NODELAY`` (a keep-alive request would otherwise wait
~40 ms for the client's delayed ACK when the response goes out in two writes): the listening
socket is created as TCP with it set (accepted sockets inherit it on Linux) and each
connection sets it again. BLAS/OpenMP pools get one thread per worker through the
environment before numpy loads in a worker, and through threadpoolctl at start-up.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Callable, Iterator
from typing import Any

from shipyard import _uvicorn
from shipyard._uvicorn import THREAD_ENV, bind_socket
from shipyard.errors import ConfigError
from shipyard.serving._config import ServingConfig

_REF_ENV = "SHIPYARD_SERVE_REF"
_CONFIG_ENV = "SHIPYARD_SERVE_CONFIG"


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket with TCP_NODELAY, shared by the worker processes."""
    return bind_socket(host, port)


def uvicorn_options() -> dict[str, Any]:
    """The uvicorn settings every model server uses."""
    return {
        **_uvicorn.protocol_options(),
        "access_log": False,
        "timeout_keep_alive": 30,
        "timeout_graceful_shutdown": 30,
        "server_header": False,
        "lifespan": "on",
    }


def _config_to_env(config: ServingConfig) -> str:
    import dataclasses

    import orjson

    values = {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(config)
        if f.name != "feature_source"
    }
    return orjson.dumps(values).decode()


def app_from_env() -> Any:
    """The app of a worker process (reference and options from the environment)."""
    import orjson

    from shipyard.serving._app import create_app
    from shipyard.serving._startup import report_worker_failure

    config = ServingConfig(**orjson.loads(os.environ.get(_CONFIG_ENV, "{}")))
    return create_app(os.environ[_REF_ENV], config, on_failed_start=report_worker_failure)


def serve(
    ref: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    config: ServingConfig | None = None,
    *,
    log_level: str = "info",
    announce: Callable[[str], Any] | None = None,
) -> None:
    """Serve a registered model until interrupted (SIGINT/SIGTERM drain in-flight requests
    first). A reference that does not resolve is a NotFound (naming the nearest names)
    before anything starts; a model that fails to load at start stops the server and is a
    ServiceUnavailable with the reason.

    Args:
        ref: The model: ``NAME@ALIAS`` (followed as the alias moves), ``NAME/VERSION``, or a
            model folder.
        host: The address to listen on.
        port: The TCP port.
        workers: Worker processes sharing the socket (at least 1); each loads the model.
        config: Batching, limits, rollouts and the prediction log (:class:`ServingConfig`).
        log_level: uvicorn's log level: ``debug``, ``info``, ``warning`` or ``error``.
        announce: Called with the server's URL once the reference is checked and the port
            is bound (what `shipyard serve` prints).
    """
    from shipyard.serving._deployment import ADDRESS_ENV, ID_ENV, mark_stopped, new_deployment_id
    from shipyard.serving._startup import StartFailure, check_reference

    config = config or ServingConfig()
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}", field="workers")
    check_reference(ref)
    for name in THREAD_ENV:
        os.environ.setdefault(name, str(config.threads))
    os.environ[_REF_ENV] = ref
    os.environ[_CONFIG_ENV] = _config_to_env(config)
    sock = listen(host, port)
    address = f"http://{host}:{sock.getsockname()[1]}"
    os.environ[ADDRESS_ENV] = address
    deployment = None  # one worker, in this process, records (and stops) its deployment
    if workers > 1:  # the workers share one, marked stopped here once they have all exited
        deployment = os.environ[ID_ENV] = new_deployment_id()
    if announce is not None:
        announce(address)
    options = {**uvicorn_options(), "log_level": log_level}
    failure = StartFailure(workers)

    def app() -> Any:  # imported only where it runs: the supervisor of workers never needs it
        from shipyard.serving._app import create_app

        return create_app(ref, config, on_failed_start=failure.record)

    hide_main = _workers_skip_main() if workers > 1 else contextlib.nullcontext()
    try:
        with failure.watching(), hide_main:
            _uvicorn.run(
                sock,
                workers,
                options,
                app=app,
                factory="shipyard.serving._run:app_from_env",
                metrics_prefix="shipyard-serve-metrics-",
            )
    finally:
        if deployment is not None:
            mark_stopped(deployment)
        for name in (ID_ENV, ADDRESS_ENV):
            os.environ.pop(name, None)
    failure.raise_if_failed(ref)


@contextlib.contextmanager
def _workers_skip_main() -> Iterator[None]:
    """Spawned workers re-import the parent's ``__main__`` before anything else (how
    multiprocessing's spawn prepares a child): for `shipyard serve` that is the whole command
    line (every command module) in each worker, seconds of start-up for nothing. A worker
    needs only the app factory, which it imports by name, so while workers are started the
    main module is hidden from spawn (no ``__file__``, no ``__spec__``) and put back after."""
    main = sys.modules.get("__main__")
    keys = ("__file__", "__spec__")
    saved: dict[str, Any] = {k: main.__dict__[k] for k in keys if main and k in main.__dict__}
    if main is not None:
        main.__dict__.pop("__file__", None)
        main.__spec__ = None
    try:
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)
