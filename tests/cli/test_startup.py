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


#: What the root command may load besides the standard library: Typer, Click, Rich and
#: their small helpers. A new entry here is a start-up cost every command pays.
LIGHT_PACKAGES = {"typer", "click", "rich", "shellingham", "annotated_doc", "typing_extensions"}
#: The command line's own modules that build the root command and draw its help; every
#: other ``shipyard.cli`` module is a command's, loaded when that command is used.
ROOT_MODULES = {
    "shipyard.cli",
    "shipyard.cli._app",
    "shipyard.cli._lazy",
    "shipyard.cli._help",
    "shipyard.cli._group_help",
}
#: Loaded by Typer's own help renderer: Markdown (with markdown-it) and Rich tracebacks
#: (with Pygments). ``shipyard --help`` draws the same screen without them.
HELP_RENDERER = ("typer.rich_utils", "rich.markdown", "markdown_it", "rich.traceback", "pygments")


def _loaded_by(code: str) -> list[str]:
    """The modules a fresh interpreter holds after running ``code`` (one per line)."""
    probe = f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    return subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()


def _running(*argv: str) -> str:
    """Code that runs `shipyard ARGV` through the Typer app, as the entry point does, its
    output discarded."""
    return (
        "import contextlib, io, sys\n"
        f"sys.argv = ['shipyard', *{list(argv)!r}]\nimport shipyard.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        shipyard.cli.app()\n"
        "    except SystemExit as exc:\n        assert not exc.code, exc"
    )


def test_importing_the_cli_loads_nothing_but_itself() -> None:
    before = set(_loaded_by("import shipyard"))
    after = set(_loaded_by("import shipyard.cli")) - before
    assert after == {"shipyard.cli"}, sorted(after)


@pytest.mark.parametrize("argv", [["--help"], []])
def test_the_root_command_loads_typer_rich_and_no_command(argv: list[str]) -> None:
    """``shipyard --help`` (and ``shipyard`` alone) list the commands from a table: no
    command module, no store, none of the entities' dataclasses, not Typer's help
    renderer."""
    before = set(_loaded_by("pass"))
    run = _running(*argv).replace("assert not exc.code, exc", "pass")
    after = set(_loaded_by(run)) - before
    third_party = {m.split(".")[0] for m in after} - set(sys.stdlib_module_names) - {"shipyard"}
    assert third_party <= LIGHT_PACKAGES, f"shipyard {' '.join(argv)} loads {third_party}"
    ours = {m for m in after if m.startswith("shipyard.")}
    allowed = ROOT_MODULES | {"shipyard.config", "shipyard.errors"}
    assert ours <= allowed, f"shipyard {' '.join(argv)} loads {sorted(ours - allowed)}"
    renderer = {m for m in after if m.startswith(HELP_RENDERER)}
    assert not renderer, f"shipyard {' '.join(argv)} loads {sorted(renderer)}"


def test_a_group_s_help_loads_that_group_only() -> None:
    loaded = set(_loaded_by(_running("runs", "--help")))
    assert "shipyard.cli._runs" in loaded
    commands = {m for m in loaded if m.startswith("shipyard.cli.")} - ROOT_MODULES
    # the runs commands' module and the helpers it imports
    helpers = {"shipyard.cli._render", "shipyard.cli._store", "shipyard.cli._ui"}
    assert commands - helpers == {"shipyard.cli._runs"}
    assert not loaded & set(HEAVY)


@pytest.mark.parametrize("argv", [["version"], ["--version"]])
def test_the_script_prints_the_version_before_loading_the_command_line(argv: list[str]) -> None:
    """The entry point answers ``shipyard version`` before Typer, Click or Rich load (and
    Typer's option coercion, which would import pydantic)."""
    probe = (
        f"import sys\nsys.argv = ['shipyard', *{argv!r}]\nimport shipyard.cli\n"
        "shipyard.cli.main()\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'click', 'rich', "
        "'pydantic'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split("\n")
    assert out[:2] == [shipyard.__version__, "[]"]


def test_a_read_command_loads_the_store_but_no_dataframe_or_server_library(
    sqlite_sdk: Client,
) -> None:
    sqlite_sdk.store.create_experiment("e", "")
    settings = sqlite_sdk.settings
    listing = (
        f"import os, sys\nos.environ['SHIPYARD_HOME'] = {str(settings.home)!r}\n"
        f"os.environ['SHIPYARD_DB_URL'] = {settings.db_url!r}\n"
    ) + _running("runs", "list", "-e", "e")
    loaded = set(_loaded_by(listing))
    assert "sqlalchemy" in loaded  # it did read the store
    unwanted = {"pandas", "numpy", "fastapi", "pyarrow", "sklearn", "shipyard.demo"} & loaded
    assert not unwanted, f"shipyard runs list loads {unwanted}"
    assert "shipyard.cli._models" not in loaded and "shipyard.cli._pipelines" not in loaded
    assert "shipyard.cli._group_help" not in loaded  # help panels, for help screens only
    # the store's tables are Core tables; a SQLite store needs no other dialect
    assert not {m for m in loaded if m.startswith(("sqlalchemy.orm", "sqlalchemy.dialects.postg"))}


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
