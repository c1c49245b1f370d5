"""Fill an MLflow store (a file store folder, a SQLite database or a tracking server) with
what an import must carry over: experiments (one deleted), runs (one nested, one deleted)
with params, tags, a metric history with NaN and repeated steps, artifacts in folders, a
logged and registered scikit-learn model with two versions, tags and an alias.

argv[1]: ``{"uri": tracking and registry URI, "artifacts": artifact root for new
experiments, or null for the server's own}``. Prints what was logged, as the test's
expectations: run and experiment ids, the sha256 of each artifact file logged, and the
number of ``loss`` points as MLflow reads them back from the store.
"""

import hashlib
import json
import math
import os
import pathlib
import sys

import mlflow
import mlflow.sklearn
from mlflow.entities import Metric
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

config = json.loads(sys.argv[1])
mlflow.set_tracking_uri(config["uri"])
mlflow.set_registry_uri(config["uri"])
client = mlflow.MlflowClient()
root = config["artifacts"]
exp = client.create_experiment("churn", artifact_location=root and root + "/churn")
gone = client.create_experiment("old", artifact_location=root and root + "/old")
X, y = load_iris(return_X_y=True, as_frame=True)
X.columns = ["a", "b", "c", "d"]

os.makedirs("files/sub", exist_ok=True)
with open("files/readme.txt", "w") as out:
    out.write("imported\n")
with open("files/sub/data.bin", "wb") as out:
    out.write(os.urandom(50_000))

runs = {}
with mlflow.start_run(experiment_id=exp, run_name="parent") as parent:
    mlflow.log_params({"lr": "0.1", "depth": "3"})
    mlflow.set_tag("team", "fraud")
    points = [Metric("loss", 1.0 / (i + 1), 1_700_000_000_000 + i, i) for i in range(1500)]
    points.append(Metric("loss", math.nan, 1_700_000_002_000, 1500))
    points.append(Metric("loss", 0.5, 1_700_000_002_001, 1500))  # a second value at a step
    for start in range(0, len(points), 1000):
        client.log_batch(parent.info.run_id, metrics=points[start : start + 1000])
    mlflow.log_artifacts("files", "files")
    model = LogisticRegression(max_iter=1000).fit(X, y)
    mlflow.sklearn.log_model(model, name="model", registered_model_name="iris")
    mlflow.sklearn.log_model(model, name="model2", registered_model_name="iris")
    with mlflow.start_run(run_name="child", nested=True) as child:
        mlflow.log_metric("acc", 0.9)
    runs["parent"], runs["child"] = parent.info.run_id, child.info.run_id
with mlflow.start_run(experiment_id=exp, run_name="failed") as failed:
    mlflow.log_metric("acc", 0.1)
    mlflow.end_run("FAILED")
runs["failed"] = failed.info.run_id
with mlflow.start_run(experiment_id=gone, run_name="deleted") as deleted:
    mlflow.log_param("p", "x")
runs["deleted"] = deleted.info.run_id
client.delete_run(deleted.info.run_id)
client.delete_experiment(gone)
client.set_registered_model_alias("iris", "champion", "1")
client.set_model_version_tag("iris", "1", "validated", "yes")
client.set_registered_model_tag("iris", "owner", "ann")
made = {
    "runs": runs,
    "experiments": {"churn": exp, "old": gone},
    "sha256": {
        name: hashlib.sha256(pathlib.Path(name).read_bytes()).hexdigest()
        for name in ("files/readme.txt", "files/sub/data.bin")
    },
    "loss_points": len(client.get_metric_history(runs["parent"], "loss")),
}
print("@@RESULT@@ " + json.dumps(made))
