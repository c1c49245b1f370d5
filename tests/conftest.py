"""Shared fixtures: settings over every backend pair, a store, and an SDK bound to them.

``store`` and ``sdk`` run each test embedded (LocalStore) and remote (RestStore to a live
server backed by a LocalStore), each on SQLite and PostgreSQL. The throwaway-server fixtures
(PostgreSQL, S3, Redis) live in tests/support/services.py, the live Shipyard server in
tests/support/server.py, the ``cli`` fixture in tests/support/cli.py. Each area's own fixtures
are in its folder's conftest.py; tests are laid out like the source (tests/registry tests
shipyard.registry).
"""

from __future__ import annotations

from pathlib import Path

from tests.support.bytecode import cache_bytecode

# First of all: pytest imports this file (and through it Shipyard, SQLAlchemy, pandas and the
# support plugins) before any plugin's pytest_configure runs, so the cache must be on before
# the imports below, or the main pytest process compiles them all from source.
cache_bytecode(Path(__file__).resolve().parents[1])

import sqlite3
from collections.abc import Iterator
from contextlib import closing

import pytest

from shipyard.client import LocalStore, Store
from shipyard.client._rest import RestStore
from shipyard.config import Settings, load_settings
from shipyard.store import dispose_engines, get_engine
from shipyard.tracking import Client, _fluent
from shipyard.tracking._run import active_stack

pytest_plugins = [
    "pytester",
    "tests.support.threads",
    "tests.support.services",
    "tests.support.server",
    "tests.support.soak",
    "tests.support.ray",
    "tests.support.cli",
    "tests.support.clock",
    "tests.support.features",
    "tests.support.proxy",
    "tests.support.placement",
    "tests.support.warm",
    "tests.support.uv_cache",
]
STORE_KINDS = ["local", "rest"]


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test runs in its own working directory with no SHIPYARD_* leaking in, and its
    database connections are closed afterwards (so a test database can be dropped)."""
    import os

    for name in list(os.environ):
        if name.startswith("SHIPYARD_") and name != "SHIPYARD_REQUIRE_SERVICES":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield
    dispose_engines()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty metadata database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_db_url"))
    return f"sqlite:///{tmp_path / 'meta.db'}"


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def artifacts_uri(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A fresh blob store root: a local folder, or a new bucket on the S3 test server."""
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = request.getfixturevalue("s3_bucket")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", endpoint.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", endpoint.secret_key)
        monkeypatch.setenv("AWS_DEFAULT_REGION", endpoint.region)
        monkeypatch.setenv("SHIPYARD_S3_ENDPOINT_URL", endpoint.endpoint_url)
        return f"s3://{bucket}/blobs"
    return str(tmp_path / "blobs")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to the newest schema once per session (per test worker):
    tests start from a copy, where migrating a new file costs seconds of Alembic each."""
    path = tmp_path_factory.mktemp("template") / "shipyard.db"
    get_engine(f"sqlite:///{path}").dispose()
    return path


def _copy_sqlite(template: Path, path: Path) -> Path:
    """A copy of the ``template`` database at ``path`` (through SQLite's backup API, so the
    copy is consistent whatever journal the template kept)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(template)) as src, closing(sqlite3.connect(path)) as dst:
        src.backup(dst)
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def migrated_db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """Like ``db_url``, but already at the newest schema (a copy of a session template)."""
    if request.param == "postgres":
        return str(request.getfixturevalue("migrated_postgres_db_url"))
    return f"sqlite:///{_copy_sqlite(sqlite_template, tmp_path / 'meta.db')}"


@pytest.fixture
def settings(tmp_path: Path, migrated_db_url: str) -> Settings:
    """Settings on each database backend, local blobs, synchronous logging."""
    return load_settings(home=tmp_path / ".shipyard", db_url=migrated_db_url, sync_logging=True)


def _store_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """``settings`` as is (embedded), or pointing at the live server serving them."""
    if request.param == "local":
        return settings
    request.getfixturevalue("rest_backend")
    return request.getfixturevalue("live_server").client_settings(settings)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Store]:
    """A LocalStore on each database backend, and a RestStore to a server on each."""
    if request.param == "local":
        yield LocalStore(settings)
        return
    rest = RestStore(_store_settings(request, settings))
    yield rest
    rest.close()


@pytest.fixture(params=STORE_KINDS)
def sdk(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Client]:
    """The module-level API bound to a fresh store (embedded or through the server); open
    runs are ended afterwards."""
    client = _fluent.configure(_store_settings(request, settings))
    yield client
    for run in reversed(list(active_stack())):
        run.end("KILLED")
    client.close()
    _fluent._default = None


@pytest.fixture
def sqlite_sdk(sqlite_settings: Settings) -> Iterator[Client]:
    """The module-level API bound to a fresh SQLite home (for pipeline and CLI tests, which
    are about behaviour rather than the backend)."""
    client = _fluent.configure(sqlite_settings)
    yield client
    client.close()
    _fluent._default = None


@pytest.fixture
def sqlite_settings(tmp_path: Path, sqlite_template: Path) -> Settings:
    """Settings on SQLite only (for tests about the SDK rather than the backend); the home's
    database starts as a copy of the migrated template."""
    settings = load_settings(home=tmp_path / ".shipyard")
    _copy_sqlite(sqlite_template, settings.home / "shipyard.db")
    return settings
