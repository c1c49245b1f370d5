"""The root command builds each command only when it is used, and nothing a user sees
changes for it: the command list, typo suggestions, completion and every command's help."""

from __future__ import annotations

import inspect
from typing import ClassVar

import pytest
import typer.main
from typer.testing import CliRunner

from shipyard.cli import _app, _group_help, app
from shipyard.cli._lazy import Entry, LazyGroup
from tests.support.cli import Cli


@pytest.mark.parametrize("name", list(_app.COMMANDS))
def test_the_command_list_summarises_each_command_as_its_own_help_does(name: str) -> None:
    command = _app.COMMANDS[name].load(name)
    assert command.name == name and not command.hidden
    first = inspect.cleandoc(command.short_help or command.help or "").split("\n\n")[0]
    assert _app.COMMANDS[name].summary == " ".join(first.split())


def test_the_root_lists_every_command_of_the_table_in_its_order(cli: Cli) -> None:
    out = cli.ok("--help")
    rows = [line.split()[1] for line in out.splitlines() if line.startswith("│ ") and "  " in line]
    listed = [word for word in rows if word in _app.COMMANDS]
    assert listed == list(_app.COMMANDS)


@pytest.mark.parametrize("colour", [False, True])
@pytest.mark.parametrize("columns", ["60", "100", "200"])
def test_the_root_help_is_drawn_exactly_as_typer_draws_it(
    monkeypatch: pytest.MonkeyPatch, colour: bool, columns: str
) -> None:
    env = {"COLUMNS": columns, **({"FORCE_COLOR": "1", "TERM": "xterm-256color"} if colour else {})}
    runner = CliRunner(env=env)
    quick = runner.invoke(app, ["--help"])
    monkeypatch.setattr(_group_help, "can_draw", lambda obj, ctx: False)
    typers = runner.invoke(app, ["--help"])
    assert quick.exit_code == typers.exit_code == 0
    assert quick.output == typers.output
    assert ("\x1b[" in quick.output) is colour


def test_a_group_the_quick_help_cannot_draw_is_drawn_by_typer() -> None:
    """An option with a value and a default is Typer's to draw: its type and default
    show."""

    class Group(LazyGroup):
        table: ClassVar[dict[str, Entry]] = {"runs": _app.COMMANDS["runs"]}

    other = typer.Typer(cls=Group, add_completion=False)

    @other.callback()
    def _root(limit: int = typer.Option(20, "--limit", help="How many.")) -> None:
        """A group with a valued option."""

    root = typer.main.get_command(other)
    with root.make_context("other", [], resilient_parsing=True) as ctx:
        assert not _group_help.can_draw(root, ctx)  # type: ignore[arg-type]
    with typer.main.get_command(app).make_context("shipyard", [], resilient_parsing=True) as ctx:
        assert _group_help.can_draw(ctx.command, ctx)  # type: ignore[arg-type]
    out = CliRunner(env={"COLUMNS": "100"}).invoke(other, ["--help"]).output
    assert "<int>" in out and "[default: 20]" in out and "List, inspect, compare" in out


@pytest.mark.parametrize(
    ("argv", "suggestion"),
    [
        (["rnus"], "No such command 'rnus'. Did you mean 'runs'?"),
        (["sever"], "Did you mean 'server', 'serve', 'users'?"),
        (["runs", "lst"], "No such command 'lst'. Did you mean 'list'?"),
        (["models", "shw", "x"], "Did you mean 'show'?"),
    ],
)
def test_a_mistyped_command_gets_the_near_names(argv: list[str], suggestion: str) -> None:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, argv)
    assert result.exit_code == 2
    assert suggestion in result.output


def _complete(words: str, shell: str = "bash") -> str:
    env = {
        "_SHIPYARD_COMPLETE": f"complete_{shell}",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
        "_TYPER_COMPLETE_ARGS": words,
    }
    result = CliRunner(env=env).invoke(app, [], prog_name="shipyard")
    assert result.exit_code == 0, result.output
    return result.output


def test_completion_offers_every_command_then_a_group_s_commands_and_options() -> None:
    assert _complete("shipyard ").split() == list(_app.COMMANDS)
    assert _complete("shipyard d").split() == ["demo", "doctor", "data", "deploy", "deployments"]
    assert _complete("shipyard runs ").split() == [
        "list", "search", "show", "compare", "delete", "restore", "reap"
    ]  # fmt: skip
    assert _complete("shipyard models alias --").split() == ["--delete", "--reason", "--help"]


def test_completion_describes_commands_with_their_help() -> None:
    out = _complete("shipyard ru", shell="zsh")
    assert '"runs":"List, inspect, compare, search, delete,..."' in out


def test_shipyard_alone_shows_the_help_and_exits_2() -> None:
    runner = CliRunner(env={"COLUMNS": "100"})
    alone, helped = runner.invoke(app, []), runner.invoke(app, ["--help"])
    assert alone.exit_code == 2 and helped.exit_code == 0
    assert alone.stdout.rstrip() == helped.stdout.rstrip() and "Commands" in alone.stdout
