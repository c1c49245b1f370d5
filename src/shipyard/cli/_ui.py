"""`shipyard ui`: the web UI of the embedded store, on loopback, in the browser."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import webbrowser

import typer

from shipyard.cli._render import console, friendly_errors, safe
from shipyard.config import load_settings
from shipyard.errors import ConfigError


def ui(
    port: int = typer.Option(
        0, "--port", min=0, max=65535, help="TCP port on 127.0.0.1 (default: a free one)."
    ),
    no_browser: bool = typer.Option(False, "--no-browser", help="Print the URL only."),
) -> None:
    """Open the web UI: runs, models, lineage, pipelines, features, monitors, deployments.

    Serves this directory's store on 127.0.0.1 without authentication (only you can reach
    it) and opens the browser. With SHIPYARD_TRACKING_URI set, opens that server's UI."""
    with friendly_errors():
        settings = load_settings()
        if settings.is_remote:
            url = settings.tracking_uri.rstrip("/") + "/"
            console.print(f"the web UI of {safe(url)}", highlight=False)
            _open(url, no_browser, wait=False)
            return
        port = _loopback_port(port)
        from shipyard.server import serve

        os.environ["SHIPYARD_SERVER_AUTH"] = "0"  # loopback only: nobody else can connect
        settings = load_settings()
        url = f"http://127.0.0.1:{port}/"
        console.print(
            f"shipyard ui on [bold]{url}[/] (store {safe(str(settings.home))}); Ctrl+C stops it",
            highlight=False,
            soft_wrap=True,
        )
        _open(url, no_browser, wait=True)
        serve(settings, "127.0.0.1", port, 1, log_level="warning")


def _loopback_port(port: int) -> int:
    """``port`` on 127.0.0.1 (a free one for 0), checked free with a plain bind first.

    The server's own socket sets SO_REUSEPORT, which lets it share a port with another
    listener of the same user: a second `shipyard ui --port N` would silently split the
    first one's requests between two stores. A socket without it cannot bind a port that
    anything listens on, so the check refuses that port before anything is printed.

    Raises:
        ConfigError: naming ``--port`` when the port is taken.
    """
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # not fooled by TIME_WAIT
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on 127.0.0.1:{port}: {exc.strerror}; pick another --port or "
                "leave it out for a free one",
                field="port",
            ) from None
        return int(probe.getsockname()[1])


def can_open_browser() -> bool:
    """A browser can be shown: macOS, Windows, or a Linux/BSD desktop session."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _open(url: str, no_browser: bool, *, wait: bool) -> None:
    """Open ``url`` in the browser (once the server answers, when ``wait``), unless told not
    to or there is no display to show it on."""
    if no_browser or not can_open_browser():
        return

    def opener() -> None:
        import httpx  # here: the CLI's start-up loads no HTTP client

        deadline = time.monotonic() + 60
        while wait and time.monotonic() < deadline:
            try:
                if httpx.get(url + "healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        webbrowser.open(url)

    threading.Thread(target=opener, daemon=True, name="open-browser").start()


def print_link(kind: str, *parts: str | int) -> None:
    """Print the object's web UI link when a server is configured (``SHIPYARD_TRACKING_URI``);
    embedded use prints nothing. What every `show`/`create` command calls."""
    from shipyard.ui import object_link

    link = object_link(load_settings().tracking_uri, kind, *parts)
    if link:
        console.print(f"[dim]in the web UI:[/] {safe(link)}", highlight=False, soft_wrap=True)
