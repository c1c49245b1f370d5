"""Pytest plugin that starts real, throwaway servers for the "team" column of the test matrix.

Registered from ``tests/conftest.py`` with ``pytest_plugins = ["tests.support.services"]``.

Session-scoped fixtures (one server per xdist worker, each on its own free port and temp dir):

* ``postgres_url`` -- ``postgresql+psycopg://...`` URL of a PostgreSQL cluster started from the
  system binaries (as an unprivileged user when the tests run as root);
* ``s3_endpoint`` -- :class:`S3Endpoint` of an in-process moto S3 server;
* ``redis_url`` -- ``redis://127.0.0.1:PORT/0`` of a ``redis-server`` without persistence.

Function-scoped fixtures: ``postgres_db_url`` (a fresh, empty database per test),
``migrated_postgres_db_url`` (a fresh database already at Shipyard's schema, copied from the
session's ``postgres_template``) and ``s3_bucket`` (a fresh, uniquely named bucket per test).
Module-scoped: ``restartable_postgres`` and ``restartable_redis``, servers of the test
module's own, each a :class:`RestartableServer` its tests may stop and start again on the same
port (the fault tests), and per test ``restartable_postgres_db_url`` (a fresh database there).

When a server binary or its Python client is missing the fixture skips the test, naming what is
missing and how to install it -- unless ``SHIPYARD_REQUIRE_SERVICES=1``, in which case it fails,
so CI can never skip silently. Overrides: ``SHIPYARD_PG_BINDIR`` (directory holding ``initdb``
and ``postgres``) and ``SHIPYARD_REDIS_SERVER`` (path of the ``redis-server`` binary).
"""

from __future__ import annotations

import contextlib
import glob
import importlib
import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import pytest
from sqlalchemy.engine import URL, make_url

__all__ = [
    "REQUIRE_SERVICES_ENV",
    "RestartableServer",
    "S3Endpoint",
    "ServiceStartError",
    "migrated_postgres_db_url",
    "postgres_db_url",
    "postgres_template",
    "postgres_url",
    "redis_url",
    "restartable_postgres",
    "restartable_postgres_db_url",
    "restartable_redis",
    "s3_bucket",
    "s3_endpoint",
    "service_unavailable",
]

log = logging.getLogger(__name__)

#: Set to ``1`` to turn "service unavailable" skips into failures (CI does this).
REQUIRE_SERVICES_ENV = "SHIPYARD_REQUIRE_SERVICES"
PG_BINDIR_ENV = "SHIPYARD_PG_BINDIR"
REDIS_SERVER_ENV = "SHIPYARD_REDIS_SERVER"

STARTUP_TIMEOUT_S = 120.0  # a deadline, reached only on a badly loaded machine
STOP_TIMEOUT_S = 10.0
_POLL_INTERVAL_S = 0.05
_LOG_TAIL_LINES = 60
_HOST = "127.0.0.1"
_FALLBACK_PG_USER = "shipyard-pg"

# Markers this plugin adds to every test that uses one of its fixtures, so `-m "not postgres"`
# works even for a test that forgot the decorator. `postgres` and `s3` are declared in
# pyproject.toml; `redis` is declared here (the suite runs with --strict-markers).
_FIXTURE_MARKERS = {
    "postgres_url": "postgres",
    "postgres_db_url": "postgres",
    "migrated_postgres_db_url": "postgres",
    "s3_endpoint": "s3",
    "s3_bucket": "s3",
    "redis_url": "redis",
    "restartable_postgres": "postgres",
    "restartable_postgres_db_url": "postgres",
    "restartable_redis": "redis",
}


class ServiceStartError(RuntimeError):
    """A throwaway server was present but did not start; the message carries its log."""


# --------------------------------------------------------------------------------------------
# pytest hooks
# --------------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``redis`` marker (the others are declared in pyproject.toml)."""
    config.addinivalue_line("markers", "redis: needs a Redis server (started by the tests)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a service fixture with that service's marker."""
    for item in items:
        for fixture in getattr(item, "fixturenames", ()):
            marker = _FIXTURE_MARKERS.get(fixture)
            if marker is not None and item.get_closest_marker(marker) is None:
                item.add_marker(marker)


# --------------------------------------------------------------------------------------------
# Shared helpers: the skip/require policy, ports, temp dirs, process supervision
# --------------------------------------------------------------------------------------------


def service_unavailable(message: str) -> NoReturn:
    """Skip the requesting test because a service prerequisite is missing.

    With ``SHIPYARD_REQUIRE_SERVICES=1`` the test fails instead, with the same message, so that a
    CI machine lacking a server can never turn the "team" tests into silent skips.
    """
    if os.environ.get(REQUIRE_SERVICES_ENV) == "1":
        pytest.fail(f"{message} [{REQUIRE_SERVICES_ENV}=1 forbids skipping]", pytrace=False)
    pytest.skip(message)


def _import_client(module: str, install_hint: str) -> ModuleType:
    """Import a service's Python client, or apply the skip/require policy if it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        service_unavailable(f"Python package {module!r} is not importable ({exc}); {install_hint}")


def _free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago (callers retry on a clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        return int(sock.getsockname()[1])


def _make_temp_dir(service: str) -> Path:
    """Create a private temp dir whose name says which service and xdist worker owns it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return Path(tempfile.mkdtemp(prefix=f"shipyard-{service}-{worker}-"))


def _log_tail(log_path: Path) -> str:
    """Return the last lines of a server log for an error message."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"<could not read {log_path}: {exc}>"
    return "\n".join(lines[-_LOG_TAIL_LINES:]) or "<empty>"


@dataclass(frozen=True)
class _Account:
    """An unprivileged account to run a server as (used only when the tests run as root)."""

    name: str
    uid: int
    gid: int

    def popen_kwargs(self) -> dict[str, Any]:
        """Keyword arguments that make ``subprocess`` drop privileges to this account."""
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


@dataclass
class _ServerProcess:
    """A running server subprocess with its log file and how to stop it."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    stop_signal: signal.Signals

    def stop(self) -> None:
        """Ask the server to stop, then kill it if it has not exited in time."""
        if self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(self.stop_signal)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.warning(
                "%s (pid %d) ignored %s; killing it",
                self.name,
                self.proc.pid,
                self.stop_signal.name,
            )
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT_S)


def _run_checked(argv: list[str], *, what: str, cwd: Path, account: _Account | None) -> None:
    """Run a short setup command (e.g. initdb); raise with its output if it fails."""
    kwargs = account.popen_kwargs() if account else {}
    result = subprocess.run(
        argv,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=STARTUP_TIMEOUT_S,
        check=False,
        **kwargs,
    )
    if result.returncode != 0:
        output = result.stdout.decode(errors="replace")
        raise ServiceStartError(f"{what} failed (exit {result.returncode}): {argv}\n{output}")


def _start_server(
    name: str,
    argv_for_port: Callable[[int], list[str]],
    is_ready: Callable[[_ServerProcess], bool],
    *,
    workdir: Path,
    account: _Account | None = None,
    stop_signal: signal.Signals = signal.SIGTERM,
    attempts: int = 3,
    port: int | None = None,
) -> _ServerProcess:
    """Start a server on a free port (or on ``port``: a restart) and wait until ``is_ready``
    says it answers.

    ``is_ready`` must check that the answering server is *this* process (another xdist worker
    may have grabbed the same port first); it is called repeatedly and must not raise. If the
    server exits during startup (typically: the port was taken meanwhile) it is retried on a
    new port (on ``port`` again, for a restart). Output goes to ``workdir/<name>.log``, quoted
    in any error.
    """
    log_path = workdir / f"{name}.log"
    fixed_port = port
    for _ in range(attempts):
        port = _free_port() if fixed_port is None else fixed_port
        with log_path.open("ab") as log_file:
            proc = subprocess.Popen(
                argv_for_port(port),
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # no Ctrl-C: we stop it
                **(account.popen_kwargs() if account else {}),
            )
        server = _ServerProcess(name, proc, port, log_path, stop_signal)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while proc.poll() is None:
            if is_ready(server):
                return server
            if time.monotonic() > deadline:
                server.stop()
                raise ServiceStartError(
                    f"{name} did not become ready within {STARTUP_TIMEOUT_S:.0f}s on port "
                    f"{port}; log {log_path}:\n{_log_tail(log_path)}"
                )
            time.sleep(_POLL_INTERVAL_S)
        log.warning(
            "%s exited with %s during startup on port %d; retrying", name, proc.returncode, port
        )
    raise ServiceStartError(
        f"{name} exited during startup {attempts} times (last exit code {proc.returncode}); "
        f"log {log_path}:\n{_log_tail(log_path)}"
    )


class RestartableServer:
    """A running throwaway server that a test may stop and start again on the same port, to
    prove how clients behave while it is down and after it is back (the fault tests).

    ``url`` is what clients connect to; it stays valid across restarts.
    """

    def __init__(self, start: Callable[[int | None], _ServerProcess]) -> None:
        self._start = start
        self._server = start(None)
        self.port = self._server.port
        self.url = ""

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self._server.proc.poll() is None

    def stop(self) -> None:
        """Stop the server the way an operator would (its stop signal, then SIGKILL)."""
        self._server.stop()

    def start(self) -> None:
        """Start the server again on its port (a no-op while it runs)."""
        if not self.running:
            self._server = self._start(self.port)

    def crash(self) -> None:
        """Kill the server and every process it started with SIGKILL, as a crash or the OOM
        killer would: no shutdown of any kind (PostgreSQL recovers from its WAL on the next
        start). Its children are found and killed one by one: PostgreSQL's backends lead
        process groups of their own, so killing the server's group would leave them running
        (and answering) until they noticed their postmaster was gone."""
        import psutil

        proc = self._server.proc
        children: list[psutil.Process] = []
        with contextlib.suppress(ProcessLookupError, psutil.NoSuchProcess):
            os.kill(proc.pid, signal.SIGSTOP)  # starts no new child while they are listed
            children = psutil.Process(proc.pid).children(recursive=True)
            for child in children:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_TIMEOUT_S)
        psutil.wait_procs(children, timeout=STOP_TIMEOUT_S)

    def pause(self) -> None:
        """Freeze the server with SIGSTOP: it keeps its connections and its port, and
        answers nothing (a hung server) until ``resume``."""
        os.kill(self._server.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server run again (SIGCONT; harmless when it is not paused)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._server.proc.pid, signal.SIGCONT)


# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------

_PG_INSTALL_HINT = (
    "install the server with `apt-get install postgresql` (Debian/Ubuntu) or point "
    f"{PG_BINDIR_ENV} at the directory holding initdb and postgres"
)
_PG_SETTINGS = {  # throwaway cluster: durability off, loopback TCP only
    "listen_addresses": _HOST,
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


def _version_key(bindir: str) -> tuple[int, ...]:
    """Sort key for ``/usr/lib/postgresql/<version>/bin`` paths: numeric version."""
    return tuple(int(part) for part in re.findall(r"\d+", Path(bindir).parent.name))


def _postgres_bindir() -> Path:
    """Find the newest PostgreSQL server binaries, or apply the skip/require policy."""
    override = os.environ.get(PG_BINDIR_ENV)
    if override:
        candidates = [override]
    else:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
        if pg_config := shutil.which("pg_config"):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                candidates.append(
                    subprocess.run(
                        [pg_config, "--bindir"],
                        capture_output=True,
                        text=True,
                        check=True,
                    ).stdout.strip()
                )
        if initdb := shutil.which("initdb"):
            candidates.append(str(Path(initdb).parent))
    for candidate in candidates:
        bindir = Path(candidate)
        if all(os.access(bindir / exe, os.X_OK) for exe in ("initdb", "postgres")):
            return bindir
    searched = ", ".join(candidates) or "/usr/lib/postgresql/*/bin, pg_config --bindir, PATH"
    service_unavailable(
        f"PostgreSQL server binaries (initdb, postgres) not found in {searched}; {_PG_INSTALL_HINT}"
    )


def _postgres_account() -> _Account | None:
    """Return the unprivileged account to run PostgreSQL as; ``None`` means "as myself".

    PostgreSQL refuses to run as root. As root, use the ``postgres`` system user, else a
    ``shipyard-pg`` system user, creating it if needed (parallel workers may race to create it,
    so look it up again whatever ``useradd`` says).
    """
    if os.geteuid() != 0:
        return None
    for name in ("postgres", _FALLBACK_PG_USER):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return _Account(name, entry.pw_uid, entry.pw_gid)
    useradd = subprocess.run(
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            _FALLBACK_PG_USER,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        entry = pwd.getpwnam(_FALLBACK_PG_USER)
    except KeyError:
        raise ServiceStartError(
            f"running as root and no unprivileged user to run PostgreSQL as; `useradd "
            f"{_FALLBACK_PG_USER}` said: {useradd.stderr.strip()}"
        ) from None
    return _Account(_FALLBACK_PG_USER, entry.pw_uid, entry.pw_gid)


def _psycopg_conninfo(url: URL, dbname: str) -> dict[str, Any]:
    """psycopg connection keywords for ``dbname`` on the server of a SQLAlchemy URL."""
    return {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": dbname,
        "connect_timeout": 5,
    }


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL ``postgresql+psycopg://shipyard:<pw>@127.0.0.1:<port>/shipyard`` of a throwaway cluster.

    The cluster (one per xdist worker) runs from the system binaries in a temp dir, as the
    ``postgres`` user when the tests run as root, with fsync/synchronous_commit/
    full_page_writes off, on a free loopback port with its unix socket inside the temp dir.
    The ``shipyard`` database is shared by the whole session; use ``postgres_db_url`` for a
    fresh one per test. Stopped and deleted at the end of the session.
    """
    with _postgres_cluster() as cluster:
        yield cluster.url


@pytest.fixture(scope="module")
def restartable_postgres() -> Iterator[RestartableServer]:
    """A PostgreSQL cluster of the test module's own (set up like ``postgres_url``'s), which
    its tests may stop and start; ``url`` names its ``shipyard`` database. Use
    ``restartable_postgres_db_url`` for a fresh database per test."""
    with _postgres_cluster() as cluster:
        yield cluster


@pytest.fixture
def restartable_postgres_db_url(restartable_postgres: RestartableServer) -> Iterator[str]:
    """URL of a fresh, empty database on ``restartable_postgres``; the cluster is running
    again after the test, whatever the test left it in."""
    with _fresh_database(restartable_postgres.url) as url:
        try:
            yield url
        finally:
            restartable_postgres.start()


@contextlib.contextmanager
def _postgres_cluster() -> Iterator[RestartableServer]:
    """A new cluster with an empty ``shipyard`` database; stopped and deleted after."""
    psycopg = _import_client("psycopg", "install the extra: `uv sync --extra postgres`")
    bindir = _postgres_bindir()
    account = _postgres_account()
    workdir = _make_temp_dir("pg")
    server: RestartableServer | None = None
    try:
        datadir = workdir / "data"
        password = secrets.token_hex(16)  # unique: a probe can't log in to another worker's
        pwfile = workdir / "pwfile"
        pwfile.write_text(password + "\n")
        if account is not None:
            for path in (workdir, pwfile):
                os.chown(path, account.uid, account.gid)
        _run_checked(
            [
                str(bindir / "initdb"),
                "--pgdata",
                str(datadir),
                "--username",
                "shipyard",
                "--pwfile",
                str(pwfile),
                "--auth-local",
                "trust",
                "--auth-host",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ],
            what="initdb",
            cwd=workdir,
            account=account,
        )
        settings = {**_PG_SETTINGS, "unix_socket_directories": str(workdir)}
        options = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
        portless = URL.create(
            "postgresql+psycopg", username="shipyard", password=password, host=_HOST
        )

        def is_ready(candidate: _ServerProcess) -> bool:
            conninfo = _psycopg_conninfo(portless.set(port=candidate.port), "postgres")
            try:
                with psycopg.connect(**conninfo) as conn:
                    row = conn.execute("SHOW data_directory").fetchone()
            except psycopg.Error:
                return False
            return row is not None and Path(row[0]).resolve() == datadir.resolve()

        server = RestartableServer(
            lambda port: _start_server(
                "postgres",
                lambda port: [
                    str(bindir / "postgres"),
                    "-D",
                    str(datadir),
                    "-p",
                    str(port),
                    *options,
                ],
                is_ready,
                workdir=workdir,
                account=account,
                stop_signal=signal.SIGINT,  # fast stop
                port=port,
            )
        )
        url = portless.set(port=server.port, database="shipyard")
        with psycopg.connect(**_psycopg_conninfo(url, "postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE shipyard")
        server.url = url.render_as_string(hide_password=False)
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def postgres_db_url(postgres_url: str) -> Iterator[str]:
    """URL of a fresh, empty database ``test_<uuid>`` on the session's cluster, dropped after.

    The drop uses ``WITH (FORCE)`` so connections a test leaked do not keep it alive; a failed
    drop is logged, never raised.
    """
    with _fresh_database(postgres_url) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_template(postgres_url: str) -> str:
    """Name of a database on the session's cluster migrated to Shipyard's newest schema, kept
    as a template: copying it is a file copy, where migrating an empty database is seconds of
    Alembic per test."""
    from shipyard.store import get_engine

    psycopg = _import_client("psycopg", "install the extra: `uv sync --extra postgres`")
    name = "shipyard_template"
    server_url = make_url(postgres_url)
    with psycopg.connect(**_psycopg_conninfo(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    get_engine(server_url.set(database=name).render_as_string(hide_password=False)).dispose()
    return name


@pytest.fixture
def migrated_postgres_db_url(postgres_url: str, postgres_template: str) -> Iterator[str]:
    """Like ``postgres_db_url``, but already at Shipyard's newest schema (a copy of
    ``postgres_template``)."""
    with _fresh_database(postgres_url, template=postgres_template) as url:
        yield url


@contextlib.contextmanager
def _fresh_database(postgres_url: str, *, template: str | None = None) -> Iterator[str]:
    """A new database ``test_<uuid>`` (empty, or a copy of ``template``), dropped after."""
    psycopg = _import_client("psycopg", "install the extra: `uv sync --extra postgres`")
    sql = psycopg.sql
    server_url = make_url(postgres_url)
    name = f"test_{uuid.uuid4().hex}"
    ident = sql.Identifier(name)
    admin = _psycopg_conninfo(server_url, "postgres")
    create = sql.SQL("CREATE DATABASE {}").format(ident)
    if template is not None:
        create = sql.SQL("{} TEMPLATE {}").format(create, sql.Identifier(template))
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(create)
    try:
        yield server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            with psycopg.connect(**admin, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        except psycopg.Error as exc:
            log.warning("could not drop test database %s: %s", name, exc)


# --------------------------------------------------------------------------------------------
# S3 (moto)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class S3Endpoint:
    """Where and how to reach the test S3 server. Nothing is put in the environment."""

    endpoint_url: str
    access_key: str
    secret_key: str
    region: str

    def client(self) -> Any:
        """A boto3 S3 client for this endpoint (path-style addressing, explicit credentials)."""
        boto3 = _import_client("boto3", "install the dev extra: `uv sync --extra dev`")
        botocore_config = importlib.import_module("botocore.config")
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=botocore_config.Config(s3={"addressing_style": "path"}),
        )


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[S3Endpoint]:
    """A real S3-protocol server: moto's ``ThreadedMotoServer`` on 127.0.0.1 and a free port.

    The server runs in a thread of this (worker) process and binds port 0 itself, so there is
    no port race. Moto's backend state is process-global: it is shared with, and reset by, any
    ``moto.mock_aws`` a test in the same worker uses -- use ``s3_bucket`` for per-test state.
    """
    _import_client("boto3", "install the dev extra: `uv sync --extra dev`")
    moto_server = _import_client(
        "moto.server", "install moto with its server extra: `uv sync --extra dev` (moto[server])"
    )
    server = moto_server.ThreadedMotoServer(ip_address=_HOST, port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield S3Endpoint(
            endpoint_url=f"http://{host}:{port}",
            access_key="testing",
            secret_key="testing",
            region="us-east-1",
        )
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: S3Endpoint) -> Iterator[str]:
    """Name of a fresh, uniquely named, empty bucket; emptied and deleted (best effort) after."""
    client = s3_endpoint.client()
    name = f"shipyard-test-{uuid.uuid4().hex}"
    client.create_bucket(Bucket=name)
    try:
        yield name
    finally:
        try:
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
                keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
                if keys:
                    client.delete_objects(Bucket=name, Delete={"Objects": keys})
            client.delete_bucket(Bucket=name)
        except Exception as exc:  # a versioned or already deleted bucket is fine
            log.warning("could not delete test bucket %s: %s", name, exc)


# --------------------------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------------------------


def _redis_server_binary() -> str:
    """Find ``redis-server``, or apply the skip/require policy."""
    override = os.environ.get(REDIS_SERVER_ENV)
    found = override if override else shutil.which("redis-server") or "/usr/bin/redis-server"
    if os.access(found, os.X_OK):
        return found
    service_unavailable(
        f"redis-server not found at {found}; install it with `apt-get install "
        f"redis-server` (Debian/Ubuntu) or set {REDIS_SERVER_ENV}"
    )


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL ``redis://127.0.0.1:<port>/0`` of a throwaway ``redis-server`` with no persistence."""
    with _redis_server() as server:
        yield server.url


@pytest.fixture(scope="module")
def restartable_redis() -> Iterator[RestartableServer]:
    """A ``redis-server`` of the test module's own (like ``redis_url``'s), which its tests may
    stop and start (running again after each test); its data does not survive a restart."""
    with _redis_server() as server:
        yield server


@contextlib.contextmanager
def _redis_server() -> Iterator[RestartableServer]:
    """A new ``redis-server`` without persistence; stopped and deleted after."""
    redis = _import_client("redis", "install the extra: `uv sync --extra redis`")
    binary = _redis_server_binary()
    workdir = _make_temp_dir("redis")

    def is_ready(candidate: _ServerProcess) -> bool:
        try:
            with redis.Redis(host=_HOST, port=candidate.port, socket_timeout=1) as client:
                info = client.info("server")
        except redis.RedisError:
            return False
        return bool(info.get("process_id") == candidate.proc.pid)

    server: RestartableServer | None = None
    try:
        server = RestartableServer(
            lambda port: _start_server(
                "redis",
                lambda port: [
                    binary,
                    "--bind",
                    _HOST,
                    "--port",
                    str(port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(workdir),
                    "--daemonize",
                    "no",
                ],
                is_ready,
                workdir=workdir,
                port=port,
            )
        )
        server.url = f"redis://{_HOST}:{server.port}/0"
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
