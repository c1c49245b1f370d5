"""Exporting a pipeline to another orchestrator: an Airflow DAG, or Kubernetes Jobs.

Shipyard stays the step runner: an exported task runs ``shipyard pipelines run-step REF STEP``,
which runs the step and, from the cache, the steps it depends on (:func:`upto`). So the
outputs, lineage, retries, contracts and trust of a step are the same whoever schedules it,
and an upstream task that already ran is never run twice.

- **Airflow** (:func:`airflow_dag`): a DAG file with one ``BashOperator`` task per step and the
  pipeline's edges; it imports with Airflow 2 and 3.
- **Kubernetes** (:func:`kubernetes_jobs`): a ``CronJob`` per schedule of the pipeline (its
  cron, time zone and params; ``overlap=skip`` as ``concurrencyPolicy: Forbid``, ``queue``
  as ``Allow``: Kubernetes has no queue, so such runs may overlap), or one
  ``Job`` when it has none, each running the whole pipeline in the given image.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from shipyard.entities import Schedule
from shipyard.errors import InvalidArgument
from shipyard.pipelines._pipeline import Pipeline, Plan

_K8S_NAME = re.compile(r"[^a-z0-9-]+")
_DAG_ID = re.compile(r"[^A-Za-z0-9_.-]+")


def upto(plan: Plan, step: str) -> Plan:
    """The part of ``plan`` that ``step`` needs: the step and everything upstream of it.

    Raises:
        InvalidArgument: The plan has no step ``step``.
    """
    if step not in plan.nodes:
        raise InvalidArgument(
            f"the pipeline has no step {step!r}; its steps: {', '.join(plan.order)}",
            field="step",
        )
    needed = {step}
    frontier = [step]
    while frontier:
        for up in plan.nodes[frontier.pop()].upstream:
            if up not in needed:
                needed.add(up)
                frontier.append(up)
    order = [name for name in plan.order if name in needed]
    return Plan({name: plan.nodes[name] for name in order}, order, plan.params)


def _param_args(params: dict[str, Any]) -> list[str]:
    return [arg for k, v in params.items() for arg in ("-p", f"{k}={json.dumps(v)}")]


def step_command(pipeline: Pipeline, step: str, params: dict[str, Any]) -> list[str]:
    """The command that runs ``step`` of ``pipeline`` with ``params`` (and, from the cache,
    what it depends on)."""
    return ["shipyard", "pipelines", "run-step", pipeline.ref, step, *_param_args(params)]


def airflow_dag(
    pipeline: Pipeline,
    params: dict[str, Any] | None = None,
    *,
    dag_id: str | None = None,
    schedule: str | None = None,
) -> str:
    """The source of an Airflow DAG file running ``pipeline`` one task per step.

    Args:
        pipeline: The pipeline (built with ``params`` to find its steps and edges).
        params: The pipeline's parameters, passed to every task.
        dag_id: The DAG's id; the pipeline's name (made safe) by default.
        schedule: A cron expression; None: triggered by hand.

    Returns:
        Python source that defines ``dag``.
    """
    params = dict(params or {})
    plan = pipeline.build(**params)
    ident = dag_id or _DAG_ID.sub("_", pipeline.name)
    lines = [
        f'"""Airflow DAG of the Shipyard pipeline {pipeline.name!r} ({pipeline.ref}).',
        "",
        "Written by `shipyard pipelines export --to airflow`: one task per step, each run by",
        "Shipyard's step runner (upstream steps come from Shipyard's cache). Re-export it when",
        'the pipeline changes."""',
        "",
        "from datetime import datetime",
        "",
        "from airflow import DAG",
        "",
        "try:  # Airflow 3",
        "    from airflow.providers.standard.operators.bash import BashOperator",
        "except ImportError:  # Airflow 2",
        "    from airflow.operators.bash import BashOperator",
        "",
        "with DAG(",
        f"    dag_id={ident!r},",
        f"    schedule={schedule!r},",
        "    start_date=datetime(2024, 1, 1),",
        "    catchup=False,",
        '    tags=["shipyard"],',
        f"    description={pipeline.description[:200]!r},",
        ") as dag:",
        "    tasks = {}",
    ]
    for name in plan.order:
        command = shlex.join(step_command(pipeline, name, params))
        lines.append(
            f"    tasks[{name!r}] = BashOperator(task_id={name!r}, bash_command={command!r})"
        )
    for name in plan.order:
        for up in plan.nodes[name].upstream:
            lines.append(f"    tasks[{up!r}] >> tasks[{name!r}]")
    return "\n".join(lines) + "\n"


def _k8s_name(*parts: str) -> str:
    name = _K8S_NAME.sub("-", "-".join(parts).lower()).strip("-")[:52].strip("-")
    return name or "pipeline"


def kubernetes_jobs(
    pipeline: Pipeline,
    schedules: list[Schedule],
    *,
    image: str,
    namespace: str | None = None,
    params: dict[str, Any] | None = None,
    env_from_secret: str | None = None,
) -> list[dict[str, Any]]:
    """Kubernetes objects running ``pipeline``: a CronJob per schedule of it, or a Job.

    Args:
        pipeline: The pipeline.
        schedules: Its schedules (others are ignored); none: one Job with ``params``.
        image: The container image holding the project and Shipyard.
        namespace: The namespace of the objects; none: the current one.
        params: The parameters of the Job (a schedule's own params win for its CronJob).
        env_from_secret: A Secret whose keys become the container's environment (e.g.
            ``SHIPYARD_TRACKING_URI`` and ``SHIPYARD_TOKEN``).

    Returns:
        The manifests, as dicts ready for YAML.
    """
    if not image:
        raise InvalidArgument("an image is needed to run the pipeline", field="image")

    def pod(run_params: dict[str, Any]) -> dict[str, Any]:
        container: dict[str, Any] = {
            "name": "pipeline",
            "image": image,
            "command": ["shipyard", "pipelines", "run", pipeline.ref, *_param_args(run_params)],
        }
        if env_from_secret:
            container["envFrom"] = [{"secretRef": {"name": env_from_secret}}]
        return {"spec": {"restartPolicy": "Never", "containers": [container]}}

    def meta(name: str) -> dict[str, Any]:
        found: dict[str, Any] = {
            "name": name,
            "labels": {"app.kubernetes.io/managed-by": "shipyard"},
            "annotations": {"shipyard.dev/pipeline": pipeline.name},
        }
        if namespace:
            found["namespace"] = namespace
        return found

    job_spec = {"backoffLimit": 0}
    mine = [s for s in schedules if s.pipeline == pipeline.name or s.ref == pipeline.ref]
    if not mine:
        spec = {**job_spec, "template": pod(dict(params or {}))}
        name = _k8s_name(pipeline.name)
        return [{"apiVersion": "batch/v1", "kind": "Job", "metadata": meta(name), "spec": spec}]
    jobs = []
    for s in mine:
        jobs.append(
            {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": meta(_k8s_name(pipeline.name, s.name)),
                "spec": {
                    "schedule": s.cron,
                    "timeZone": s.timezone,
                    "suspend": not s.enabled,
                    "concurrencyPolicy": "Forbid" if s.overlap == "skip" else "Allow",
                    "jobTemplate": {"spec": {**job_spec, "template": pod(s.params)}},
                },
            }
        )
    return jobs
