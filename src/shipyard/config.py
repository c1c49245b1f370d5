"""One Settings object for the whole package.

Precedence, highest first: explicit arguments to :func:`configure`, ``SHIPYARD_*`` environment
variables, the project file (``shipyard.toml`` found upward from the working directory, like
git finds ``.git``), then defaults. The default home is a ``.shipyard/`` folder found upward
from the working directory, or created in it on first use; the SQLite database and the blob
store live inside it so a laptop needs no server.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.errors import ConfigError

__all__ = [
    "Settings",
    "find_home",
    "load_settings",
    "project_root",
    "put_project_on_path",
    "redact_url",
]

HOME_DIRNAME = ".shipyard"
PROJECT_FILE = "shipyard.toml"
_ENV_PREFIX = "SHIPYARD_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_SECRET_QUERY = re.compile(r"([?&](?:password|passwd|pwd)=)[^&]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """A database or server URL fit for a message or a log: its password (between the user
    name and the last ``@``, so an unescaped ``@`` or ``/`` in it hides nothing) and any
    ``password=`` query parameter become ``***``. Works on URLs no parser accepts, which
    error messages show most."""
    scheme, sep, rest = url.partition("://")
    at = rest.rfind("@")
    colon = rest.find(":")
    if sep and 0 <= colon < at:
        rest = f"{rest[:colon]}:***{rest[at:]}"
    return _SECRET_QUERY.sub(r"\1***", f"{scheme}{sep}{rest}")


@dataclass(frozen=True)
class Settings:
    """Where Shipyard keeps its state and how the client behaves.

    ``db_url`` and ``artifacts_uri`` default to locations inside ``home``; ``tracking_uri``,
    when set to ``http(s)://...``, sends every call to a Shipyard server instead, authenticated
    with ``token`` (or the credentials file). ``project`` is where new experiments go.
    ``server_auth`` and ``max_upload_bytes`` configure ``shipyard server``. ``online_store``
    is where materialized features are served from: empty for a SQLite file in ``home``,
    ``sqlite:///path`` or ``redis://host:port/db``. A process refreshes the heartbeat of its
    active runs every ``heartbeat_interval`` seconds; a RUNNING run whose process is gone, or
    whose heartbeat is older than ``heartbeat_timeout`` seconds (0: never judged by its age),
    is marked KILLED.

    Attributes:
        home: Where embedded state lives (the nearest ``.shipyard/`` upward, else
            ``./.shipyard``).
        db_url: The metadata database's SQLAlchemy URL; ``sqlite:///<home>/shipyard.db`` when empty.
        artifacts_uri: The blob store's root, a folder or ``s3://bucket/prefix``; ``<home>/blobs``
            when empty.
        tracking_uri: ``http(s)://host:port`` of a Shipyard server to send every call to; empty:
            embedded.
        token: The API token sent to that server (else the credentials file's); never shown.
        sync_logging: Commit every metric before ``log_metric`` returns.
        flush_interval: Seconds between background metric flushes.
        buffer_max_metrics: The most metric points that wait for a flush; then the caller writes.
        batch_size: Flush as soon as this many metric points wait.
        capture_environment: Record git, Python and package facts on runs.
        heartbeat_interval: Seconds between heartbeats of a process's active runs.
        heartbeat_timeout: A RUNNING run silent this many seconds is marked KILLED (0: off).
        sqlite_busy_timeout_ms: How long a SQLite writer waits for the lock.
        s3_endpoint_url: An S3-compatible endpoint (MinIO, Ceph, ...); empty: AWS.
        project: The project new experiments go into.
        credentials_file: The file of tokens per server (mode 0600); empty:
            ``~/.shipyard/credentials``.
        http_timeout: Seconds a server call may take.
        http_retries: The most retries of one server call (0: none).
        http_retry_seconds: How long one server call is retried, from its first attempt
            (0: not at all): while the server cannot be reached, and, for calls that are
            safe to repeat, while it answers 503 (or a proxy 502, 504, 429).
        server_auth: ``shipyard server`` requires API tokens.
        max_upload_bytes: The largest artifact upload a server accepts.
        online_store: Where materialized features are served from: empty for SQLite in ``home``,
            ``sqlite:///path`` or ``redis://host:port/db``.
        online_store_timeout: Seconds a Redis online store may take to connect and to answer
            a lookup; after a timeout, calls fail at once for a few seconds.
        audit_retention_days: How long a server keeps audit entries.
    """

    home: Path
    db_url: str = ""
    artifacts_uri: str = ""
    tracking_uri: str = ""
    token: str = field(default="", repr=False)  # a secret: kept out of reprs and logs
    sync_logging: bool = False
    flush_interval: float = 0.5
    buffer_max_metrics: int = 100_000
    batch_size: int = 5_000
    capture_environment: bool = True
    heartbeat_interval: float = 30.0
    heartbeat_timeout: float = 600.0
    sqlite_busy_timeout_ms: int = 30_000
    s3_endpoint_url: str = ""
    project: str = "default"
    credentials_file: str = ""
    http_timeout: float = 60.0
    http_retries: int = 10
    http_retry_seconds: float = 30.0
    server_auth: bool = False
    max_upload_bytes: int = 5 * 2**30
    online_store: str = ""
    online_store_timeout: float = 1.0
    audit_retention_days: int = 365

    def __post_init__(self) -> None:
        if not self.db_url:
            object.__setattr__(self, "db_url", f"sqlite:///{self.home / 'shipyard.db'}")
        if not self.artifacts_uri:
            object.__setattr__(self, "artifacts_uri", str(self.home / "blobs"))
        if self.flush_interval <= 0:
            raise ConfigError(
                f"flush_interval must be a positive number of seconds, got {self.flush_interval!r}",
                field="flush_interval",
            )
        if self.heartbeat_interval <= 0 or not (
            self.heartbeat_timeout == 0 or self.heartbeat_timeout >= 2 * self.heartbeat_interval
        ):
            raise ConfigError(
                "heartbeat_interval must be positive, and heartbeat_timeout 0 (off) or at least "
                f"twice the interval; got {self.heartbeat_interval!r} and "
                f"{self.heartbeat_timeout!r} seconds",
                field="heartbeat_timeout",
            )
        if self.buffer_max_metrics < 1 or self.batch_size < 1:
            raise ConfigError(
                "buffer_max_metrics and batch_size must be at least 1", field="buffer_max_metrics"
            )
        if not 0 < self.online_store_timeout < float("inf"):
            raise ConfigError(
                "online_store_timeout must be a positive number of seconds, got "
                f"{self.online_store_timeout!r}",
                field="online_store_timeout",
            )
        if self.audit_retention_days < 1:
            raise ConfigError(
                "audit_retention_days must be at least 1 (the server prunes older audit entries)",
                field="audit_retention_days",
            )
        if self.http_timeout <= 0 or self.max_upload_bytes < 1:
            raise ConfigError(
                "http_timeout and max_upload_bytes must be positive", field="http_timeout"
            )
        if not (self.http_retries >= 0 and 0 <= self.http_retry_seconds < float("inf")):
            raise ConfigError(
                "http_retries and http_retry_seconds must be at least 0 (0: no retries), "
                f"got {self.http_retries!r} and {self.http_retry_seconds!r}",
                field="http_retries" if self.http_retries < 0 else "http_retry_seconds",
            )

    @property
    def is_remote(self) -> bool:
        """True when calls go to a Shipyard server over HTTP."""
        return self.tracking_uri.startswith(("http://", "https://"))


def find_home(start: Path | None = None) -> Path:
    """The ``.shipyard`` folder of the nearest ancestor that has one, else ``start/.shipyard``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / HOME_DIRNAME
        if candidate.is_dir():
            return candidate
    return here / HOME_DIRNAME


def _find_project_file(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def project_root(start: Path | None = None) -> Path:
    """The project's folder: the nearest one upward holding ``shipyard.toml``, else the
    working directory (``start``)."""
    here = (start or Path.cwd()).resolve()
    project_file = _find_project_file(here)
    return here if project_file is None else project_file.parent


def put_project_on_path(start: Path | None = None) -> Path:
    """Make the project's own modules importable, and return the project root.

    The ``shipyard`` script, unlike ``python -m``, does not put the working directory on
    ``sys.path``, so user code a command imports by name (feature definitions and on-demand
    functions, pipelines and their steps) would only be found with ``PYTHONPATH`` set. Every
    place that imports user code calls this first, so all of them find the same modules.
    """
    root = project_root(start)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return root


def _field_types() -> dict[str, Any]:
    return {f.name: f.type for f in dataclasses.fields(Settings)}


def _coerce(name: str, raw: Any) -> Any:
    """Turn a string (env var) or TOML value into the field's type, or say what is wrong."""
    kind = _field_types()[name]
    if not isinstance(raw, str):
        return Path(raw) if kind == "Path" else raw
    text = raw.strip()
    try:
        if kind == "bool":
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError(text)
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        raise ConfigError(
            f"setting {name!r} must be a {kind}, got {raw!r}; fix SHIPYARD_{name.upper()} "
            f"or {PROJECT_FILE}",
            field=name,
        ) from None
    if kind == "Path":
        return Path(text).expanduser()
    return text


def load_settings(cwd: Path | None = None, **overrides: Any) -> Settings:
    """Build the Settings from defaults, the project file, env vars and ``overrides``."""
    start = (cwd or Path.cwd()).resolve()
    names = _field_types()
    values: dict[str, Any] = {}
    project_file = _find_project_file(start)
    if project_file is not None:
        try:
            data = tomllib.loads(project_file.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{project_file} is not valid TOML: {exc}") from None
        table = data.get("shipyard", data)
        for key, raw in table.items():
            if key not in names:
                raise ConfigError(
                    f"{project_file}: unknown setting {key!r}; known: {', '.join(sorted(names))}",
                    field=key,
                )
            values[key] = _coerce(key, raw)
        if "home" in values and not Path(values["home"]).is_absolute():
            values["home"] = project_file.parent / values["home"]
    for key in names:
        env = os.environ.get(_ENV_PREFIX + key.upper())
        if env is not None:
            values[key] = _coerce(key, env)
    for key, raw in overrides.items():
        if key not in names:
            raise ConfigError(f"unknown setting {key!r}; known: {', '.join(sorted(names))}")
        if raw is not None:
            values[key] = _coerce(key, raw)
    home = Path(values.pop("home", None) or find_home(start))
    return Settings(home=home.resolve(), **values)
