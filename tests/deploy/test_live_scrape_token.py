"""Prometheus scrapes a live `shipyard server --auth` the way the team stack does: a bearer
token read from a credentials file at every scrape. While the file is empty the target is
up and gets the request metrics but no feature materialization times; once a viewer's
token (created with `shipyard users create` and `shipyard tokens create`) is written into
it, the times appear without restarting Prometheus."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from shipyard.tracking import Client

MATERIALIZED = "shipyard_feature_view_materialized_timestamp_seconds"


def test_prometheus_scrapes_the_feature_times_once_its_token_file_holds_a_token(
    sqlite_sdk: Client,
    run_prometheus: Callable[[dict[str, Any], Path], str],
    spawn: Callable[[list[str], dict[str, str], Path], subprocess.Popen[str]],
    until: Callable[..., Any],
    materialize_view: Callable[[Client, Path], Any],
    tmp_path: Path,
    free_port: Callable[[], int],
) -> None:
    shipyard_cli = str(Path(sys.executable).with_name("shipyard"))
    home = {**os.environ, "SHIPYARD_HOME": str(sqlite_sdk.settings.home)}
    home.pop("SHIPYARD_TRACKING_URI", None)
    home.pop("SHIPYARD_TOKEN", None)

    def cli(*args: str) -> str:
        done = subprocess.run(
            [shipyard_cli, *args], env=home, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    materialized = materialize_view(sqlite_sdk, tmp_path)
    cli("users", "create", "prometheus", "--role", "viewer", "--project", "*")
    printed = cli("tokens", "create", "--user", "prometheus", "--name", "prometheus")
    (token,) = [line for line in printed.split() if line.startswith("shy_")]
    server = f"127.0.0.1:{free_port()}"
    spawn(
        [shipyard_cli, "server", "--port", server.split(":")[1], "--auth"],
        home,
        tmp_path / "server.log",
    )
    until(lambda: httpx.get(f"http://{server}/readyz", timeout=5).status_code == 200, "server")
    token_file = tmp_path / "metrics-token"
    token_file.write_text("")  # what the stack renders
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [
            {"job_name": "shipyard-server",
             "authorization": {"type": "Bearer", "credentials_file": str(token_file)},
             "static_configs": [{"targets": [server]}]},
        ],
    }  # fmt: skip
    api = run_prometheus(config, tmp_path)

    def series(query: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{api}/query", params={"query": query}, timeout=5).json()
        return list(answer["data"]["result"])

    def target() -> dict[str, Any]:
        """The server's target ({} until Prometheus has loaded it)."""
        found = httpx.get(f"{api}/targets", timeout=5).json()["data"]["activeTargets"]
        assert len(found) <= 1, found
        return dict(found[0]) if found else {}

    # empty file: the scrape succeeds (no 401), with the request metrics and the feature
    # collector's status, but no view's time
    until(lambda: target().get("health") == "up", "the server target is up", timeout=60)
    until(lambda: series('shipyard_http_requests_total{job="shipyard-server"}'),
          "the request metrics are scraped", timeout=60)  # fmt: skip
    until(lambda: series("shipyard_feature_view_materialized_scrape_ok == 1"),
          "the feature collector answered a scrape", timeout=60)  # fmt: skip
    assert series(MATERIALIZED) == []
    assert target()["lastError"] == ""
    # the viewer's token, written into the file, is read at the next scrape
    token_file.write_text(token + "\n")
    found = until(lambda: series(MATERIALIZED), "the materialization times appear", timeout=60)
    times = {(r["metric"]["project"], r["metric"]["feature_view"]): float(r["value"][1])
             for r in found}  # fmt: skip
    assert times == {("default", "stats"): materialized.created_at / 1000}, times
    assert target()["health"] == "up"
