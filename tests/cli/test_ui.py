"""`shipyard ui` as a user runs it: the embedded store's web UI on a free loopback port, its
URL printed, the browser opened (or not), a clear refusal of a taken or impossible port, and
a clean stop on Ctrl+C or SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.client import LocalStore
from shipyard.config import load_settings
from tests.support.cli import Cli

#: How long `shipyard ui` may take to start or answer (a loaded machine: never a timing
#: assertion, only how long to wait).
STARTUP_S = 120


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder whose embedded store has one experiment; SHIPYARD_* of the test
    environment cleared and SHIPYARD_HOME pointing at it (for in-process runs too)."""
    for key in [k for k in os.environ if k.startswith("SHIPYARD_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("SHIPYARD_HOME", str(tmp_path / ".shipyard"))
    store = LocalStore(load_settings(home=tmp_path / ".shipyard"))
    store.create_experiment("seen-in-the-ui")
    store.close()
    return tmp_path


@pytest.fixture
def browser_log(tmp_path: Path) -> Path:
    """A stand-in browser (``BROWSER``) that writes the address it was asked to open here."""
    opened = tmp_path / "opened.txt"
    script = tmp_path / "fake-browser"
    script.write_text(f'#!/bin/sh\necho "$1" >> {opened}\n')
    script.chmod(0o755)
    return opened


class Running:
    """A `shipyard ui` process and the URL it printed."""

    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc = proc
        self.url = url

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].strip("/"))

    def stop(self, sig: signal.Signals) -> tuple[int, str]:
        """Send ``sig`` and wait for the process to end; its exit code and stderr."""
        self.proc.send_signal(sig)
        _, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, err


@pytest.fixture
def start_ui(home: Path, browser_log: Path) -> Iterator[Callable[..., Running]]:
    """``start_ui(*args)``: `shipyard ui ARGS` in ``home`` with a display and the stand-in
    browser, once it has printed its URL and answers."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> Running:
        env = {**os.environ, "DISPLAY": ":99", "BROWSER": str(browser_log.parent / "fake-browser")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "shipyard", "ui", *args],
            cwd=home, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        started.append(proc)
        assert proc.stdout is not None and proc.stderr is not None
        line = proc.stdout.readline()
        assert line.startswith("shipyard ui on http://127.0.0.1:"), line + proc.stderr.read()
        url = line.split(" on ", 1)[1].split()[0]
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "healthz", timeout=2).status_code == 200:
                    return Running(proc, url)
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError(f"{url} did not answer in {STARTUP_S} s")

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_ui_serves_the_embedded_store_opens_the_browser_and_stops_on_ctrl_c(
    start_ui: Callable[..., Running], browser_log: Path
) -> None:
    running = start_ui()
    assert running.port > 0
    page = httpx.get(running.url + "experiments", timeout=STARTUP_S)
    assert page.status_code == 200 and "/static/js/app.js" in page.text
    listed = httpx.get(running.url + "api/v1/experiments", timeout=STARTUP_S).json()["experiments"]
    assert "seen-in-the-ui" in [e["name"] for e in listed]  # the folder's store, no token
    deadline = time.monotonic() + 30
    while not browser_log.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert browser_log.read_text().split() == [running.url]
    code, err = running.stop(signal.SIGINT)
    assert code in (0, 128 + signal.SIGINT, -signal.SIGINT), err
    assert "Traceback" not in err
    assert _free(running.port)


def test_ui_with_no_browser_only_prints_the_url_and_stops_on_sigterm(
    start_ui: Callable[..., Running], browser_log: Path
) -> None:
    running = start_ui("--no-browser")
    assert httpx.get(running.url, timeout=STARTUP_S).status_code == 200
    time.sleep(1)  # the browser would be opened as soon as the server answers
    assert not browser_log.exists()
    code, err = running.stop(signal.SIGTERM)
    assert code == 0, err  # a graceful stop (docker stop, systemd), not death by the signal
    assert "Traceback" not in err
    assert _free(running.port)


@pytest.mark.parametrize("reuse_port", [False, True], ids=["plain", "another-shipyard-ui"])
def test_a_taken_port_is_refused_before_anything_is_served(
    cli: Cli, home: Path, reuse_port: bool
) -> None:
    with socket.socket() as taken:
        if reuse_port:  # as the server's own socket: without the check the two would share it
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli.invoke("ui", "--no-browser", "--port", str(port))
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    assert "pick another --port" in result.stderr
    assert "SHIPYARD_SERVER_AUTH" not in os.environ  # nothing was set up to serve


@pytest.mark.parametrize(
    ("args", "says"),
    [(["--port", "70000"], "--port"), (["--port", "-1"], "--port"), (["--browser"], "--browser")],
)
def test_a_bad_option_is_a_usage_error(cli: Cli, home: Path, args: list[str], says: str) -> None:
    result = cli.invoke("ui", *args)
    assert result.exit_code == 2
    assert says in result.output and "Traceback" not in result.output


def test_with_a_server_configured_it_points_at_that_servers_ui(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPYARD_TRACKING_URI", "https://shipyard.example.com/")
    out = cli.ok("ui", "--no-browser")
    assert out.strip() == "the web UI of https://shipyard.example.com/"
