"""`shipyard pipelines ...` and `shipyard scheduler`: run, inspect, resume and schedule."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.tree import Tree

from shipyard.cli._render import (
    FormatOpt,
    Listing,
    OutputFormat,
    console,
    err_console,
    fmt_duration,
    fmt_time,
    friendly_errors,
    print_listing,
    safe,
    status_text,
)
from shipyard.cli._store import existing_client, get_client
from shipyard.cli._ui import print_link
from shipyard.entities import (
    MonitorRun,
    MonitorRunStatus,
    PipelineRun,
    PipelineRunStatus,
    StepRun,
    StepStatus,
)
from shipyard.errors import InvalidArgument

if TYPE_CHECKING:
    from shipyard.pipelines import Pipeline, PipelineRunResult

app = typer.Typer(help="Run, inspect, resume and schedule pipelines.", no_args_is_help=True)
#: How a step's state is coloured: its statuses, the engine's "RETRYING" event, and a queued run.
STEP_STYLE: dict[str, str] = {
    StepStatus.PENDING: "dim",
    StepStatus.RUNNING: "cyan",
    "RETRYING": "yellow",
    StepStatus.FINISHED: "green",
    StepStatus.FAILED: "red",
    StepStatus.SKIPPED: "yellow",
    PipelineRunStatus.QUEUED: "dim",
}
ParamOpt = typer.Option([], "--param", "-p", help="A pipeline parameter, key=value (JSON or text).")


def _parse_params(pairs: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"--param {pair!r} must look like key=value", field="param")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


def _pipeline(target: str) -> Pipeline:
    """A pipeline by ``module:function`` (or ``file.py:function``), or by a known name."""
    from shipyard.pipelines import load_pipeline

    if ":" not in target:
        target = existing_client().store.get_pipeline(target).ref
    return load_pipeline(target)


def _state(status: str, cached: bool = False) -> str:
    text = f"[{STEP_STYLE.get(status, 'white')}]{status}[/]"
    return text + (" [dim](cached)[/]" if cached else "")


class _LiveSteps:
    """The live table `pipelines run` shows while steps change state."""

    def __init__(self, names: list[str]) -> None:
        self.rows: dict[str, dict[str, Any]] = {n: {"status": StepStatus.PENDING} for n in names}
        self.started = time.monotonic()

    def event(self, name: str, status: str, info: dict[str, Any]) -> None:
        row = self.rows.setdefault(name, {})
        row["status"] = status
        row.update(info)
        if status == StepStatus.RUNNING:
            row["since"] = time.monotonic()

    def render(self) -> Table:
        table = Table(header_style="bold", title=f"{time.monotonic() - self.started:.1f}s")
        for column in ("step", "state", "attempt", "time", "note"):
            table.add_column(column)
        for name, row in self.rows.items():
            status = row["status"]
            if status == StepStatus.RUNNING:
                took = f"{time.monotonic() - row.get('since', time.monotonic()):.1f}s"
            elif "duration_ms" in row:
                took = fmt_duration(row["duration_ms"])
            else:
                took = ""
            note = row.get("reason") or " ".join(row.get("error") or [])
            if status == "RETRYING":
                note = f"retrying in {row.get('delay', 0):.1f}s"
            table.add_row(
                safe(name),
                _state(status, row.get("cache_hit", False)),
                str(row.get("attempt", "")),
                took,
                safe(note)[:120],
            )
        return table


@app.command("run")
def run_(
    target: str = typer.Argument(..., help="module:function, file.py:function or a name."),
    param: list[str] = ParamOpt,
    executor: str = typer.Option("inline", "--executor", "-x", help="inline, process or ray."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Run every step again."),
    queued_run: str | None = typer.Option(None, "--queued-run", hidden=True),
) -> None:
    """Run a pipeline, showing each step's state live."""
    from shipyard.pipelines import execute

    with friendly_errors():
        pipeline = _pipeline(target)
        params = _parse_params(param)
        if queued_run is not None:
            params = get_client().store.get_pipeline_run(queued_run).params
        plan = pipeline.build(**params)
        live_steps = _LiveSteps(plan.order)
        with Live(live_steps.render(), console=console, refresh_per_second=8) as live:

            def on_event(name: str, status: str, info: dict[str, Any]) -> None:
                live_steps.event(name, status, info)
                live.update(live_steps.render())

            result = execute(
                pipeline,
                plan,
                executor=executor,
                cache=not no_cache,
                raise_on_failure=False,
                on_event=on_event,
                queued_run_id=queued_run,
            )
            live.update(live_steps.render())
    console.print()
    _summary(result)


@app.command("run-step")
def run_step(
    target: str = typer.Argument(..., help="module:function, file.py:function or a name."),
    step: str = typer.Argument(..., help="The step to run."),
    param: list[str] = ParamOpt,
    no_cache: bool = typer.Option(False, "--no-cache", help="Run the step again."),
) -> None:
    """Run one step of a pipeline, and what it depends on from the cache (as an exported
    Airflow task does); exit 1 when it fails."""
    from shipyard.pipelines import execute, upto

    with friendly_errors():
        pipeline = _pipeline(target)
        plan = upto(pipeline.build(**_parse_params(param)), step)
        result = execute(
            pipeline, plan, executor="inline", cache=not no_cache, raise_on_failure=False,
            on_event=None,
        )  # fmt: skip
    _summary(result)
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def export(
    target: str = typer.Argument(..., help="module:function, file.py:function or a name."),
    to: str = typer.Option(..., "--to", help="airflow or k8s."),
    param: list[str] = ParamOpt,
    output: Path | None = typer.Option(None, "--output", "-o", help="File to write (or stdout)."),
    image: str = typer.Option("", "--image", help="k8s: the image with the project."),
    namespace: str | None = typer.Option(None, "--namespace", "-n", help="k8s: namespace."),
    secret: str | None = typer.Option(
        None, "--env-secret", help="k8s: a Secret whose keys become the environment."
    ),
    cron: str | None = typer.Option(None, "--cron", help="airflow: the DAG's schedule."),
) -> None:
    """Write an Airflow DAG (one task per step, run by Shipyard) or Kubernetes Jobs (a
    CronJob per schedule of the pipeline, else a Job)."""
    from shipyard.pipelines import airflow_dag, kubernetes_jobs

    with friendly_errors():
        pipeline = _pipeline(target)
        params = _parse_params(param)
        if to == "airflow":
            text = airflow_dag(pipeline, params, schedule=cron)
        elif to == "k8s":
            schedules = existing_client().store.list_schedules()
            objects = kubernetes_jobs(
                pipeline, schedules, image=image, namespace=namespace, params=params,
                env_from_secret=secret,
            )  # fmt: skip
            text = _yaml_stream(objects)
        else:
            raise InvalidArgument(f"--to must be airflow or k8s, got {to!r}", field="to")
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        console.print(f"wrote {safe(str(output))}")


def _yaml_stream(objects: list[dict[str, Any]]) -> str:
    """The objects as a YAML stream (as JSON documents, which YAML reads, without PyYAML)."""
    try:
        import yaml
    except ImportError:
        return "".join(f"---\n{json.dumps(o, indent=2)}\n" for o in objects)
    return str(yaml.safe_dump_all(objects, sort_keys=False))


cache_app = typer.Typer(help="The step cache of a pipeline.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


@cache_app.command("clear")
def cache_clear(
    pipeline: str = typer.Argument(..., help="The pipeline's name."),
    step: str | None = typer.Option(None, "--step", help="Only this step's cache."),
) -> None:
    """Forget cached step runs, so the next run computes the steps again (the runs and
    their outputs stay as history)."""
    from shipyard.pipelines import clear_cache

    with friendly_errors():
        existing_client()
        count = clear_cache(pipeline, step)
    what = f"step {step!r} of {pipeline!r}" if step else f"{pipeline!r}"
    console.print(f"cleared {count} cached step run(s) of {safe(what)}")


def _summary(result: PipelineRunResult) -> None:
    hits = len(result.cache_hits)
    console.print(
        f"pipeline [bold]{safe(result.run.pipeline)}[/] run {result.id[:12]} "
        f"{status_text(result.status)} in {fmt_duration(result.run.duration_ms)}"
        f" ({len(result.steps)} steps, {hits} from cache)"
    )
    print_link("pipeline_run", result.id)
    if not result.ok:
        err_console.print(
            f"[bold red]error:[/] {safe(result.run.error)}; see `shipyard pipelines show "
            f"{result.id[:12]}` and `shipyard pipelines resume {result.id[:12]}`",
            soft_wrap=True,
        )
        raise typer.Exit(1)


@app.command()
def resume(
    run_id: str = typer.Argument(..., help="The pipeline run to resume (id or prefix)."),
    executor: str = typer.Option("inline", "--executor", "-x", help="inline, process or ray."),
) -> None:
    """Run again only the steps of a run that did not succeed."""
    from shipyard.pipelines import resume as resume_run

    with friendly_errors():
        result = resume_run(run_id, executor=executor, raise_on_failure=False)
    _summary(result)


@app.command("list")
def list_(fmt: OutputFormat = FormatOpt) -> None:
    """List known pipelines with their last run (and, as a table, the schedules)."""
    with friendly_errors():
        store = existing_client().store
        pipelines = store.list_pipelines()
        last = {p.name: store.list_pipeline_runs(pipeline=p.name, limit=1) for p in pipelines}
        schedules = store.list_schedules()
    listing = Listing("Pipelines", ("name", "reference", "last run", "state", "description"))
    for p in pipelines:
        runs = last[p.name]
        when = fmt_time(runs[0].created_at) if runs else None
        status = runs[0].status if runs else None
        listing.add(
            [p.name, p.ref, when, status, p.description],
            [safe(p.name), safe(p.ref), when or "-", status_text(status) if status else "-",
             safe(p.description)],
        )  # fmt: skip
    print_listing(listing, fmt)
    if schedules and fmt is OutputFormat.table:
        print_listing(_schedules_listing(schedules), fmt)


@app.command()
def runs(
    pipeline: str | None = typer.Option(None, "--pipeline", "-p", help="Only this pipeline."),
    limit: int = typer.Option(20, "--limit", "-n", help="How many runs."),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """List pipeline runs, newest first."""
    with friendly_errors():
        found = existing_client().store.list_pipeline_runs(pipeline=pipeline, limit=limit)
    columns = ("run id", "pipeline", "state", "started", "duration", "executor", "origin")
    listing = Listing("Pipeline runs", columns)
    for r in found:
        origin = (
            f"schedule {r.schedule}"
            if r.schedule
            else (f"resumes {r.resumed_from[:8]}" if r.resumed_from else "")
        )
        started = fmt_time(r.start_time)
        listing.add(
            [r.id, r.pipeline, r.status, started, r.duration_ms, r.executor, origin],
            [r.id[:12], safe(r.pipeline), status_text(r.status), started,
             fmt_duration(r.duration_ms), r.executor, safe(origin)],
        )  # fmt: skip
    print_listing(listing, fmt)


def dag_tree(run: PipelineRun, steps: dict[str, StepRun]) -> Tree:
    """The run's DAG as a tree, each step with its state and duration.

    A step hangs under the upstream step that comes last in execution order; its other
    upstream steps are listed after it, so a fan-in is drawn once.
    """
    from shipyard.pipelines import cache_decision

    order = [node["name"] for node in run.dag]
    position = {name: i for i, name in enumerate(order)}
    upstream = {node["name"]: node["upstream"] for node in run.dag}
    children: dict[str, list[str]] = {name: [] for name in order}
    roots = []
    for name in order:
        ups = sorted(upstream[name], key=position.__getitem__)
        if ups:
            children[ups[-1]].append(name)
        else:
            roots.append(name)

    def label(name: str) -> str:
        step = steps.get(name)
        text = safe(name)
        if step is not None:
            took = fmt_duration(step.duration_ms) if step.duration_ms is not None else ""
            tries = f" after {step.attempts} attempts" if step.attempts > 1 else ""
            text = f"[bold]{text}[/] {_state(step.status, step.cache_hit)} {took}{tries}"
            why = cache_decision(step.logs)
            if why:
                text += f"\n[dim]{safe(why)}[/]"
        others = sorted(upstream[name], key=position.__getitem__)[:-1]
        if others:
            shown = ", ".join(safe(o) for o in others[:6]) + (" ..." if len(others) > 6 else "")
            text += f" [dim]<- also {shown}[/]"
        return text

    tree = Tree(f"[bold]{safe(run.pipeline)}[/] {run.id[:12]} {status_text(run.status)}")

    def grow(name: str, branch: Tree) -> None:
        node = branch.add(label(name))
        for child in children[name]:
            grow(child, node)

    for name in roots:
        grow(name, tree)
    return tree


@app.command()
def show(
    run_id: str = typer.Argument(..., help="A pipeline run id or prefix."),
    logs: str | None = typer.Option(None, "--logs", "-l", help="Print this step's logs."),
) -> None:
    """Draw a run's DAG with each step's state and duration (and errors)."""
    with friendly_errors():
        store = existing_client().store
        run = store.get_pipeline_run(run_id)
        steps = {s.name: s for s in store.list_step_runs(run.id)}
        if logs is not None and logs not in steps:
            raise InvalidArgument(
                f"run {run.id[:12]} has no step {logs!r}; its steps: {', '.join(steps)}",
                field="logs",
            )
    if logs is not None:
        typer.echo(steps[logs].logs or "(no output)")
        return
    params = ", ".join(f"{k}={v}" for k, v in run.params.items())
    console.print(
        f"started {fmt_time(run.start_time)}, took {fmt_duration(run.duration_ms)}, "
        f"executor {run.executor or '-'}, params: {safe(params or '-')}"
    )
    print_link("pipeline_run", run.id)
    parts: list[Any] = [dag_tree(run, steps)]
    for step in steps.values():
        if step.status == StepStatus.FAILED and step.error:
            parts.append(f"[red]{safe(step.name)}[/]: {safe(step.error.strip().splitlines()[-1])}")
    console.print(Group(*parts))


def _schedules_listing(schedules: list[Any]) -> Listing:
    columns = ("name", "pipeline", "cron", "zone", "missed", "overlap", "on", "last due")
    listing = Listing("Schedules", columns)
    for s in schedules:
        listing.add(
            [s.name, s.pipeline, s.cron, s.timezone, s.missed, s.overlap,
             "yes" if s.enabled else "no", fmt_time(s.last_fire_at)]
        )  # fmt: skip
    return listing


@app.command("schedule")
def schedule_(
    target: str = typer.Argument(..., help="module:function or the name of a pipeline."),
    cron: str = typer.Argument(..., help="Cron expression, e.g. '0 3 * * *'."),
    name: str | None = typer.Option(None, "--name", help="Schedule name (default: pipeline's)."),
    param: list[str] = ParamOpt,
    timezone: str = typer.Option("UTC", "--timezone", "--tz", help="IANA time zone."),
    missed: str = typer.Option("skip", "--missed", help="skip or catch_up."),
    overlap: str = typer.Option("skip", "--overlap", help="skip or queue."),
    disable: bool = typer.Option(False, "--disable", help="Store it switched off."),
) -> None:
    """Run a pipeline on a cron schedule (started by `shipyard scheduler`)."""
    from shipyard.pipelines import schedule

    with friendly_errors():
        target_value: Pipeline | str = target
        if ":" not in target:
            target_value = target  # a known pipeline name; imported when the run starts
        made = schedule(
            target_value,
            cron,
            name=name,
            params=_parse_params(param),
            timezone=timezone,
            missed=missed,
            overlap=overlap,
            enabled=not disable,
        )
    console.print(
        f"scheduled [bold]{safe(made.pipeline)}[/] as {safe(made.name)}: {safe(made.cron)} "
        f"({safe(made.timezone)}); start the scheduler with `shipyard scheduler`"
    )


@app.command()
def schedules(fmt: OutputFormat = FormatOpt) -> None:
    """List schedules."""
    with friendly_errors():
        found = existing_client().store.list_schedules()
    print_listing(_schedules_listing(found), fmt)


@app.command()
def unschedule(name: str = typer.Argument(..., help="Schedule name.")) -> None:
    """Delete a schedule (its past runs stay)."""
    with friendly_errors():
        existing_client().store.delete_schedule(name)
    console.print(f"deleted schedule {safe(name)}")


def scheduler_command(
    interval: float = typer.Option(30.0, "--interval", help="Seconds between checks."),
    once: bool = typer.Option(False, "--once", help="Check once and exit."),
    monitors: bool = typer.Option(
        True, "--monitors/--no-monitors", help="Also run monitors that have a schedule."
    ),
    lease: float = typer.Option(
        0.0,
        "--lease",
        help="Seconds the scheduler lease is held per check (default: 3 intervals, at least "
        "60); while another scheduler holds it, this one stands by.",
    ),
    metrics_port: int = typer.Option(
        0,
        "--metrics-port",
        min=0,
        max=65535,
        help="Serve Prometheus metrics on /metrics and a liveness probe on /healthz at this "
        "port (0: off).",
    ),
    metrics_host: str = typer.Option(
        "127.0.0.1", "--metrics-host", help="Address the metrics endpoint listens on."
    ),
) -> None:
    """Start due pipeline runs of every schedule and run due monitors, until Ctrl-C. One
    scheduler is active per store; others started beside it stand by and take over when it
    stops."""
    from shipyard.monitoring import MonitorJob
    from shipyard.pipelines import Scheduler, SchedulerMetrics, serve_metrics

    with friendly_errors():
        lease_seconds = lease or max(60.0, 3 * interval)
        metrics = SchedulerMetrics() if metrics_port else None
        scheduler = Scheduler(
            jobs=[MonitorJob()] if monitors else [], lease_seconds=lease_seconds, metrics=metrics
        )
        if metrics is not None:
            endpoint = serve_metrics(
                metrics, metrics_host, metrics_port, lambda: scheduler.alive(lease_seconds)
            )
            console.print(f"scheduler: metrics on http://{metrics_host}:{endpoint.server_port}")
        if once:
            console.print("scheduler: checking once")
        else:
            console.print(f"scheduler: checking every {interval:g}s (Ctrl-C stops)")
        shown: bool | None = None
        try:
            while True:
                for done in scheduler.tick():
                    console.print(_scheduled_line(done))
                if scheduler.active is not shown:
                    shown = scheduler.active
                    console.print(
                        "scheduler: active"
                        if shown
                        else "scheduler: standing by (another scheduler holds the lease)"
                    )
                if once:
                    return
                time.sleep(interval)
        except KeyboardInterrupt:
            console.print("scheduler stopped")
        finally:
            scheduler.close()


def _scheduled_line(done: Any) -> str:
    """One line for a pipeline run the scheduler started or a monitor run it made."""
    if isinstance(done, PipelineRun):
        return (
            f"{fmt_time(done.start_time)} started [bold]{safe(done.pipeline)}[/] "
            f"run {done.id[:12]} (schedule {safe(done.schedule or '-')})"
        )
    if isinstance(done, MonitorRun):
        failed = f"[red]{done.status}[/]: {safe(done.error)}"
        state = "ok" if done.status == MonitorRunStatus.OK else failed
        firing = [r for r, s in done.result.get("alerts", {}).items() if s.get("firing")]
        alerts = f"; firing: {safe('; '.join(firing))}" if firing else ""
        return (
            f"{fmt_time(done.started_at)} ran monitor [bold]{safe(done.monitor)}[/] "
            f"(window to {fmt_time(done.window_end)}) {state}{alerts}"
        )
    return safe(str(done))
