"""The command line starts without loading the heavy parts of Shipyard, and its help screens
use the usual notation."""

from __future__ import annotations

import subprocess
import sys

import pytest

import shipyard
from tests.support.cli import Cli

HEAVY = ("pandas", "numpy", "sqlalchemy", "fastapi", "sklearn", "pyarrow", "httpx", "shipyard.demo")


def test_importing_the_cli_loads_no_heavy_library() -> None:
    code = f"import sys, shipyard.cli; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.strip() == "", f"importing shipyard.cli loads {out.strip()}"


def test_version_option_and_command_print_the_version(cli: Cli) -> None:
    assert cli.ok("--version").strip() == shipyard.__version__
    assert cli.ok("version").strip() == shipyard.__version__


@pytest.mark.parametrize(
    "command",
    [
        ("--help",),
        ("experiments", "list", "--help"),
        ("models", "show", "--help"),
        ("models", "alias", "--help"),
        ("server", "--help"),
        ("runs", "delete", "--help"),
    ],
)
def test_help_shows_no_bool_type_after_flags_nor_brace_placeholders(
    cli: Cli, command: tuple[str, ...]
) -> None:
    out = cli.ok(*command)
    assert "<bool>" not in out
    usage = next(line for line in out.splitlines() if "Usage:" in line)
    assert "{" not in usage and "}" not in usage


def test_help_writes_required_arguments_in_capitals_and_optional_ones_in_brackets(
    cli: Cli,
) -> None:
    usage = next(
        line for line in cli.ok("models", "alias", "--help").splitlines() if "Usage" in line
    )
    assert "NAME ALIAS [VERSION]" in usage
    assert "RUN_IDS..." in next(
        line for line in cli.ok("runs", "delete", "--help").splitlines() if "Usage" in line
    )
