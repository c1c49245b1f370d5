"""`shipyard demo`: the demo (:mod:`shipyard.demo`) played on the terminal: the console,
the progress bar and one-line errors instead of tracebacks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import RenderableType

from shipyard.cli._render import console, friendly_errors, progress_bar, rule

if TYPE_CHECKING:
    from shipyard.demo import Report


class Terminal:
    """The demo's screen on the command line."""

    def rule(self, title: str) -> None:
        rule(title)

    def print(self, renderable: RenderableType) -> None:
        console.print(renderable)

    @contextmanager
    def progress(self, name: str) -> Iterator[Report]:
        with friendly_errors(), progress_bar() as bar:
            task = bar.add_task(name, total=None)

            def report(description: str, done: int, total: int) -> None:
                bar.update(task, description=description, completed=done, total=total)

            yield report

    @contextmanager
    def status(self, text: str) -> Iterator[Any]:
        with friendly_errors(), console.status(text) as spinner:
            yield spinner


def demo() -> None:
    """Play the whole lifecycle on bundled data, in a fresh project of this folder's store.

    Version bundled data, run the training pipeline twice (the second time fully cached),
    track every candidate as a run, register and promote the best model through gates, then
    load it by alias and score a few rows."""
    from shipyard.demo import show

    show(Terminal())
