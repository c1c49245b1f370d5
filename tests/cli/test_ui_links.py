"""The web UI links the CLI prints: with a server URL configured, every command that creates
or shows an object prints the address of its page, and that address is a page of the UI;
embedded, there is no server to link to and nothing is printed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from shipyard.client import LocalStore
from shipyard.config import Settings
from shipyard.entities import Monitor, PipelineRun
from shipyard.tracking import _fluent
from shipyard.ui import STATIC_DIR
from tests.support.cli import Cli
from tests.support.server import LiveServer

LINK = re.compile(r"in the web UI: (\S+)")
#: The page patterns of the UI's router (app.js), as Python regexes.
ROUTER = [
    re.compile(found)
    for found in re.findall(r"^\s*\[/(\^.*?\$)/,", (STATIC_DIR / "js/app.js").read_text(), re.M)
]


@pytest.fixture
def remote(
    live_server: LiveServer, sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LocalStore]:
    """The CLI talking to the live server (SHIPYARD_TRACKING_URI set, as a user sets it);
    the server's store, to seed."""
    store = LocalStore(sqlite_settings)
    live_server.serve(LocalStore(sqlite_settings))
    monkeypatch.setenv("SHIPYARD_TRACKING_URI", live_server.url)
    monkeypatch.setenv("SHIPYARD_HOME", str(sqlite_settings.home.parent / "client"))
    _fluent._default = None
    yield store
    _fluent._default = None
    store.close()


def _link(output: str, server: str) -> str:
    """The one UI link in ``output``, checked to be a page the UI routes and serves; its
    path and query."""
    found = LINK.findall(output)
    assert len(found) == 1, output
    assert found[0].startswith(server + "/"), found[0]
    parts = urlsplit(found[0])
    assert any(pattern.fullmatch(parts.path) for pattern in ROUTER), parts.path
    page = httpx.get(found[0])
    assert page.status_code == 200 and "/static/js/app.js" in page.text
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_commands_that_create_or_show_an_object_print_its_page(
    cli: Cli, remote: LocalStore, live_server: LiveServer, tmp_path: Path
) -> None:
    url = live_server.url
    created = cli.ok("experiments", "create", "churn-exp")
    exp = remote.get_experiment_by_name("churn-exp")
    assert _link(created, url) == f"/experiments/{exp.id}"

    source = tmp_path / "sales.csv"
    source.write_text("region,amount\neu,1\nus,2\n")
    assert _link(cli.ok("data", "register", "sales", str(source)), url) == "/datasets/sales/1"
    assert _link(cli.ok("data", "show", "sales"), url) == "/datasets/sales"
    assert _link(cli.ok("data", "show", "sales@1"), url) == "/datasets/sales/1"

    run = remote.create_run(exp.id, "train")
    model_file = tmp_path / "model.txt"
    model_file.write_text("model")
    [stored] = remote.log_artifact(run.id, model_file, "model.txt")
    remote.create_registered_model("churn")
    remote.create_model_version("churn", [stored], flavor="pyfunc", run_id=run.id)
    assert _link(cli.ok("models", "alias", "churn", "champion", "1"), url) == "/models/churn/1"
    promoted = cli.ok("models", "promote", "churn", "--version", "1", "--to", "prod")
    assert _link(promoted, url) == "/models/churn/1"
    assert _link(cli.ok("models", "show", "churn"), url) == "/models/churn"

    pipeline_run, _ = remote.create_pipeline_run(
        PipelineRun("", "nightly", "pkg.mod:nightly", "FINISHED", {}, "inline", [], 1), []
    )
    shown = cli.ok("pipelines", "show", pipeline_run.id)
    assert _link(shown, url) == f"/pipeline-runs/{pipeline_run.id}"

    remote.put_monitor(Monitor("churn-drift", "churn@champion"))
    assert _link(cli.ok("monitor", "history", "churn-drift"), url) == "/monitors/churn-drift"
    assert _link(cli.ok("deployments", "list"), url) == "/deployments"
    walked = cli.ok("lineage", f"run:{run.id}", "--down")
    assert _link(walked, url) == f"/lineage?node=run:{run.id}"
    # programs reading JSON get no link mixed in
    assert "in the web UI" not in cli.ok("deployments", "list", "--format", "json")


def test_embedded_commands_print_no_link(cli: Cli, sqlite_sdk: object, tmp_path: Path) -> None:
    assert "in the web UI" not in cli.ok("experiments", "create", "local-exp")
    source = tmp_path / "sales.csv"
    source.write_text("region,amount\neu,1\n")
    assert "in the web UI" not in cli.ok("data", "register", "sales", str(source))
