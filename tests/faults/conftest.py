"""Fixtures of the fault tests: an S3 endpoint that fails on purpose, stores on servers the
test may stop (``restartable_postgres`` and ``restartable_redis`` come from
tests/support/services.py), a child process whose files cannot grow (a full disk), and a
logging load with the checks every database fault test makes of the run it logged to
(``logging_load``, ``tracked``, ``check_logged_run``).

The faulty S3 endpoint is the ``fault_proxy`` of tests/support/proxy.py in front of the moto
server: for a seeded share of requests it answers ``500 InternalError`` (as S3 does under
load) or holds the request longer than the client's read timeout before answering, and
forwards the rest.
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np
import pytest
from sqlalchemy.engine import make_url

import shipyard
from shipyard.config import Settings, redact_url
from shipyard.errors import ServiceUnavailable
from shipyard.tracking import Client, _fluent
from shipyard.tracking._run import active_stack
from tests.support.proxy import Answer
from tests.support.services import S3Endpoint

_S3_ERROR = Answer(
    500,
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
    b"<Message>We encountered an internal error. Please try again.</Message></Error>",
    {"Content-Type": "application/xml"},
)


@dataclass
class FaultyS3:
    """A proxy to the test S3 server that fails a share of requests; set the shares at will.

    ``error_share`` of requests get a 500, ``stall_share`` are held ``stall_seconds`` before
    they are forwarded (longer than the client's read timeout: the client gives up first).
    ``down`` answers every request with a 500. ``plan`` lists the fates of the next requests
    (``"error"``, ``"stall"`` or ``"forward"``), used before the shares. Counters say what was
    done.
    """

    endpoint_url: str
    error_share: float = 0.0
    stall_share: float = 0.0
    stall_seconds: float = 3.0
    down: bool = False
    plan: list[str] = field(default_factory=list)
    requests: int = 0
    errors: int = 0
    stalls: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(14))
    lock: threading.Lock = field(default_factory=threading.Lock)
    error: Answer = _S3_ERROR

    def fate(self, method: str = "", path: str = "") -> str:
        """What to do with the next request: ``"error"``, ``"stall"`` or ``"forward"``."""
        with self.lock:
            self.requests += 1
            if self.down:
                fate = "error"
            elif self.plan:
                fate = self.plan.pop(0)
            else:
                draw = self.rng.random()
                shares = (("error", self.error_share), ("stall", self.stall_share))
                fate = "forward"
                for name, share in shares:
                    if draw < share:
                        fate = name
                        break
                    draw -= share
            self.errors += fate == "error"
            self.stalls += fate == "stall"
            return fate

    def settings_env(self, endpoint: S3Endpoint) -> dict[str, str]:
        """The environment a Shipyard process needs to use this endpoint."""
        return {
            "AWS_ACCESS_KEY_ID": endpoint.access_key,
            "AWS_SECRET_ACCESS_KEY": endpoint.secret_key,
            "AWS_DEFAULT_REGION": endpoint.region,
            "SHIPYARD_S3_ENDPOINT_URL": self.endpoint_url,
        }


@pytest.fixture
def faulty_s3(s3_endpoint: S3Endpoint, fault_proxy: Any) -> FaultyS3:
    """A fault-injecting proxy to the session's S3 server (no faults until the test sets
    them); stopped after the test."""
    faults = FaultyS3("")
    faults.endpoint_url = fault_proxy(s3_endpoint.endpoint_url, faults).url
    return faults


@dataclass(frozen=True)
class Outcome:
    """How a child process ended: its exit code and what it printed."""

    returncode: int
    stdout: str
    stderr: str


def _run_capped(script: Path, limit_bytes: int, env: dict[str, str], *args: str) -> Outcome:
    """Run ``script`` in a child Python whose files cannot grow past ``limit_bytes``
    (``RLIMIT_FSIZE``: every write past it fails with EFBIG, as on a full disk; the signal
    that would kill the process instead is ignored)."""
    prelude = (
        "import resource, runpy, signal, sys; "
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit_bytes}, {limit_bytes})); "
        "sys.argv = sys.argv[1:]; "
        "runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    done = subprocess.run(
        [sys.executable, "-c", prelude, str(script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="session")
def run_capped() -> Any:
    """Runs a script in a child process whose files cannot grow past a size (a full disk):
    ``run_capped(script, limit_bytes, env, *args) -> Outcome``."""
    return _run_capped


@dataclass(kw_only=True)
class BackgroundLoad:
    """A unit of work (``step``) repeated in a background thread until stopped; ``errors``
    holds what the steps raised."""

    errors: list[Exception] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def step(self) -> None:
        """One unit of work (errors are the step's to record)."""
        raise NotImplementedError

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.step()

    def start(self) -> Self:
        """Start working in a background thread."""
        name = type(self).__name__
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the current step and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(180)


@dataclass
class LoggingLoad(BackgroundLoad):
    """Logging to one run as a training loop does.

    Each step logs ``loss`` through the metric buffer (the background flush retries what it
    could not write) and, synchronously, one ``log_batch`` of metric ``acc`` with param
    ``p<step>`` (one transaction: both or neither). ``returned`` holds the steps whose
    ``log_batch`` returned normally.
    """

    client: Any
    run_id: str
    steps: int = 0
    returned: list[int] = field(default_factory=list)

    def step(self) -> None:
        step = self.steps
        try:
            self.client.log_metric(self.run_id, "loss", 1.0 / (step + 1), step=step)
        except Exception as exc:
            self.errors.append(exc)
        try:
            self.client.log_batch(
                self.run_id, metrics=[("acc", step / 1e6, step)], params={f"p{step}": step}
            )
            self.returned.append(step)
        except Exception as exc:
            self.errors.append(exc)
            time.sleep(0.05)
        self.steps += 1
        time.sleep(0.005)


@dataclass
class RegisteringLoad(BackgroundLoad):
    """Registering versions of model ``name`` through the module-level API: linear models of
    ever larger slopes; ``slopes`` maps each version whose registration returned to its
    model's slope."""

    name: str
    slopes: dict[int, float] = field(default_factory=dict)
    _slope: float = 1.0

    def step(self) -> None:
        from sklearn.linear_model import LinearRegression

        self._slope += 1
        x = np.arange(20, dtype="float64").reshape(-1, 1)
        model = LinearRegression().fit(x, self._slope * x.ravel())
        try:
            version = shipyard.register_model(model, self.name)
            self.slopes[version.version] = self._slope
        except Exception as exc:
            self.errors.append(exc)
            time.sleep(0.1)


@pytest.fixture
def background_loads() -> Iterator[list[BackgroundLoad]]:
    """Loads the test starts are stopped after it, whatever happened."""
    loads: list[BackgroundLoad] = []
    yield loads
    for load in loads:
        load.stop()


@pytest.fixture
def logging_load(background_loads: list[BackgroundLoad]) -> Any:
    """Starts a :class:`LoggingLoad` on a tracking Client and run: ``logging_load(client,
    run_id)``; the test stops it."""

    def start(client: Any, run_id: str) -> LoggingLoad:
        load = LoggingLoad(client, run_id).start()
        background_loads.append(load)
        return load

    return start


@pytest.fixture
def registering_load(background_loads: list[BackgroundLoad]) -> Any:
    """Starts a :class:`RegisteringLoad` of model ``name`` on the configured client:
    ``registering_load(name)``; the test stops it."""

    def start(name: str) -> RegisteringLoad:
        load = RegisteringLoad(name).start()
        background_loads.append(load)
        return load

    return start


@pytest.fixture
def tracked(restartable_postgres_db_url: str) -> Iterator[Any]:
    """Starts a run through the module-level API on ``settings`` and returns (client, run id):
    ``tracked(settings)``; runs left open are ended and the default client is closed after."""

    def start(settings: Settings) -> tuple[Client, str]:
        client = _fluent.configure(settings)
        run = shipyard.start_run(name="under-restart")
        return client, run.id

    yield start
    for run in reversed(list(active_stack())):
        run.end("KILLED")
    if _fluent._default is not None:
        _fluent._default.close()
        _fluent._default = None


def _check_logged_run(client: Client, run_id: str, load: LoggingLoad, db_url: str) -> None:
    """What every database fault test proves about the run ``load`` logged to: only clear
    errors (naming the database, never its password), then the run ends FINISHED holding
    every buffered point exactly once and each ``log_batch`` whole or not at all."""
    password = make_url(db_url).password
    assert password
    for error in load.errors:
        assert isinstance(error, ServiceUnavailable), repr(error)
        assert redact_url(db_url) in error.message, error.message
        assert password not in error.message
    shipyard.end_run()
    run = client.get_run(run_id)
    assert run.status == "FINISHED"
    # every buffered point is stored exactly once, the outage notwithstanding
    loss = [p.step for p in client.get_metric_history(run_id, "loss")]
    assert sorted(loss) == list(range(load.steps))
    # each log_batch is one transaction: its metric and its param are both stored or neither
    acc = {p.step for p in client.get_metric_history(run_id, "acc")}
    params = {int(key[1:]) for key in run.params}
    assert acc == params
    assert set(load.returned) <= acc  # every call that returned normally was kept


@pytest.fixture
def check_logged_run() -> Any:
    """Checks the run a :class:`LoggingLoad` logged to, after the fault and its end:
    ``check_logged_run(client, run_id, load, db_url)``."""
    return _check_logged_run
