"""The measured loops of bench/mlflow_compat.py: MLflow's client, in the MLflow venv, logging
to the server at MLFLOW_TRACKING_URI (``mlflow server`` or ``shipyard server``).

argv[1]: ``{"calls", "batches", "searches", "registers"}``. Prints one result line.

Each operation reports its wall-clock p50 and the client's own CPU per call (this process and
the subprocesses it waited for, such as MLflow's requirement inference): no server, however
fast, can make a call take less than the client's CPU, so ``mlflow p50 / client CPU`` bounds
the ratio any server can reach with this client.
"""

import json
import os
import statistics
import sys
import time

import mlflow
from mlflow.entities import Metric
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, sys.argv[2])
from _competitors import emit_line

config = json.loads(sys.argv[1])
client = mlflow.MlflowClient()
exp = client.create_experiment(f"bench-{time.time_ns()}")


def cpu_seconds():
    """CPU of this process and of its waited-for children (user + system)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(fn, n):
    laps = []
    cpu_start = cpu_seconds()
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        laps.append(time.perf_counter() - start)
    return {
        "n": n,
        "p50_ms": statistics.median(laps) * 1e3,
        "mean_ms": statistics.fmean(laps) * 1e3,
        "client_cpu_ms": (cpu_seconds() - cpu_start) / n * 1e3,
    }


run = client.create_run(exp, run_name="bench")
run_id = run.info.run_id
out = {}
out["log_metric"] = timed(
    lambda i: client.log_metric(run_id, "loss", 1.0 / (i + 1), step=i), config["calls"]
)
out["log_param"] = timed(lambda i: client.log_param(run_id, f"p{i}", str(i)), config["calls"] // 4)
now = int(time.time() * 1000)
out["log_batch_1000"] = timed(
    lambda i: client.log_batch(
        run_id, metrics=[Metric("batch", float(j), now + j, i * 1000 + j) for j in range(1000)]
    ),
    config["batches"],
)
for i in range(50):
    r = client.create_run(exp, run_name=f"r{i}")
    client.log_batch(r.info.run_id, metrics=[Metric("acc", i / 50, now, 0)])
    client.set_terminated(r.info.run_id)
out["search_runs"] = timed(
    lambda i: client.search_runs([exp], "metrics.acc > 0.5", order_by=["metrics.acc DESC"]),
    config["searches"],
)
model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
mlflow.set_experiment(experiment_id=exp)


def register(i):
    with mlflow.start_run():
        mlflow.sklearn.log_model(model, name="model", registered_model_name="bench-model")


out["log_model_register"] = timed(register, config["registers"])
print(emit_line(out))
