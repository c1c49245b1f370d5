"""Pipelines: ``@step`` and ``@pipeline``, a DAG from data dependencies, content-addressed
caching, retries with backoff, timeouts that stop the step, resume, schedules, and inline,
process-pool and Ray executors.

    from shipyard.pipelines import pipeline, step

    @step
    def load(n: int) -> list[int]:
        return list(range(n))

    @step(retries=2, retry_delay=1.0)
    def total(values: list[int]) -> int:
        return sum(values)

    @pipeline
    def numbers(n: int = 10):
        total(load(n))

    result = numbers.run(n=5)          # a second run is served from the cache
"""

from shipyard.client import check_cron
from shipyard.pipelines._cache import clear_cache
from shipyard.pipelines._cache_reasons import decision as cache_decision
from shipyard.pipelines._engine import PipelineRunResult, execute, get_run, list_runs, resume_run
from shipyard.pipelines._executors import (
    Executor,
    InlineExecutor,
    ProcessExecutor,
    make_executor,
)
from shipyard.pipelines._export import airflow_dag, kubernetes_jobs, step_command, upto
from shipyard.pipelines._metrics import SchedulerMetrics, serve_metrics
from shipyard.pipelines._pipeline import Pipeline, Plan, load_pipeline, pipeline
from shipyard.pipelines._schedule import (
    Job,
    Launcher,
    Scheduler,
    SubprocessLauncher,
    due_times,
    latest_due,
    schedule,
)
from shipyard.pipelines._step import Step, StepOptions, StepOutput, step
from shipyard.pipelines._step_outputs import Materializer, OutputTypeError, register_materializer
from shipyard.pipelines._task import StepOutcome, StepTask


def resume(run_id: str, **options: object) -> PipelineRunResult:
    """Re-run what did not succeed in pipeline run ``run_id`` (imports its pipeline by the
    ``module:function`` reference recorded on the run)."""
    return resume_run(run_id, **options)  # type: ignore[arg-type]


__all__ = [
    "Executor",
    "InlineExecutor",
    "Job",
    "Launcher",
    "Materializer",
    "OutputTypeError",
    "Pipeline",
    "PipelineRunResult",
    "Plan",
    "ProcessExecutor",
    "Scheduler",
    "SchedulerMetrics",
    "Step",
    "StepOptions",
    "StepOutcome",
    "StepOutput",
    "StepTask",
    "SubprocessLauncher",
    "airflow_dag",
    "cache_decision",
    "check_cron",
    "clear_cache",
    "due_times",
    "execute",
    "get_run",
    "kubernetes_jobs",
    "latest_due",
    "list_runs",
    "load_pipeline",
    "make_executor",
    "pipeline",
    "register_materializer",
    "resume",
    "schedule",
    "serve_metrics",
    "step",
    "step_command",
    "upto",
]
