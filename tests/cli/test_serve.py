"""`shipyard serve` options reach the model server's settings; bad ones are refused before
anything starts."""

from __future__ import annotations

from typing import Any

import pytest

import shipyard.serving
from tests.support.cli import Cli


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What `shipyard serve` would start: one dict of serve's arguments per call (nothing is
    served)."""
    calls: list[dict[str, Any]] = []

    def serve(ref: str, host: str, port: int, workers: int, config: Any, **kw: Any) -> None:
        calls.append({"ref": ref, "workers": workers, "config": config})

    monkeypatch.setattr(shipyard.serving, "serve", serve, raising=False)
    return calls


@pytest.mark.parametrize("choice", ["auto", "always", "off"])
def test_the_proba_option_reaches_the_server(cli: Cli, started: Any, choice: str) -> None:
    cli.ok("serve", "churn@champion", "--proba", choice, "--workers", "2")
    (call,) = started
    assert (call["ref"], call["workers"], call["config"].proba) == ("churn@champion", 2, choice)


def test_serving_probabilities_by_default_when_asked(cli: Cli, started: Any) -> None:
    cli.ok("serve", "churn@champion")
    assert started[0]["config"].proba == "auto"


def test_an_unknown_proba_choice_is_refused_naming_the_choices(cli: Cli, started: Any) -> None:
    line = cli.fails("serve", "churn@champion", "--proba", "sometimes")
    assert "proba" in line and "always" in line and "off" in line
    assert started == []  # nothing started
