"""Imported on first use: a module (:class:`LazyModule`), and the command line's commands
(:class:`LazyGroup`), so that registering a command costs nothing until it runs.

The root command lists about thirty commands and groups; building each one means importing
its module (Rich tables, the entities, the store helpers) and Typer turning every function
signature into Click parameters. :class:`LazyGroup` holds a table of names instead and
builds a command only when it is invoked, completed or asked for its own help. Its command
list (``shipyard --help``) is drawn from the table's one-line summaries.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

import typer
import typer.main
from typer import _click
from typer.core import HAS_RICH, TyperCommand, TyperGroup

from shipyard.cli import _help


class LazyModule:
    """Stands for the module ``name`` and imports it when an attribute is first read."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)


@dataclass(frozen=True)
class Entry:
    """Where a command of a :class:`LazyGroup` lives, and its line in the command list.

    ``target`` is ``"module:attribute"``: a :class:`typer.Typer` (a command group) or a
    function (a command). ``summary`` is the first paragraph of its help on one line, as
    the group's ``--help`` lists it (``tests/cli/test_commands.py`` checks that it matches).
    """

    target: str
    summary: str

    def load(self, name: str) -> _click.Command:
        """The Click command Typer makes of the target, registered under ``name``."""
        module, _, attribute = self.target.partition(":")
        target = getattr(importlib.import_module(module), attribute)
        holder = typer.Typer()
        if isinstance(target, typer.Typer):
            holder.add_typer(target, name=name)
        else:
            holder.command(name)(target)
        _help.one_line_summaries(holder)
        return typer.main.get_group(holder).commands[name]

    def placeholder(self, name: str) -> _click.Command:
        """A command that only names itself and shows the summary: enough for a list."""
        return TyperCommand(name=name, short_help=self.summary)


class LazyCommands(MutableMapping[str, _click.Command]):
    """A group's commands by name, in the table's order; each is built on first access."""

    def __init__(self, table: Mapping[str, Entry], built: Mapping[str, _click.Command]) -> None:
        self._table = table
        self._built = dict(built)

    def __getitem__(self, name: str) -> _click.Command:
        if name not in self._built:
            if name not in self._table:
                raise KeyError(name)
            self._built[name] = self._table[name].load(name)
        return self._built[name]

    def __setitem__(self, name: str, command: _click.Command) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        raise TypeError("the command line's commands are fixed")

    def __iter__(self) -> Iterator[str]:
        yield from self._table
        yield from (name for name in self._built if name not in self._table)

    def __len__(self) -> int:
        return len(self._table.keys() | self._built.keys())

    def listing(self) -> dict[str, _click.Command]:
        """Every command for a command list: those built so far, placeholders for the rest."""
        return {
            name: self._built[name] if name in self._built else self._table[name].placeholder(name)
            for name in self
        }


class LazyGroup(TyperGroup):
    """A Typer group whose commands come from :attr:`table` and load when first used.

    Invoking ``shipyard runs ...``, asking ``shipyard runs --help`` or completing a partial
    name (only the names that match it) builds those commands only; a typo's suggestions
    need only the names. The group's own help lists placeholders carrying the table's
    summaries.
    """

    #: The commands, in the order the group's help lists them. Set by a subclass.
    table: ClassVar[Mapping[str, Entry]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(self.table, self.commands)

    def list_commands(self, ctx: _click.Context) -> list[str]:
        """The names, without building the commands."""
        return list(self.commands)

    def parse_args(self, ctx: _click.Context, args: list[str]) -> list[str]:
        """With no arguments, the help and exit status 2, as Typer gives them, but without
        importing Typer's help module only to learn that there is no error to show. (Without
        Rich, Click prints the help as the error, to stderr: left to it.)"""
        rich = HAS_RICH and self.rich_markup_mode is not None
        if rich and not args and self.no_args_is_help and not ctx.resilient_parsing:
            ctx.get_help()  # Rich prints the screen as it draws it
            ctx.exit(2)
        return super().parse_args(ctx, args)

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        """The group's help, listing the commands by their summaries (nothing is built),
        drawn without Typer's help module where that draws the same screen."""
        from shipyard.cli import _group_help  # Rich's panels: a command that runs needs none

        listed = copy.copy(self)
        commands = self.commands
        listed.commands = commands.listing() if isinstance(commands, LazyCommands) else commands
        if HAS_RICH and _group_help.can_draw(listed, ctx):
            _group_help.draw(listed, ctx)
        else:
            TyperGroup.format_help(listed, ctx, formatter)
