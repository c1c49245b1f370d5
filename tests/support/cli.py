"""Pytest plugin: the ``cli`` fixture, which drives the `shipyard` command line in-process
and reads its Rich tables back."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner, Result

from shipyard.cli import _render, app


class Cli:
    """Runs `shipyard` commands as a user would and checks how they end."""

    def __init__(self) -> None:
        self.runner = CliRunner(env={"COLUMNS": "200"})

    def invoke(self, *args: str) -> Result:
        """Run a command; its result, whatever the exit code."""
        return self.runner.invoke(app, list(args))

    def ok(self, *args: str) -> str:
        """Run a command that must succeed; its stdout."""
        result = self.invoke(*args)
        assert result.exit_code == 0, (result.output, result.exception)
        return result.stdout

    def fails(self, *args: str) -> str:
        """Run a command that must fail cleanly: exit 1, nothing on stdout, one `error:` line
        on stderr and no traceback. Returns that line."""
        result = self.invoke(*args)
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit), result.exception  # not a crash
        assert "Traceback" not in result.output
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        return lines[0]

    def errors(self, *args: str) -> str:
        """Run a command that must end in a clean failure (exit 1, no traceback) but may
        print a report first (a failed pipeline run shows its steps): its stderr."""
        result = self.invoke(*args)
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit), result.exception  # not a crash
        assert "Traceback" not in result.output
        return result.stderr

    @staticmethod
    def row(output: str, key: str) -> str:
        """The one table line that mentions ``key``; where several do (a path in another
        cell, say), the one with a cell that starts with ``key``."""
        lines = [line for line in output.splitlines() if key in line]
        if len(lines) > 1:
            lines = [
                line
                for line in lines
                if any(c.strip().startswith(key) for c in line.replace("┃", "│").split("│"))
            ]
        assert len(lines) == 1, (key, output)
        return lines[0]

    @staticmethod
    def cells(line: str) -> list[str]:
        """The cell texts of one Rich table line."""
        return [c.strip() for c in line.replace("┃", "│").split("│")[1:-1]]

    @classmethod
    def names_in(cls, output: str, candidates: list[str]) -> set[str]:
        """Which of ``candidates`` appear as a cell of a table in ``output``."""
        found = {c for line in output.splitlines() for c in cls.cells(line)}
        return found & set(candidates)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The command line, with tables 200 columns wide so rows are not wrapped. COLUMNS alone
    is not enough: Rich reads it once when the console is created if it is set then, and
    pytest-xdist workers run with COLUMNS=80."""
    monkeypatch.setattr(_render.console, "_width", 200)
    return Cli()
