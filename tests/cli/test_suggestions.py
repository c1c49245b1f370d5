"""Every `shipyard ...` command that the CLI's messages, the demo and the docs suggest exists:
its command words resolve to a command of the CLI, and `--help` on it succeeds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from shipyard.cli import app
from tests.support.cli import Cli

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "src" / "shipyard" / "cli").glob("*.py")),
    *sorted((ROOT / "src" / "shipyard" / "demo").glob("*.py")),
]
# `shipyard x y` in backticks, [bold]shipyard x y[/] in Rich markup, and shell lines in code
# blocks (`$ shipyard`, `uv run shipyard`, a line that starts with `shipyard`)
_SUGGESTED = re.compile(
    r"(?:`|\[bold\]|^\s*(?:\$ )?(?:uv run )?)shipyard((?: [a-z][a-z0-9-]*){1,2})", re.MULTILINE
)


def suggested() -> list[tuple[str, str]]:
    """(the command words, the files that suggest them) of every suggested command."""
    found: dict[str, set[str]] = {}
    for path in SOURCES:
        for match in _SUGGESTED.finditer(path.read_text()):
            found.setdefault(match.group(1).strip(), set()).add(path.relative_to(ROOT).as_posix())
    return [(words, ", ".join(sorted(where))) for words, where in sorted(found.items())]


def resolve(words: list[str]) -> list[str]:
    """The command path the words name (a group's subcommand, then stop at a command);
    raises LookupError naming the word that is no command."""
    command = typer.main.get_command(app)
    path: list[str] = []
    for word in words:
        commands = getattr(command, "commands", None)  # a group's subcommands
        if commands is None:
            break
        sub = commands.get(word)
        if sub is None:
            raise LookupError(f"`shipyard {' '.join([*path, word])}` is no command")
        command = sub
        path.append(word)
    return path


def test_the_sources_suggest_commands() -> None:
    found = {words for words, _ in suggested()}
    # the demo's closing suggestions are among them
    assert {"models show", "monitor history", "runs list", "serve"} & found


@pytest.mark.parametrize(("words", "where"), suggested())
def test_a_suggested_command_exists_and_has_help(cli: Cli, words: str, where: str) -> None:
    try:
        path = resolve(words.split())
    except LookupError as exc:
        pytest.fail(f"{where} suggests {exc}")
    assert path, f"{where} suggests `shipyard {words}`"
    assert "Usage:" in cli.ok(*path, "--help")


def test_a_command_that_does_not_exist_is_caught() -> None:
    with pytest.raises(LookupError, match="shipyard models history"):
        resolve(["models", "history", "demo-model"])


def test_each_readme_python_example_imports_the_names_it_uses() -> None:
    """A newcomer copies one block at a time: each block imports what it uses."""
    blocks = re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(), re.M | re.S)
    assert blocks
    for block in blocks:
        if "shipyard." in block:
            assert re.search(r"^import shipyard$", block, re.M), block
