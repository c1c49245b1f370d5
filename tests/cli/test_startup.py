"""The command line starts without loading the heavy parts of Shipyard, and its help screens
use the usual notation."""

from __future__ import annotations

import subprocess
import sys

import pytest

import shipyard
from shipyard.tracking import Client
from tests.support.cli import Cli

HEAVY = ("pandas", "numpy", "sqlalchemy", "fastapi", "sklearn", "pyarrow", "httpx", "shipyard.demo")


def test_importing_the_cli_loads_no_heavy_library() -> None:
    code = f"import sys, shipyard.cli; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.strip() == "", f"importing shipyard.cli loads {out.strip()}"


#: What importing the command line may load besides the standard library: Typer, Click, Rich
#: and their small helpers. A new entry here is a start-up cost every command pays.
LIGHT_PACKAGES = {"typer", "click", "rich", "shellingham", "annotated_doc", "typing_extensions"}
#: The parts of Shipyard the command line's import may load: itself, settings, errors and
#: the plain records (dataclasses) its commands are typed with.
LIGHT_SHIPYARD = ("shipyard.cli", "shipyard.config", "shipyard.errors", "shipyard.entities")


def _loaded_by(code: str) -> list[str]:
    """The modules a fresh interpreter holds after running ``code`` (one per line)."""
    probe = f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    return subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()


def test_importing_the_cli_loads_only_typer_rich_and_the_cli_itself() -> None:
    before = set(_loaded_by("pass"))
    after = set(_loaded_by("import shipyard.cli")) - before
    third_party = {m.split(".")[0] for m in after} - set(sys.stdlib_module_names) - {"shipyard"}
    assert third_party <= LIGHT_PACKAGES, f"importing shipyard.cli loads {third_party}"
    ours = {m for m in after if m.startswith("shipyard.")}
    heavy = {m for m in ours if not m.startswith(LIGHT_SHIPYARD) and m != "shipyard._markup"}
    assert not heavy, f"importing shipyard.cli loads {sorted(heavy)}"


@pytest.mark.parametrize("argv", [["--help"], ["version"]])
def test_help_and_version_load_nothing_more_than_the_import(argv: list[str]) -> None:
    run = f"import sys\nsys.argv = ['shipyard', *{argv!r}]\nimport shipyard.cli\n" + (
        "try:\n    shipyard.cli.app()\nexcept SystemExit:\n    pass"
    )
    loaded = set(_loaded_by(run))
    assert not loaded & set(HEAVY), f"shipyard {' '.join(argv)} loads {loaded & set(HEAVY)}"
    assert not {m for m in loaded if m.startswith(("shipyard.store", "shipyard.client"))}


@pytest.mark.parametrize("argv", [["version"], ["--version"]])
def test_the_script_prints_the_version_without_parsing_options(argv: list[str]) -> None:
    """The entry point answers ``shipyard version`` before Typer's option coercion, which
    would import pydantic."""
    probe = (
        f"import sys\nsys.argv = ['shipyard', *{argv!r}]\nimport shipyard.cli\n"
        "shipyard.cli.main()\nprint('pydantic' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert out == [shipyard.__version__, "False"]


def test_a_read_command_loads_the_store_but_no_dataframe_or_server_library(
    sqlite_sdk: Client,
) -> None:
    sqlite_sdk.store.create_experiment("e", "")
    settings = sqlite_sdk.settings
    listing = (
        f"import os, sys\nos.environ['SHIPYARD_HOME'] = {str(settings.home)!r}\n"
        f"os.environ['SHIPYARD_DB_URL'] = {settings.db_url!r}\n"
        "sys.argv = ['shipyard', 'runs', 'list', '-e', 'e']\nimport shipyard.cli\n"
        "try:\n    shipyard.cli.app()\nexcept SystemExit as exc:\n    assert not exc.code, exc"
    )
    loaded = set(_loaded_by(listing))
    assert "sqlalchemy" in loaded  # it did read the store
    unwanted = {"pandas", "numpy", "fastapi", "pyarrow", "sklearn", "shipyard.demo"} & loaded
    assert not unwanted, f"shipyard runs list loads {unwanted}"


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


@pytest.mark.parametrize(
    ("group", "command", "words"),
    [
        ((), "fsck", "no version is half-registered; exit 1"),
        ((), "predict", "the input plus a `prediction` column"),
        (("deploy",), "settings", "Terraform outputs. The database password"),
    ],
)
def test_a_command_list_shows_each_summary_on_one_line(
    cli: Cli, group: tuple[str, ...], command: str, words: str
) -> None:
    out = cli.ok(*group, "--help")
    row = next(line for line in out.splitlines() if line.lstrip("│ ").startswith(command + " "))
    assert words in row, row
