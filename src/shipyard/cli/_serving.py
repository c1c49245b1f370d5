"""`shipyard serve`, `shipyard predict` and `shipyard build`: a model behind the V2 API,
batch scoring of Parquet files, and a self-contained build context."""

from __future__ import annotations

from pathlib import Path

import typer

from shipyard.cli._render import console, friendly_errors, safe


def serve(
    ref: str = typer.Argument(..., help="NAME@ALIAS, NAME/VERSION, or a model folder."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    workers: int = typer.Option(1, "--workers", "-w", help="Worker processes."),
    max_batch_size: int = typer.Option(64, "--max-batch-size", help="Rows per model call."),
    max_wait_ms: float = typer.Option(2.0, "--max-wait-ms", help="Longest wait for a batch."),
    challenger: str | None = typer.Option(None, "--challenger", help="Challenger alias."),
    mode: str = typer.Option("canary", "--mode", help="canary or shadow (with --challenger)."),
    canary_share: float = typer.Option(0.1, "--canary-share", help="Share for the challenger."),
    poll_seconds: float = typer.Option(5.0, "--poll", help="Seconds between alias checks."),
    no_log: bool = typer.Option(False, "--no-log", help="Do not log predictions."),
    proba: str = typer.Option(
        "auto",
        "--proba",
        help="A classifier's probabilities: auto (computed and logged, answered when asked), "
        "always (in every answer) or off (never computed).",
    ),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning, error."),
) -> None:
    """Serve a registered model over the Open Inference Protocol (V2) and /predict."""
    from shipyard.serving import ServingConfig, serve as run

    with friendly_errors():
        config = ServingConfig(
            max_batch_size=max_batch_size,
            max_wait_ms=max_wait_ms,
            challenger=challenger,
            mode=mode,
            canary_share=canary_share,
            poll_seconds=poll_seconds,
            log_predictions=not no_log,
            proba=proba,
        )

        def announce(url: str) -> None:
            console.print(
                f"serving [bold]{safe(ref)}[/] on [bold]{safe(url)}[/] ({workers} "
                f"worker{'s' if workers > 1 else ''}); V2 at /v2/models/..., /predict, "
                "/metrics, API docs at /docs",
                highlight=False,
                soft_wrap=True,
            )

        run(ref, host, port, workers, config, log_level=log_level, announce=announce)


def predict(
    ref: str = typer.Argument(..., help="NAME@ALIAS or NAME/VERSION."),
    input: Path = typer.Option(..., "--input", "-i", help="Parquet file to score."),
    output: Path = typer.Option(..., "--output", "-o", help="Parquet file to write."),
    chunk_rows: int = typer.Option(50_000, "--chunk-rows", help="Rows per chunk."),
    executor: str = typer.Option("local", "--executor", "-e", help="local or ray."),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Ray cluster (ray://head:10001); default: a local Ray."
    ),
    parallel: int | None = typer.Option(
        None, "--parallel", help="Ray actors (default: the cluster's CPUs)."
    ),
) -> None:
    """Score a Parquet file in chunks, here or on Ray; the output is the input plus a
    `prediction` column, in the input's order."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from shipyard.serving import predict_file

    with friendly_errors(), Progress(
        "[bold blue]scoring", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console,
    ) as bar:  # fmt: skip
        task = bar.add_task("scoring", total=None)
        rows = predict_file(
            ref,
            input,
            output,
            chunk_rows=chunk_rows,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            executor=executor,
            ray_address=ray_address,
            max_parallel=parallel,
        )
    on = " on Ray" if executor == "ray" else ""
    console.print(f"scored {rows} rows with {safe(ref)}{on} -> {safe(str(output))}")


def build(
    ref: str = typer.Argument(..., help="NAME@ALIAS or NAME/VERSION."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder to write (new or empty)."),
    workers: int = typer.Option(1, "--workers", "-w", help="Default worker processes."),
    wheel: list[Path] = typer.Option([], "--wheel", help="Wheels to bundle (repeatable)."),
    sbom: bool = typer.Option(
        False, "--sbom", help="Also write sbom.cdx.json: a CycloneDX SBOM of its packages."
    ),
) -> None:
    """Write a self-contained build context (Dockerfile, pinned requirements, model files)."""
    from shipyard.serving import build as write

    with friendly_errors():
        folder = write(ref, output, workers=workers, wheels=list(wheel))
        if sbom:
            from shipyard.deploy import write_sbom

            write_sbom(folder)
    console.print(
        f"wrote the build context of {safe(ref)} to [bold]{safe(str(folder))}[/]; "
        f"try [bold]docker build -t model {safe(str(folder))}[/]"
    )
