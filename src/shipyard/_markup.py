"""Rich markup shared by the command line and the demo: values shown compactly, user data
made safe to embed in markup, and the table of a promotion's gates.

These are pure functions (no console, no exit codes): the CLI owns the terminal and its
error handling (:mod:`shipyard.cli`), the demo only builds what it shows
(:mod:`shipyard.demo`), and both format values and gates the same way through this module.
"""

from __future__ import annotations

import math
from typing import Any

from rich.markup import escape
from rich.table import Table

from shipyard.entities import AliasEvent


def fmt_value(value: Any, exact: bool = False) -> str:
    """Numbers compactly (4 significant digits, or every digit with ``exact``), everything
    else as text."""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value) if exact else f"{value:.4g}"
    return "-" if value is None else str(value)


def safe(value: Any) -> str:
    """User data (names, params, messages) made safe to embed in Rich markup: a run called
    ``[red]x`` or ``a[/]b`` is shown as typed instead of styled or crashing the output."""
    return escape(value if isinstance(value, str) else fmt_value(value))


def gates_table(event: AliasEvent, title: str) -> Table:
    """Each promotion rule with its outcome and the values it compared."""
    table = Table(title=title, header_style="bold")
    for column in ("rule", "result", "detail"):
        table.add_column(column)
    for gate in event.gates:
        verdict = "[green]pass[/]" if gate.passed else "[red]FAIL[/]"
        table.add_row(safe(gate.rule), verdict, safe(gate.detail))
    if not event.gates:
        table.add_row("-", "[green]pass[/]", "no gates")
    return table
