"""Start-up: how long a new user waits before a command or a model server answers.

    uv run --all-extras python bench/startup.py              # 5 repeats a row
    uv run --all-extras python bench/startup.py --repeat 3 --only serve
    uv run --all-extras python bench/startup.py --only cli --before main   # before vs after

Rows, each the median over fresh processes in a fresh Shipyard home (bytecode cached, as an
installed package has it: this machine sets ``PYTHONDONTWRITEBYTECODE``, so the children get
``PYTHONPYCACHEPREFIX=bench/.work/pycache`` and one uncounted warm-up process):

- ``shipyard --help``, ``shipyard version`` and ``shipyard runs list`` (a store of 50 runs):
  wall clock and CPU seconds (user + system) of the whole process, against the targets of
  the first hour (0.3 s, 0.3 s, 1 s of wall clock on a quiet machine);
- ``shipyard serve NAME@champion`` with 1 and 2 workers, a logistic regression on the
  bundled breast-cancer data: seconds from the command to the first 200 of
  ``/v2/health/ready`` and, with 2 workers, until every worker answers (20 fresh connections
  in a row answered ready: the kernel spreads connections over the workers that accept);
- where a worker's start-up goes, in CPU seconds inside one fresh process: interpreter,
  ``import shipyard.serving._app`` (FastAPI, pandas, the registry), building the app, loading
  the model from the registry (scikit-learn's own import is most of it), the warm-up
  predictions.

CPU seconds are what the machine's load does not inflate: on a shared machine compare those,
and read wall clock with the printed load average. Nothing leaves the machine (loopback).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tracking import shipyard_source

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
MODEL = "bench-start"
RUNS = 50
READY_IN_A_ROW = 20
TARGETS = {"--help": 0.3, "version": 0.3, "runs list": 1.0}

_PHASES = """
import json, sys, time
clock = time.process_time
t0 = clock()
import shipyard.serving._app as app_module
t1 = clock()
from shipyard.serving import ServingConfig
app = app_module.create_app(sys.argv[1], ServingConfig(log_predictions=False))
t2 = clock()
from shipyard import models
model = models.load(sys.argv[1], enforce_signature=False)
t3 = clock()
example = model.input_example
for _ in range(3):
    model.predict(example)
t4 = clock()
print(json.dumps({"import": t1 - t0, "app": t2 - t1, "load": t3 - t2, "warm_up": t4 - t3}))
"""


def child_env(home: Path) -> dict[str, str]:
    """The calling environment with a fresh home and bytecode cached under bench/.work."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(WORK / "pycache")
    env["SHIPYARD_HOME"] = str(home)
    return env


def prepare(home: Path) -> None:
    """Register ``MODEL@champion`` and log ``RUNS`` runs in ``home`` (not timed)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    import shipyard

    shipyard.configure(home=home)
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=5000).fit(X, y)
    version = shipyard.register_model(model, MODEL, input_example=X.head())
    shipyard.set_alias(MODEL, "champion", version.version)
    for i in range(RUNS):
        with shipyard.start_run(experiment="bench", name=f"run-{i}"):
            shipyard.log_params({"alpha": i % 5, "solver": "lbfgs"})
            shipyard.log_metrics({"auc": 0.9 + i / 1000, "loss": 1 / (i + 1)})


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one child process, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, capture_output=True, timeout=300)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def cli_rows(home: Path, repeat: int, sources: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """The CLI rows: median wall and CPU seconds over ``repeat`` fresh processes, for each
    source of Shipyard (label -> extra environment). With several sources their processes
    alternate, so that each sees the same load."""
    exe = [sys.executable, "-m", "shipyard"]
    rows = []
    for name, args in (("--help", ["--help"]), ("version", ["version"]),
                       ("runs list", ["runs", "list", "-e", "bench"])):  # fmt: skip
        envs = {label: {**child_env(home), **extra} for label, extra in sources.items()}
        samples: dict[str, list[tuple[float, float]]] = {label: [] for label in sources}
        for env in envs.values():
            timed([*exe, *args], env, home)  # warm-up: bytecode, page cache
        for _ in range(repeat):
            for label, env in envs.items():
                samples[label].append(timed([*exe, *args], env, home))
        for label, taken in samples.items():
            rows.append(
                {
                    "row": f"shipyard {name}",
                    "source": label,
                    "wall_s": statistics.median(w for w, _ in taken),
                    "cpu_s": statistics.median(c for _, c in taken),
                    "target_s": TARGETS[name],
                    "samples": taken,
                }
            )
    return rows


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(url: str) -> bool:
    try:  # a fresh connection each time: the kernel hands it to any accepting worker
        return httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its live descendants."""
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def serve_once(home: Path, workers: int) -> dict[str, float]:
    """Seconds from ``shipyard serve`` to the first ready answer and to every worker ready,
    and the CPU seconds the server's processes had used by then."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "shipyard", "serve", f"{MODEL}@champion", "--port",
            str(port), "--workers", str(workers), "--log-level", "warning", "--no-log"]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=child_env(home), cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    first = every = None
    cpu = 0.0
    in_a_row = 0
    try:
        while every is None:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"shipyard serve exited {proc.returncode}:\n{err}")
            if time.perf_counter() - started > 300:
                raise RuntimeError("shipyard serve not ready after 300 s")
            if _ready(url):
                now = time.perf_counter() - started
                first = first if first is not None else now
                in_a_row += 1
                if in_a_row == 1:
                    candidate = now
                if in_a_row >= (READY_IN_A_ROW if workers > 1 else 1):
                    every = candidate
                    cpu = _tree_cpu(proc.pid)
            else:
                in_a_row = 0
                time.sleep(0.05)
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    assert first is not None
    return {"first_ready_s": first, "all_ready_s": every, "cpu_s": cpu}


def serve_rows(home: Path, repeat: int) -> list[dict[str, Any]]:
    rows = []
    for workers in (1, 2):
        serve_once(home, workers)  # warm-up
        samples = [serve_once(home, workers) for _ in range(repeat)]
        rows.append(
            {
                "row": f"shipyard serve --workers {workers}",
                "first_ready_s": statistics.median(s["first_ready_s"] for s in samples),
                "all_ready_s": statistics.median(s["all_ready_s"] for s in samples),
                "cpu_s": statistics.median(s["cpu_s"] for s in samples),
                "runs": samples,
            }
        )
    return rows


def phase_rows(home: Path, repeat: int) -> dict[str, float]:
    """Median CPU seconds of each phase of a worker's start-up, in fresh processes; the
    rest of the process's CPU (interpreter start-up, site, exit) as ``interpreter``."""
    argv = [sys.executable, "-c", _PHASES, f"{MODEL}@champion"]
    env = child_env(home)
    subprocess.run(argv, env=env, cwd=home, check=True, capture_output=True, timeout=300)
    samples = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(
            argv, env=env, cwd=home, check=True, capture_output=True, text=True, timeout=300
        ).stdout
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        total = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        phases = json.loads(out.strip().splitlines()[-1])
        phases["interpreter"] = total - sum(phases.values())
        samples.append(phases)
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="processes a row (median)")
    parser.add_argument("--only", choices=["cli", "serve", "phases"], action="append")
    parser.add_argument(
        "--before",
        metavar="REV",
        help="CLI rows also for src/shipyard at this git revision (a snapshot), alternating",
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    only = set(args.only or ["cli", "serve", "phases"])
    WORK.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="startup-", dir=WORK))
    result: dict[str, Any] = {"load_average_start": os.getloadavg(), "cpus": os.cpu_count()}
    try:
        prepare(home)
        if "cli" in only:
            sources = {"working tree": {}}
            if args.before:
                sources = {args.before: shipyard_source(args.before)[0], **sources}
            result["cli"] = cli_rows(home, args.repeat, sources)
            for row in result["cli"]:
                verdict = "met" if row["wall_s"] <= row["target_s"] else "missed"
                print(f"{row['row']:<28} {row['source']:<14} wall {row['wall_s']:.3f} s  "
                      f"cpu {row['cpu_s']:.3f} s  target {row['target_s']} s: {verdict}",
                      flush=True)  # fmt: skip
        if "phases" in only:
            result["phases"] = phase_rows(home, args.repeat)
            print("worker start-up, CPU seconds: " + ", ".join(
                f"{k} {v:.2f}" for k, v in result["phases"].items()), flush=True)  # fmt: skip
        if "serve" in only:
            result["serve"] = serve_rows(home, args.repeat)
            for row in result["serve"]:
                print(f"{row['row']:<28} first ready {row['first_ready_s']:.2f} s  "
                      f"all ready {row['all_ready_s']:.2f} s  cpu {row['cpu_s']:.2f} s",
                      flush=True)  # fmt: skip
    finally:
        shutil.rmtree(home, ignore_errors=True)
    result["load_average_end"] = os.getloadavg()
    print(f"load average: {result['load_average_start']} -> {result['load_average_end']}")
    (WORK / "startup.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
