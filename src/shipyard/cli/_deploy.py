"""`shipyard deploy`: render deployment files (Kubernetes, KServe, compose, the whole stack)
and turn the Terraform module's outputs into settings. Rendering only: nothing is applied."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import typer

from shipyard.cli._render import console, friendly_errors, safe
from shipyard.errors import InvalidArgument

app = typer.Typer(
    help="Render Kubernetes, KServe, compose, Terraform, Grafana and alert-rule files.",
    no_args_is_help=True,
)
TARGETS = ("k8s", "kserve", "compose")


@app.command("render")
def render(
    ref: str = typer.Argument(..., help="The model to serve: NAME@ALIAS or NAME/VERSION."),
    target: str = typer.Option("k8s", "--target", "-t", help="k8s, kserve or compose."),
    image: str = typer.Option("shipyard:0.1.0", "--image", help="The Shipyard image (tagged)."),
    namespace: str | None = typer.Option(None, "--namespace", "-n", help="Kubernetes namespace."),
    min_replicas: int = typer.Option(2, "--min-replicas", help="Fewest replicas."),
    max_replicas: int = typer.Option(10, "--max-replicas", help="Most replicas."),
    max_batch_size: int = typer.Option(64, "--max-batch-size", help="Rows per model call."),
    output: Path | None = typer.Option(None, "--output", "-o", help="File to write (or stdout)."),
) -> None:
    """Render the manifests of a model server following REF: a Deployment with its Service,
    autoscaler and ServiceMonitor (k8s), a KServe InferenceService (kserve), or the team
    stack's compose file serving REF (compose)."""
    from shipyard import deploy

    with friendly_errors():
        if target not in TARGETS:
            raise InvalidArgument(
                f"--target must be one of {', '.join(TARGETS)}, got {target!r}", field="target"
            )
        stack = deploy.StackSettings(image=image)
        model = deploy.ModelDeployment(
            ref, min_replicas=min_replicas, max_replicas=max_replicas, max_batch_size=max_batch_size
        )
        if target == "compose":
            settings = deploy.ComposeSettings(stack=stack, model=model)
            text = deploy.dump_one(deploy.compose_file(settings))
        else:
            manifests = (
                deploy.model_manifests(stack, model)
                if target == "k8s"
                else [deploy.inference_service(stack, model)]
            )
            text = deploy.dump_all(deploy.in_namespace(manifests, namespace))
    _emit(text, output)


@app.command("stack")
def stack(
    output: Path = typer.Option(..., "--output", "-o", help="Folder to write into."),
    image: str = typer.Option("shipyard:0.1.0", "--image", help="The Shipyard image (tagged)."),
    model: str = typer.Option("churn@champion", "--model", help="The compose stack's model."),
) -> None:
    """Write every file of the team stack: the Dockerfile, the compose stack with Prometheus
    and Grafana, Kustomize bases and overlays, and the Terraform module."""
    from shipyard import deploy

    with friendly_errors():
        settings = deploy.ComposeSettings(
            stack=deploy.StackSettings(image=image, server_workers=2),
            model=deploy.ModelDeployment(model),
        )
        written = deploy.write_stack(output, settings)
    console.print(f"wrote {len(written)} files under {safe(str(output))}", highlight=False)


@app.command("settings")
def settings(
    outputs: Path = typer.Argument(..., help="`terraform output -json` of the module, saved."),
    password_env: str = typer.Option(
        "SHIPYARD_DB_PASSWORD",
        "--password-env",
        help="Environment variable holding the database password.",
    ),
) -> None:
    """Print the server's SHIPYARD_* settings (as `export` lines) from the Terraform outputs.
    The database password is read from an environment variable, never from the command line."""
    from shipyard import deploy

    with friendly_errors():
        try:
            values = json.loads(outputs.read_text())
        except (OSError, ValueError) as exc:
            raise InvalidArgument(f"cannot read {outputs}: {exc}", field="outputs") from None
        if not isinstance(values, dict):
            raise InvalidArgument(f"{outputs} is not a JSON object", field="outputs")
        found = deploy.settings_from_outputs(values, os.environ.get(password_env, ""))
    for name, value in found.items():
        typer.echo(f"export {name}={shlex.quote(value)}")


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text)
    console.print(f"wrote {safe(str(output))}", highlight=False)
