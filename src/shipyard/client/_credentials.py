"""API tokens for the REST client: from ``SHIPYARD_TOKEN`` or the credentials file.

The credentials file (``~/.shipyard/credentials`` unless ``SHIPYARD_CREDENTIALS_FILE`` says
otherwise) is TOML with a default token and, optionally, one per server::

    token = "shy_..."

    [servers."https://shipyard.example.com"]
    token = "shy_..."

It must be readable by its owner only (mode 0600): a token in a file others can read is
refused with the ``chmod`` that fixes it, rather than used.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

from shipyard.config import Settings
from shipyard.errors import ConfigError


def credentials_path(settings: Settings) -> Path:
    """Where the credentials file is (whether or not it exists)."""
    if settings.credentials_file:
        return Path(settings.credentials_file).expanduser()
    return Path.home() / ".shipyard" / "credentials"


def _server_key(url: str) -> str:
    return url.rstrip("/")


def find_token(settings: Settings) -> str:
    """The token to send to ``settings.tracking_uri`` ("" when there is none)."""
    if settings.token:
        return settings.token
    path = credentials_path(settings)
    if not path.is_file():
        return ""
    data = _read(path)
    servers = data.get("servers", {})
    entry = servers.get(_server_key(settings.tracking_uri), {}) if isinstance(servers, dict) else {}
    token = entry.get("token") if isinstance(entry, dict) else None
    token = token or data.get("token", "")
    if not isinstance(token, str):
        raise ConfigError(f"{path}: 'token' must be a string", field="credentials_file")
    return token


def _read(path: Path) -> dict[str, object]:
    """The parsed credentials file, refused when others may read it."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"{path} can be read by other users (mode {mode:o}), so its token is not used; "
            f"run `chmod 600 {path}`",
            field="credentials_file",
        )
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", field="credentials_file") from None


def save_token(settings: Settings, token: str) -> Path:
    """Store ``token`` for ``settings.tracking_uri`` (or as the default when there is no
    server URL) in the credentials file, created with mode 0600. Other entries are kept."""
    path = credentials_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = _read(path) if path.is_file() else {}
    if settings.tracking_uri:
        servers = data.setdefault("servers", {})
        assert isinstance(servers, dict)
        servers[_server_key(settings.tracking_uri)] = {"token": token}
    else:
        data["token"] = token
    text = _dump(data)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(path, 0o600)
    return path


def _dump(data: dict[str, object]) -> str:
    """The tiny TOML subset of a credentials file: a default token and server tables."""
    lines = []
    if "token" in data:
        lines.append(f"token = {_quote(str(data['token']))}")
    servers = data.get("servers", {})
    assert isinstance(servers, dict)
    for url, entry in servers.items():
        lines += ["", f"[servers.{_quote(url)}]", f"token = {_quote(str(entry['token']))}"]
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
