"""`shipyard monitor ...`: create monitors, run them now, their history, reports, gauges."""

from __future__ import annotations

from typing import Any, Optional

import typer
from rich.table import Table

from shipyard.cli._render import console, fmt_time, friendly_errors, safe
from shipyard.cli._ui import print_link
from shipyard.entities import MonitorRunStatus, RetrainOutcome
from shipyard.errors import InvalidArgument

app = typer.Typer(help="Monitor models: drift, performance, alerts.", no_args_is_help=True)


def _channels(webhooks: list[str], log: bool) -> list[dict[str, object]]:
    found: list[dict[str, object]] = [{"type": "webhook", "url": u} for u in webhooks]
    return [*found, {"type": "log"}] if log else found


def _pairs(values: Optional[list[str]], option: str) -> list[tuple[str, str]]:
    """``key=value`` options as pairs; a clear error for anything else."""
    pairs = []
    for raw in values or []:
        key, sep, value = raw.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InvalidArgument(f"{option} {raw!r} must look like name=value", field=option)
        pairs.append((key.strip(), value.strip()))
    return pairs


def _number(key: str, value: str, option: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise InvalidArgument(
            f"{option} {key}={value!r}: {value!r} is not a number", field=option
        ) from None


def _drift_tests(values: list[str]) -> dict[str, list[str]]:
    """``--drift default`` (no override) or ``--drift "age=psi,wasserstein"`` per column."""
    tests: dict[str, list[str]] = {}
    for column, names in _pairs([v for v in values if v.strip() != "default"], "--drift"):
        tests[column] = [n.strip() for n in names.split(",") if n.strip()]
    return tests


@app.command()
def create(
    name: str = typer.Argument(..., help="The monitor's name."),
    model: str = typer.Option(..., "--model", help="The model to watch, e.g. churn@champion."),
    window: str = typer.Option("1h", help="How much recent traffic each run scores."),
    schedule: str = typer.Option("", help='Cron schedule, e.g. "*/15 * * * *".'),
    alert: Optional[list[str]] = typer.Option(None, "--alert", help='e.g. "auc < 0.75".'),
    webhook: Optional[list[str]] = typer.Option(None, "--webhook", help="POST alerts here."),
    log: bool = typer.Option(True, help="Also log alerts."),
    reference: Optional[str] = typer.Option(
        None, help="Dataset version to use as reference (default: the training data)."
    ),
    drift: Optional[list[str]] = typer.Option(
        None,
        "--drift",
        help='Tests per column: "default", or "age=psi,wasserstein" (repeat per column).',
    ),
    threshold: Optional[list[str]] = typer.Option(
        None, "--threshold", help='A test\'s threshold, e.g. "psi=0.25" (repeatable).'
    ),
    alpha: float = typer.Option(0.05, "--alpha", help="Level of the p-value tests."),
    columns: Optional[list[str]] = typer.Option(
        None, "--columns", help='Columns to watch, e.g. "age,plan" (default: all inputs).'
    ),
    importance: Optional[list[str]] = typer.Option(
        None, "--importance", help='A column\'s weight in the share drifted, e.g. "age=2".'
    ),
    target: Optional[str] = typer.Option(
        None, "--target", help="The training data's label column, for target drift."
    ),
) -> None:
    """Create (or replace) a monitor."""
    from shipyard import monitoring

    with friendly_errors():
        monitor = monitoring.create_monitor(
            name,
            model,
            window=window,
            schedule=schedule,
            alerts=alert or [],
            channels=_channels(webhook or [], log),
            reference=reference,
            tests=_drift_tests(drift or []),
            thresholds={
                k: _number(k, v, "--threshold") for k, v in _pairs(threshold, "--threshold")
            },
            alpha=alpha,
            columns=[c.strip() for part in columns or [] for c in part.split(",") if c.strip()]
            or None,
            importances={
                k: _number(k, v, "--importance") for k, v in _pairs(importance, "--importance")
            }
            or None,
            target=target,
        )
    console.print(f"monitor [bold]{safe(monitor.name)}[/] on {safe(monitor.model)} created")
    print_link("monitor", monitor.name)


@app.command("list")
def list_() -> None:
    """List the monitors."""
    from shipyard.tracking import get_client

    with friendly_errors():
        monitors = get_client().store.list_monitors()
    table = Table(header_style="bold")
    for column in ("name", "model", "window", "schedule", "alerts"):
        table.add_column(column)
    for m in monitors:
        table.add_row(safe(m.name), safe(m.model), m.window, m.schedule, safe("; ".join(m.alerts)))
    console.print(table)


@app.command()
def run(name: str = typer.Argument(..., help="The monitor to run now.")) -> None:
    """Run a monitor now and store the result."""
    from shipyard import monitoring

    with friendly_errors(), console.status(f"running monitor {name}"):
        result = monitoring.run_monitor(name)
    if result.status != MonitorRunStatus.OK:
        console.print(f"[red]error:[/] {safe(result.error)}")
    drift = result.result.get("drift")
    if drift:
        table = Table(title=f"{drift['n_current']} rows", header_style="bold")
        for column in ("column", "kind", "drifted", "tests"):
            table.add_column(column)
        outputs = [result.result.get(f"{p}_drift") for p in ("prediction", "target")]
        for c in [*drift["columns"], *[o for o in outputs if o and "skipped" not in o]]:
            tests = ", ".join(f"{t['test']}={t['statistic']:.3g}" for t in c["tests"])
            flag = "[red]yes[/]" if c["drifted"] else "no"
            table.add_row(safe(c["column"]), c["kind"], flag, tests)
        console.print(table)
        console.print(f"share drifted: {drift['share_drifted']:.2f}")
    for rule, state in result.result.get("alerts", {}).items():
        color = "red" if state.get("firing") else "green"
        console.print(
            f"alert [{color}]{safe(rule)}[/]: {'FIRING' if state.get('firing') else 'ok'}"
        )
    print_retrain(result.result.get("retrain"))
    print_link("monitor", name)
    if result.status != MonitorRunStatus.OK:
        raise typer.Exit(1)


@app.command()
def history(
    name: str = typer.Argument(...), limit: int = typer.Option(20, help="How many runs.")
) -> None:
    """A monitor's runs, newest first."""
    from shipyard import monitoring

    with friendly_errors():
        runs = monitoring.monitor_history(name, limit=limit)
    table = Table(header_style="bold")
    for column in ("started", "status", "version", "rows", "share drifted", "labelled", "firing"):
        table.add_column(column)
    for r in runs:
        m = r.result.get("metrics", {})
        firing = [k for k, s in r.result.get("alerts", {}).items() if s.get("firing")]
        table.add_row(
            fmt_time(r.started_at),
            r.status if r.status == MonitorRunStatus.OK else f"[red]{r.status}[/]",
            str(r.model_version),
            str(int(m.get("rows", 0))),
            f"{m.get('share_drifted', float('nan')):.2f}",
            str(int(m.get("labelled", 0))),
            safe("; ".join(firing)),
        )
    console.print(table)
    print_link("monitor", name)


@app.command()
def report(
    name: str = typer.Argument(...),
    output: Optional[str] = typer.Option(
        None,
        "--output",
        "-o",
        help="Where to write it (default: report.html; with --json, standard output). A "
        ".json path gets JSON.",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="JSON instead of HTML: to standard output, or to a .json --output."
    ),
) -> None:
    """Write the monitor's report: one offline HTML file (or JSON)."""
    from shipyard import monitoring

    with friendly_errors():
        default = "-" if as_json else "report.html"
        path = monitoring.write_report(name, output or default, as_json=as_json)
    if path != "-":
        console.print(f"report written to {safe(path)}")


@app.command()
def metrics(name: Optional[str] = typer.Argument(None, help="One monitor (default: all).")) -> None:
    """Print the Prometheus gauges of the latest runs."""
    from shipyard import monitoring
    from shipyard.tracking import get_client

    with friendly_errors():
        store = get_client().store
        names = [name] if name else [m.name for m in store.list_monitors()]
        runs = [r for n in names for r in store.list_monitor_runs(n, 1)]
    typer.echo(monitoring.gauges_text(runs), nl=False)


# ----------------------------------------------------------------------------- the closed loop


def print_retrain(outcome: dict[str, Any] | None) -> None:
    """One line for what the retraining policy did in a monitor run (nothing if it did not
    trigger)."""
    if not outcome:
        return
    color = {
        RetrainOutcome.PROMOTED: "green",
        RetrainOutcome.REJECTED: "yellow",
        RetrainOutcome.SKIPPED: "dim",
    }.get(outcome.get("outcome", ""), "red")
    scores = ""
    if "candidate_score" in outcome:
        versus = outcome.get("champion_score")
        scores = f" {outcome['metric']} {outcome['candidate_score']:.4f}" + (
            f" vs champion {versus:.4f}" if versus is not None else ""
        )
    console.print(
        f"retraining [{color}]{outcome.get('outcome', '?')}[/]{scores}: "
        f"{safe(outcome.get('reason', ''))}"
    )


@app.command("retrain-policy")
def retrain_policy(
    name: str = typer.Argument(..., help="The monitor."),
    pipeline: Optional[str] = typer.Option(
        None, "--pipeline", help="Training pipeline: module:function or a registered name."
    ),
    param: list[str] = typer.Option([], "--param", "-p", help="Pipeline parameter key=value."),
    metric: str = typer.Option("auc", help="Compared on the labelled window (auc, rmse...)."),
    direction: str = typer.Option("", help="max or min (default: from the metric)."),
    min_labelled: int = typer.Option(50, help="Labelled rows needed to decide."),
    margin: float = typer.Option(0.0, help="How much the candidate must win by."),
    cooldown: str = typer.Option("1h", help="Least time between two retrainings."),
    on: Optional[list[str]] = typer.Option(None, "--on", help="Alert rules that trigger it."),
    holdout: float = typer.Option(
        0.0, help="Share of labelled predictions kept out of training, for the comparison."
    ),
    remove: bool = typer.Option(False, "--remove", help="Detach the policy."),
) -> None:
    """Show, set (--pipeline) or remove (--remove) a monitor's retraining policy: when one
    of its alerts fires, retrain, compare with the champion on labelled traffic and promote
    through the gate only if the candidate wins."""
    from shipyard import monitoring
    from shipyard.cli._pipelines import _parse_params

    with friendly_errors():
        if remove:
            monitoring.remove_retrain_policy(name)
            console.print(f"monitor [bold]{safe(name)}[/] has no retraining policy now")
            return
        if pipeline is not None:
            policy: Any = monitoring.set_retrain_policy(
                name,
                pipeline,
                params=_parse_params(param),
                metric=metric,
                direction=direction,
                min_labelled=min_labelled,
                margin=margin,
                cooldown=cooldown,
                on=on or [],
                holdout=holdout,
            )
        else:
            policy = monitoring.get_retrain_policy(name)
    if policy is None:
        console.print(
            f"monitor [bold]{safe(name)}[/] has no retraining policy; set one with --pipeline"
        )
        return
    table = Table(title=f"Retraining policy of {safe(name)}", header_style="bold")
    table.add_column("setting")
    table.add_column("value")
    for key, value in policy.to_dict().items():
        table.add_row(key, safe(str(value) if value not in ("", [], {}) else "-"))
    table.add_row("gate", safe(policy.gate(policy.alias or "champion")))
    console.print(table)


__all__ = ["app"]
