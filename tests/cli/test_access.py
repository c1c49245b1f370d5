"""`shipyard users`, `shipyard tokens`, `shipyard audit` and `shipyard server` as an operator
uses them: bootstrap the first admin on the server's database, then manage the team through
the server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import shipyard
from shipyard.client import LocalStore
from shipyard.config import Settings, load_settings
from shipyard.tracking import _fluent
from tests.support.cli import Cli
from tests.support.server import LiveServer

_TOKEN = re.compile(r"shy_[0-9a-f]{12}_[A-Za-z0-9_-]+")


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    from shipyard.cli import _render

    monkeypatch.setattr(_render.console, "_width", 200)


@pytest.fixture
def embedded(sqlite_settings: Settings) -> Iterator[Settings]:
    """The CLI working on the server's own database (how an operator bootstraps)."""
    shipyard.configure(sqlite_settings)
    yield sqlite_settings
    _fluent._default = None


def _remote(live_server: LiveServer, settings: Settings, token: str) -> None:
    shipyard.configure(load_settings(home=settings.home, tracking_uri=live_server.url, token=token))


def test_bootstrap_an_admin_then_manage_the_team_through_the_server(
    cli: Cli, embedded: Settings, live_server: LiveServer
) -> None:
    assert "created user ops (admin on *)" in cli.ok(
        "users", "create", "ops", "--role", "admin", "--project", "*"
    )
    out = cli.ok("tokens", "create", "--user", "ops", "--name", "laptop", "--expires-in", "30d")
    (token,) = _TOKEN.findall(out)
    assert "only time it is shown" in out

    live_server.serve(LocalStore(embedded), auth=True)
    _remote(live_server, embedded, token)
    try:
        cli.ok("users", "create", "bob", "--role", "editor")
        cli.ok("users", "grant", "bob", "viewer", "--project", "other")
        roles = cli.cells(cli.row(cli.ok("users", "list"), "bob"))[2]
        assert roles == "default: editor, other: viewer"
        bob_token = _TOKEN.findall(cli.ok("tokens", "create", "--user", "bob"))[0]
        listing = cli.ok("tokens", "list")
        token_id = bob_token.split("_")[1]
        assert cli.cells(cli.row(listing, token_id))[1:3] == ["bob", ""]
        assert cli.cells(cli.row(listing, "laptop"))[5] == "active"
        assert bob_token not in listing and token not in listing
        assert f"revoked token {token_id}" in cli.ok("tokens", "revoke", token_id)
        assert (
            cli.cells(cli.row(cli.ok("tokens", "list", "--user", "bob"), token_id))[5] == "revoked"
        )
        cli.ok("users", "revoke", "bob", "--project", "other")
        assert cli.cells(cli.row(cli.ok("users", "list"), "bob"))[2] == "default: editor"
        audit = cli.ok("audit", "-n", "20")
        assert "PUT /api/v1/users/bob/roles/other" in audit
        assert "DELETE /api/v1/tokens/" in audit

        other = _TOKEN.findall(cli.ok("tokens", "create", "--user", "bob"))[0]
        _remote(live_server, embedded, other)
        assert "needs the admin role" in cli.fails("users", "list")
        assert "needs the admin role" in cli.fails("audit")
    finally:
        _fluent._default = None


def test_token_options_are_checked_and_can_be_saved(
    cli: Cli, embedded: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    cli.ok("users", "create", "ann")
    assert "not a duration" in cli.fails(
        "tokens", "create", "--user", "ann", "--expires-in", "soon"
    )
    assert "say which user" in cli.fails("tokens", "create")
    assert "no user named 'zed'" in cli.fails("tokens", "create", "--user", "zed")
    assert "role 'boss' is not one of" in cli.fails("users", "grant", "ann", "boss")
    assert "already exists" in cli.fails("users", "create", "ann")
    assert "not a valid name" in cli.fails("users", "create", "a b")
    out = cli.ok("tokens", "create", "--user", "ann", "--save")
    saved = tmp_path / ".shipyard" / "credentials"
    assert f"saved to {saved}" in out
    assert _TOKEN.findall(saved.read_text()) == _TOKEN.findall(out)
    assert saved.stat().st_mode & 0o777 == 0o600


def test_server_refuses_a_public_address_without_auth(cli: Cli, embedded: Settings) -> None:
    assert "refusing to listen on 0.0.0.0 without authentication" in cli.fails(
        "server", "--host", "0.0.0.0", "--port", "1"
    )
    assert "no usable API token exists" in cli.fails(
        "server", "--host", "0.0.0.0", "--auth", "--port", "1"
    )
