"""A command group's help screen drawn with Rich directly, exactly as Typer draws it, for
``shipyard --help``.

Typer's help renderer (``typer.rich_utils``) imports Rich's Markdown (and markdown-it) and
Rich's traceback module (and Pygments) at import, about a third of ``shipyard --help``'s
start-up, for features this screen does not use: Markdown help text and developer
tracebacks. :func:`draw` lays out the same panels with the same styles for the groups it
can draw (:func:`can_draw`: help in Rich markup, options that are plain flags, commands in
the default panel); any other group is left to Typer. ``tests/cli/test_startup.py``
compares both renderings, plain and in colour, at several widths.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable

from rich.align import Align
from rich.columns import Columns
from rich.console import Console, group
from rich.highlighter import RegexHighlighter
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.theme import Theme
from typer import _click
from typer.core import TyperGroup, TyperOption

#: Typer's help styles (``typer.rich_utils``), by the theme names its highlighters use.
_THEME = {
    "option": "bold cyan",
    "switch": "bold green",
    "negative_option": "bold magenta",
    "negative_switch": "bold red",
    "types": "bold yellow",
    "types_sep": "dim",
    "usage": "yellow",
}
_ANSI_PREFIX = "\033["


class _OptionHighlighter(RegexHighlighter):
    """Options, switches, types and the usage prefix, as Typer highlights them."""

    highlights = [
        r"(^|\W)(?P<switch>\-\w+)(?![a-zA-Z0-9])",
        r"(^|\W)(?P<option>\-\-[\w\-]+)(?![a-zA-Z0-9])",
        r"(?P<types>\<[^\>]+\>)",
        r"(?P<usage>Usage: )",
    ]


_highlighter = _OptionHighlighter()


def _console() -> Console:
    """A console configured as Typer's help console (colour when a terminal or forced)."""
    force: bool | None = None
    if os.getenv("GITHUB_ACTIONS") or os.getenv("FORCE_COLOR") or os.getenv("PY_COLORS"):
        force = True
    if os.getenv("_TYPER_FORCE_DISABLE_TERMINAL"):
        force = False
    width = os.getenv("TERMINAL_WIDTH")
    return Console(
        theme=Theme(_THEME),
        highlighter=_highlighter,
        color_system="auto",
        force_terminal=force,
        width=int(width) if width else None,
    )


def _rich_text(text: str, style: str = "") -> Text:
    """Help text in Rich markup (or with ANSI codes), highlighted."""
    text = inspect.cleandoc(text)
    if _ANSI_PREFIX in text:
        return _highlighter(Text.from_ansi(text, style=style))
    return _highlighter(Text.from_markup(text, style=style))


def _plain_flag(param: _click.Parameter, ctx: _click.Context) -> bool:
    """A flag whose help line is its help text alone: no type, default, env var, range,
    required mark, negative form or panel of its own."""
    if not isinstance(param, TyperOption) or not param.is_flag or param.secondary_opts:
        return False
    if param.rich_help_panel or param.display_type_rich(ctx=ctx) is not None:
        return False
    record = param.get_help_record(ctx)
    return record is not None and record[1] == (param.help or "")


def can_draw(obj: TyperGroup, ctx: _click.Context) -> bool:
    """Whether :func:`draw` renders ``obj``'s help as Typer would."""
    if obj.rich_markup_mode != "rich" or obj.deprecated or obj.epilog:
        return False
    visible = [p for p in obj.get_params(ctx) if not getattr(p, "hidden", False)]
    if not all(_plain_flag(p, ctx) for p in visible):
        return False
    commands = [obj.get_command(ctx, name) for name in obj.list_commands(ctx)]
    return all(
        c is not None and not c.deprecated and not getattr(c, "rich_help_panel", None)
        for c in commands
    )


@group()
def _help_text(help: str) -> Iterable[Text]:
    """The group's help: the first paragraph on one line, the rest dim."""
    first, *rest = inspect.cleandoc(help).partition("\f")[0].split("\n\n")
    if not first.startswith("\b"):
        first = first.replace("\n", " ")
    yield _rich_text(first.strip())
    if rest:
        yield Text("")
        yield _rich_text("\n\n".join(rest), style="dim")


def _option_help(param: TyperOption) -> Columns:
    """An option's help cell: its paragraphs, single line breaks joined."""
    help = param.help
    if not help:
        return Columns([])
    paragraphs = [
        p.replace("\n", " ").strip() if not p.startswith("\b") else "{}\n".format(p.strip("\b\n"))
        for p in help.split("\n\n")
    ]
    return Columns([_rich_text("\n".join(paragraphs).strip())])


def _panel_table(*, highlight: bool) -> Table:
    """The borderless, full-width table inside a help panel."""
    return Table(highlight=highlight, show_header=False, expand=True, box=None, pad_edge=False)


def _options_panel(params: list[TyperOption]) -> Panel:
    table = _panel_table(highlight=True)
    for param in params:
        long = [o for o in param.opts if "--" in o]
        short = [o for o in param.opts if "--" not in o]
        table.add_row(
            _highlighter(",".join(long)),
            _highlighter(",".join(short)),
            Text(""),
            Text(""),
            Text(style="bold yellow", overflow="fold"),
            _option_help(param),
        )
    return Panel(table, border_style="dim", title="Options", title_align="left")


def _command_help(command: _click.Command) -> Text:
    """A command's line: the first paragraph of its short help or help."""
    first = inspect.cleandoc(command.short_help or command.help or "").split("\n\n")[0]
    if first.startswith("\b"):
        first = first.replace("\b\n", "")
    return _rich_text(first.strip())


def _commands_panel(commands: list[_click.Command]) -> Panel:
    table = _panel_table(highlight=False)
    width = max((len(c.name or "") for c in commands), default=0)
    table.add_column(style="bold cyan", no_wrap=True, width=width)
    table.add_column("Description", justify="left", no_wrap=False, ratio=10)
    for command in commands:
        table.add_row(Text(command.name or ""), _command_help(command))
    return Panel(table, border_style="dim", title="Commands", title_align="left")


def draw(obj: TyperGroup, ctx: _click.Context) -> None:
    """Print ``obj``'s help to stdout (only for a group :func:`can_draw` accepts)."""
    console = _console()
    console.print(Padding(_highlighter(obj.get_usage(ctx)), 1), style="bold")
    if obj.help:
        console.print(Padding(Align(_help_text(obj.help), pad=False), (0, 1, 1, 1)))
    params = obj.get_params(ctx)
    options = [p for p in params if isinstance(p, TyperOption) and not p.hidden]
    if options:
        console.print(_options_panel(options))
    commands = [obj.get_command(ctx, name) for name in obj.list_commands(ctx)]
    visible = [c for c in commands if c is not None and not c.hidden]
    if visible:
        console.print(_commands_panel(visible))
