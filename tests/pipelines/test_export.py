"""Pipelines handed to other orchestrators and their cache managed: the Airflow DAG imports
in Airflow (in its own virtualenv) with the pipeline's exact task graph and each task runs
its step through Shipyard; Kubernetes Jobs and CronJobs validate offline; `run-step` runs a
step with its upstream from the cache; `cache clear` makes the next run compute again; each
step run says why it came from the cache or ran, and `pipelines show` prints it."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shipyard.errors import InvalidArgument, NotFound
from shipyard.pipelines import (
    airflow_dag,
    cache_decision,
    clear_cache,
    kubernetes_jobs,
    schedule,
    step_command,
    upto,
)
from shipyard.tracking import Client
from tests.pipelines import steps
from tests.pipelines.steps import calls
from tests.support.warm import WarmPython

AIRFLOW = "apache-airflow==3.3.2"
K8S_VERSION = "1.30.0"
ROOT = Path(__file__).resolve().parents[2]
_GRAPH = """
import json, runpy, sys
namespace = runpy.run_path(sys.argv[1])
dag = namespace["dag"]
print(json.dumps({t.task_id: [sorted(t.upstream_task_ids), t.bash_command]
                  for t in dag.tasks}))
"""


@pytest.fixture(scope="session")
def airflow_python() -> Path:
    """The interpreter of a virtualenv with Airflow (never the project's), built once per
    machine under ~/.cache/shipyard-tests (SHIPYARD_TEST_CACHE) and reused while its pin
    holds."""
    cache = Path(os.environ.get("SHIPYARD_TEST_CACHE", Path.home() / ".cache/shipyard-tests"))
    venv = cache / "airflow-venv"
    python, pin = venv / "bin" / "python", venv / "shipyard-pin.txt"
    if python.exists() and pin.exists() and pin.read_text() == AIRFLOW:
        return python
    cache.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    subprocess.run(["uv", "venv", "-q", "--clear", "--python", sys.executable, str(venv)],
                   check=True, env=env)  # fmt: skip
    subprocess.run(["uv", "pip", "install", "-q", "--python", str(python), AIRFLOW],
                   check=True, env=env, timeout=1800)  # fmt: skip
    pin.write_text(AIRFLOW)
    return python


def test_upto_keeps_a_step_and_what_it_needs() -> None:
    plan = steps.chain.build(n=3)
    assert upto(plan, "total").order == ["source", "double", "total"]
    assert upto(plan, "side").order == ["side"]
    with pytest.raises(InvalidArgument, match="no step 'nope'; its steps: source") as caught:
        upto(plan, "nope")
    assert caught.value.field == "step"


@pytest.mark.slow
def test_the_airflow_dag_imports_with_the_pipelines_task_graph(
    tmp_path: Path, airflow_python: Path
) -> None:
    dag_file = tmp_path / "chain_dag.py"
    dag_file.write_text(airflow_dag(steps.chain, {"n": 3}, schedule="0 3 * * *"))
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow")}
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(
        [str(airflow_python), "-c", _GRAPH, str(dag_file)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    graph = json.loads(done.stdout.strip().splitlines()[-1])
    plan = steps.chain.build(n=3)
    assert {task: upstream for task, (upstream, _) in graph.items()} == {
        name: sorted(plan.nodes[name].upstream) for name in plan.order
    }
    assert graph["double"][1] == (
        "shipyard pipelines run-step tests.pipelines.steps:chain double -p n=3"
    )
    assert step_command(steps.chain, "double", {"n": 3})[3:5] == [
        "tests.pipelines.steps:chain",
        "double",
    ]


def test_an_exported_task_runs_its_step_with_upstream_from_the_cache(
    tmp_path: Path, sqlite_sdk: Client, warm_python: WarmPython
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SHIPYARD_HOME": str(sqlite_sdk.settings.home),
    }

    def task(step: str) -> subprocess.CompletedProcess[str]:
        command = step_command(steps.chain, step, {"n": 3})  # `python -m shipyard ...`
        return warm_python.run(["-m", "shipyard", *command[1:]], cwd=tmp_path, env=env)

    for name in ("source", "double", "total"):  # as Airflow runs them, in order
        done = task(name)
        assert done.returncode == 0, done.stdout + done.stderr
    assert calls() == ["source", "double", "total"]  # each step ran once; upstream cached
    failed = task("nope")
    assert failed.returncode == 1 and "no step 'nope'" in failed.stderr


def test_kubernetes_objects_validate_offline(sqlite_sdk: Client) -> None:
    import kubernetes_validate

    (job,) = kubernetes_jobs(steps.chain, [], image="registry.example/churn:1", params={"n": 3})
    assert job["kind"] == "Job"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "shipyard", "pipelines", "run", "tests.pipelines.steps:chain", "-p", "n=3",
    ]  # fmt: skip
    nightly = schedule(steps.chain, "0 3 * * *", name="nightly", params={"n": 9},
                       timezone="Europe/Oslo")  # fmt: skip
    paused = schedule(steps.chain, "*/15 * * * *", name="often", overlap="queue", enabled=False)
    cronjobs = kubernetes_jobs(
        steps.chain, [nightly, paused], image="registry.example/churn:1", namespace="ml",
        env_from_secret="shipyard",
    )  # fmt: skip
    assert [c["kind"] for c in cronjobs] == ["CronJob", "CronJob"]
    assert cronjobs[0]["spec"]["schedule"] == "0 3 * * *"
    assert cronjobs[0]["spec"]["timeZone"] == "Europe/Oslo"
    assert cronjobs[1]["spec"]["suspend"] is True
    for manifest in [job, *cronjobs]:
        kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
    with pytest.raises(InvalidArgument, match="image"):
        kubernetes_jobs(steps.chain, [], image="")


def test_the_cli_exports_both_forms(
    tmp_path: Path, sqlite_sdk: Client, warm_python: WarmPython
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SHIPYARD_HOME": str(sqlite_sdk.settings.home)}

    def shipyard(*args: str) -> subprocess.CompletedProcess[str]:
        return warm_python.run(["-m", "shipyard", *args], cwd=tmp_path, env=env)

    ref = "tests.pipelines.steps:chain"
    done = shipyard("pipelines", "export", ref, "--to", "airflow", "-o", "dag.py")
    assert done.returncode == 0, done.stderr
    compile((tmp_path / "dag.py").read_text(), "dag.py", "exec")
    done = shipyard("pipelines", "export", ref, "--to", "k8s", "--image", "img:1")
    assert done.returncode == 0, done.stderr
    assert [d["kind"] for d in yaml.safe_load_all(done.stdout)] == ["Job"]
    done = shipyard("pipelines", "export", ref, "--to", "nomad")
    assert done.returncode == 1 and "--to must be airflow or k8s" in done.stderr


def test_cache_clear_makes_the_next_run_compute_again(sqlite_sdk: Client) -> None:
    steps.chain.run(n=4)
    steps.chain.run(n=4)
    assert sorted(calls()) == ["double", "side", "source", "total"]  # the second: cached
    assert clear_cache("chain", step="total") == 2  # its run, and the hit that reused it
    steps.chain.run(n=4)
    assert calls()[4:] == ["total"]  # only the cleared step ran again
    assert clear_cache("chain") == 3 + 3 + 4  # every step run still carrying a key
    steps.chain.run(n=4)
    assert sorted(calls()[5:]) == ["double", "side", "source", "total"]
    with pytest.raises(InvalidArgument, match="no runs of a step 'nope'"):
        clear_cache("chain", step="nope")
    with pytest.raises(NotFound):
        clear_cache("no-such-pipeline")


_MODULE = """
from shipyard.pipelines import pipeline, step

def _scale(x: int) -> int:
    return x * {factor}

@step
def scaled(n: int) -> int:
    return _scale(n)

@pipeline(name="reasons")
def reasons(n: int = 2) -> None:
    scaled(n)
"""


def test_each_step_run_says_why_it_was_cached_or_ran(
    tmp_path: Path, sqlite_sdk: Client, monkeypatch: pytest.MonkeyPatch, warm_python: WarmPython
) -> None:
    first = steps.chain.run(n=4)
    assert {n: cache_decision(s.logs) for n, s in first.steps.items()} == dict.fromkeys(
        first.steps, "re-ran: no earlier run of pipeline 'chain' has this step"
    )
    again = steps.chain.run(n=4)
    source = first.steps["source"]
    assert cache_decision(again.steps["source"].logs) == (
        f"cached: same code, inputs and params as step run {source.id[:12]} of pipeline run "
        f"{first.id[:12]}"
    )
    changed = steps.chain.run(n=5)
    why = {n: cache_decision(s.logs) for n, s in changed.steps.items()}
    assert why["source"] == "re-ran: param 'n' changed (4 -> 5)"
    assert why["side"] == "re-ran: param 'n' changed (104 -> 105)"
    assert why["double"] == "re-ran: input 'df' changed (chain.source@1 -> chain.source@2)"
    off = steps.chain.run(n=5, cache=False)
    assert cache_decision(off.steps["total"].logs).startswith("re-ran: the cache was off")

    module = tmp_path / "reasons_mod.py"
    module.write_text(_MODULE.format(factor=2))
    monkeypatch.syspath_prepend(str(tmp_path))
    reasons_mod = importlib.import_module("reasons_mod")
    reasons_mod.reasons.run()
    module.write_text(_MODULE.format(factor=3))  # a helper of the step changes
    reasons_mod = importlib.reload(reasons_mod)
    rerun = reasons_mod.reasons.run()
    assert cache_decision(rerun.steps["scaled"].logs).startswith("re-ran: code of helper `_scale`")

    env = {**os.environ, "PYTHONPATH": str(ROOT), "SHIPYARD_HOME": str(sqlite_sdk.settings.home),
           "COLUMNS": "200"}  # fmt: skip
    shown = warm_python.run(["-m", "shipyard", "pipelines", "show", changed.id], cwd=tmp_path,
                            env=env)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "re-ran: param 'n' changed (4 -> 5)" in shown.stdout
