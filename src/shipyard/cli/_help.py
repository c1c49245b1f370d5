"""Help screens in the usual command-line notation.

Typer's help shows a ``<bool>`` type after every flag (``--all <bool>``), although a flag takes
no value, and writes required arguments as ``{ref}`` on the usage line. Flags here show no
type, and arguments are written ``REF`` (required) and ``[REF]`` (optional), as in most tools.
"""

from __future__ import annotations

import inspect
from typing import Any

import typer
from typer.core import TyperArgument, TyperOption

_option_type = TyperOption.display_type_rich


def _option_type_unless_flag(self: TyperOption, ctx: Any) -> str | None:
    """No type for a flag: it takes no value."""
    return None if self.is_flag else _option_type(self, ctx)


def _argument_usage(self: TyperArgument) -> str:
    """``REF`` when required, ``[REF]`` when optional, ``...`` when it repeats."""
    name = self.metavar or (self.name or "").upper()
    name = name if self.required else f"[{name}]"
    return name + ("..." if self.nargs != 1 else "")


def _argument_name(self: TyperArgument) -> str:
    """The argument's name in the help table, as the usage line writes it."""
    name = self.metavar or (self.name or "").upper()
    return name + ("..." if self.metavar is None and self.nargs != 1 else "")


def install() -> None:
    """Apply the notation to every Typer command of this process (idempotent)."""
    TyperOption.display_type_rich = _option_type_unless_flag  # type: ignore[method-assign]
    TyperArgument._usage_display_name = _argument_usage  # type: ignore[method-assign]
    TyperArgument._rich_display_name = _argument_name  # type: ignore[method-assign]


def one_line_summaries(app: typer.Typer) -> None:
    """Each command's line in its group's command list on one line: Rich help keeps the
    line breaks of a docstring's first paragraph, which then wraps mid-sentence in the
    table. The summary is that paragraph with its breaks joined (its own help keeps them)."""
    for info in app.registered_commands:
        doc = info.help or inspect.getdoc(info.callback) or ""
        first = doc.split("\n\n")[0]
        if info.short_help is None and "\n" in first:
            info.short_help = " ".join(first.split())
    for group in app.registered_groups:
        if group.typer_instance is not None:
            one_line_summaries(group.typer_instance)
