"""MLflow's client logs and searches runs (run in the MLflow virtualenv; prints one JSON line).

argv[1] is a JSON object: ``experiment`` (its name) and ``points`` (metric points to log).
"""

import json
import os
import sys
import time

import mlflow
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException

config = json.loads(sys.argv[1])
client = mlflow.MlflowClient()
experiment = mlflow.set_experiment(config["experiment"])
points = config["points"]

runs = {}
for name, model, acc, status in (
    ("tree", "tree", 0.91, "FINISHED"),
    ("forest", "forest", 0.95, "FINISHED"),
    ("broken", "tree", 0.10, "FAILED"),
):
    with mlflow.start_run(run_name=name) as run:
        mlflow.log_params({"model": model, "depth": 4})
        mlflow.log_metric("acc", acc)
        mlflow.set_tags({"team": "fraud", "kind": name})
        if name == "tree":
            now = int(time.time() * 1000)
            series = [Metric("loss", 1.0 / (i + 1), now + i, i) for i in range(points)]
            for start in range(0, points, 1000):  # MLflow's batch limit
                client.log_batch(run.info.run_id, metrics=series[start : start + 1000])
            for step in range(5):
                mlflow.log_metric("lr", 0.1 * step, step=step)
        if status == "FAILED":
            mlflow.end_run("FAILED")
    runs[name] = run.info.run_id

# Artifacts through the artifact proxy: a file, a folder, then listed and read back.
with open("notes.txt", "w") as out:
    out.write("hello from mlflow\n")
os.makedirs("plots/deep", exist_ok=True)
for name, size in (("plots/a.bin", 1000), ("plots/deep/b.bin", 300_000)):
    with open(name, "wb") as out:
        out.write(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
client.log_artifact(runs["tree"], "notes.txt")
client.log_artifacts(runs["tree"], "plots", "plots")
listing = {
    "root": [[f.path, f.is_dir] for f in client.list_artifacts(runs["tree"])],
    "plots": [
        [f.path, f.is_dir, f.file_size] for f in client.list_artifacts(runs["tree"], "plots")
    ],
}
downloaded = mlflow.artifacts.download_artifacts(run_id=runs["tree"], dst_path="back")
with (
    open(os.path.join(downloaded, "plots/deep/b.bin"), "rb") as back,
    open("plots/deep/b.bin", "rb") as sent,
):
    deep = back.read() == sent.read()
text = mlflow.artifacts.load_text(f"runs:/{runs['tree']}/notes.txt")

ids = [experiment.experiment_id]
by_acc = mlflow.search_runs(
    ids,
    filter_string="params.model = 'tree' and metrics.acc > 0.05",
    order_by=["metrics.acc DESC"],
    output_format="list",
)
failed = mlflow.search_runs(ids, "attributes.status = 'FAILED'", output_format="list")
named = mlflow.search_runs(ids, "tags.kind LIKE 'for%'", output_format="list")
newest_first = mlflow.search_runs(ids, output_format="list")
paged = client.search_runs(ids, max_results=2)
second = client.search_runs(ids, max_results=2, page_token=paged.token)
history = client.get_metric_history(runs["tree"], "loss")
got = client.get_run(runs["tree"])
try:
    mlflow.search_runs(ids, "datasets.name = 'x'")
    unsupported = None
except MlflowException as exc:
    unsupported = exc.error_code
try:
    client.get_run("0123456789abcdef0123456789abcdef")
    missing = None
except MlflowException as exc:
    missing = exc.error_code

print(
    "@@RESULT@@ "
    + json.dumps(
        {
            "experiment_id": experiment.experiment_id,
            "runs": runs,
            "by_acc": [r.info.run_name for r in by_acc],
            "failed": [r.info.run_name for r in failed],
            "named": [r.info.run_name for r in named],
            "newest_first": [r.info.run_name for r in newest_first],
            "pages": [[r.info.run_name for r in paged], [r.info.run_name for r in second]],
            "history": [[m.step, m.value] for m in history],
            "params": got.data.params,
            "tags": {k: v for k, v in got.data.tags.items() if not k.startswith("mlflow.")},
            "status": got.info.status,
            "unsupported": unsupported,
            "missing": missing,
            "listing": listing,
            "deep_file_intact": deep,
            "text": text,
        }
    )
)
