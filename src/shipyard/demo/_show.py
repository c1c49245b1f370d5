"""The demo as a user watches it: each section's progress, tables and one-line summaries,
in order, on a :class:`Screen`.

The demo decides what is shown and in what order; the screen decides where it goes and how
an error ends it (the CLI passes its terminal: the console, its progress bar, one-line errors
instead of tracebacks). So the demo never imports the CLI, and a test can pass a recording
screen.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from rich.console import RenderableType

from shipyard._markup import gates_table, safe
from shipyard.demo._champion import DemoResult, run_demo
from shipyard.demo._data import TARGET
from shipyard.demo._loop import SCALE, SHIFTED, LoopResult, run_loop
from shipyard.demo._names import DemoNames, next_demo
from shipyard.demo._serving import run_serving_demo
from shipyard.demo._tables import (
    drift_table,
    hyper,
    leaderboard_table,
    lineage_tree,
    monitor_runs_table,
    scored_table,
    scores_table,
    serving_table,
    took,
    traffic_table,
)
from shipyard.entities import AliasOutcome

#: Moves a progress bar: ``(description, done, total)``.
Report = Callable[[str, int, int], None]


class Screen(Protocol):
    """Where the demo shows itself."""

    def rule(self, title: str) -> None:
        """A section heading (Rich markup)."""

    def print(self, renderable: RenderableType) -> None:
        """A line of Rich markup, a table or a tree."""

    def progress(self, name: str) -> AbstractContextManager[Report]:
        """A progress bar for one long stage; an error inside it ends the demo the screen's
        way."""

    def status(self, text: str) -> AbstractContextManager[Any]:
        """A spinner with ``text`` while a short stage runs; an error inside it ends the demo
        the screen's way."""


def show(screen: Screen) -> None:
    """The whole demo: training and the registry, the features, serving, the closed loop.

    Each run works under fresh names (see :mod:`._names`), so the demo runs again in the
    same folder and leaves the earlier runs' experiment, model and dataset as they were."""
    screen.rule("[bold]Shipyard demo")
    with screen.status("opening the store..."):
        names = next_demo()
    _show_names(screen, names)
    with screen.progress("pipeline") as report:
        result = run_demo(lambda label, done, total: report(f"step {label}", done, total), names)
    _show_training(screen, result)
    _show_registry(screen, result)
    if result.features:
        f = result.features
        screen.print(
            f"features: service [bold]{safe(f['service'])}[/] (point-in-time training set), "
            f"{f['materialized']} patients materialized online; mean radius of patients "
            f"{f['patients']}: {f['mean radius']} ({', '.join(f['statuses'])}); try "
            "[bold]shipyard features list[/]"
        )
    if result.version is not None and result.promotion is not None:
        rows = None
        if result.first is not None:  # realistic traffic: the validation rows
            rows = result.first.output("split", 1).drop(columns=[TARGET]).to_dict("records")
        _show_serving(screen, f"{result.version.name}@{result.promotion.alias}", rows)
        _show_loop(screen, names)


def _show_names(screen: Screen, names: DemoNames) -> None:
    """Which names this run of the demo uses, and that earlier runs are kept."""
    where = (
        f"experiment [bold]{safe(names.experiment)}[/], model [bold]{safe(names.model)}[/], "
        f"dataset [bold]{safe(names.dataset)}[/]"
    )
    if names.number == 1:
        screen.print(f"this demo works in {where}; each new `shipyard demo` makes a fresh set")
    else:
        screen.print(
            f"demo run {names.number} in this store, in a fresh {where} "
            "(the earlier runs' are kept as they were)"
        )


def _show_training(screen: Screen, result: DemoResult) -> None:
    """The leaderboard, the best run, the dataset and both pipeline runs."""
    screen.print(leaderboard_table(result.leaderboard))
    best = result.leaderboard[0] if result.leaderboard else None
    if best is not None:
        screen.print(
            f"best: [bold]{safe(best.name)}[/] "
            f"({safe(best.params.get('model', '-'))}: {safe(hyper(best))}) "
            f"val_auc={best.metrics['val_auc']:.4f}"
        )
    screen.print(
        f"tracked {len(result.leaderboard)} runs in experiment [bold]{safe(result.experiment)}[/] "
        f"in {result.seconds:.1f}s; try [bold]shipyard runs list -e {safe(result.experiment)}[/]"
        + (f" and [bold]shipyard models show {result.version.name}[/]" if result.version else "")
    )
    if result.first is not None and result.second is not None and result.dataset is not None:
        first, second = result.first, result.second
        screen.print(
            f"dataset [bold]{safe(result.dataset.ref)}[/] ({result.dataset.num_rows} rows, "
            f"sha256 {result.dataset.content_hash[:12]}); pipeline [bold]"
            f"{safe(first.run.pipeline)}[/]: first run {took(first)} "
            f"({len(first.cache_hits)}/{len(first.steps)} steps cached), second run "
            f"{took(second)} ({len(second.cache_hits)}/{len(second.steps)} steps cached)"
        )
        lineage = f" and [bold]shipyard lineage run:{best.id[:12]} --up[/]" if best else ""
        screen.print(f"see [bold]shipyard pipelines show {first.id[:12]}[/]{lineage}")


def _show_registry(screen: Screen, result: DemoResult) -> None:
    """The registry half of the demo: registration, the gated promotion, the scored rows."""
    version, event = result.version, result.promotion
    if version is None or event is None:
        return
    screen.rule("[bold]Model registry")
    screen.print(
        f"registered [bold]{safe(version.ref)}[/] from run {version.run_id and version.run_id[:8]} "
        f"(flavor {version.flavor}, {len(version.files)} files, "
        f"{len(version.requirements)} pinned requirements)"
    )
    screen.print(gates_table(event, f"Promotion of {version.ref} to @{event.alias}"))
    moved = "promoted" if event.outcome == AliasOutcome.MOVED else "NOT promoted"
    screen.print(
        f"{moved}: [bold]{safe(version.name)}@{event.alias}[/] -> version {event.to_version}"
    )
    screen.print(scored_table(version, result.scored))


def _show_serving(screen: Screen, ref: str, rows: list[dict[str, Any]] | None) -> None:
    """Serve ``ref`` in the background, send a burst, show what the server measured."""
    screen.rule("[bold]Model serving")
    with screen.status(f"serving {safe(ref)} and sending a burst of requests..."):
        stats = run_serving_demo(ref, rows)
    screen.print(serving_table(ref, stats))
    screen.print(f"serve it yourself: [bold]shipyard serve {safe(ref)}[/]")


def _show_loop(screen: Screen, names: DemoNames) -> None:
    """The closed loop, one stage at a time."""
    model = names.model
    screen.rule("[bold]The closed loop")
    screen.print(
        f"the tumour-size instrument is recalibrated: {len(SHIFTED)} columns now read "
        f"{SCALE}x ({safe(', '.join(SHIFTED[:3]))}, ...)"
    )
    with screen.progress("closed loop") as report:
        loop = run_loop(model, report, names)
    screen.print(traffic_table(loop))
    _show_monitor(screen, loop)
    _show_retraining(screen, loop)
    screen.print(
        f"the server (following @champion) swapped from version {loop.champion_before} to "
        f"[bold]{loop.champion_after}[/] {loop.swap_seconds:.1f}s after the promotion; "
        f"{loop.after.versions.count(loop.champion_after)}/{len(loop.after.versions)} later "
        f"responses carry version {loop.champion_after}"
    )
    for walked, when in zip(loop.walks, ("before", "after"), strict=True):
        screen.print(lineage_tree(walked, when))
    screen.print(
        f"closed loop in {loop.seconds:.1f}s; try [bold]shipyard monitor history "
        f"{safe(loop.first.monitor)}[/] and [bold]shipyard models show {safe(model)}[/]"
    )


def _show_monitor(screen: Screen, loop: LoopResult) -> None:
    """The first monitor run: which columns drifted, by how much."""
    drift = loop.first.result.get("drift", {})
    screen.print(drift_table(loop))
    screen.print(
        f"{len(drift.get('drifted_columns', []))} of {len(drift.get('columns', []))} columns "
        f"drifted: [bold]{safe(', '.join(drift.get('drifted_columns', [])))}[/]"
    )


def _show_retraining(screen: Screen, loop: LoopResult) -> None:
    """Both monitor runs, what the retraining policy did and why, the candidate and the
    champion on the held-out rows, and the gate the candidate passed (or failed)."""
    screen.print(monitor_runs_table(loop))
    for run in (loop.first, loop.second):
        retrain = run.result.get("retrain") or {}
        if retrain:
            screen.print(
                f"run {run.id[:8]}: retraining {safe(retrain.get('outcome', '?'))}: "
                f"{safe(retrain.get('reason', ''))}"
            )
    retrain = loop.second.result.get("retrain") or {}
    if "candidate" not in retrain:
        return
    screen.print(scores_table(loop, retrain))
    for gate in retrain.get("gates", []):
        mark = "[green]pass[/]" if gate["passed"] else "[red]fail[/]"
        screen.print(f"gate {mark} {safe(gate['rule'])}: {safe(gate['detail'])}")
