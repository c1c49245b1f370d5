"""MLflow's client logs a scikit-learn model with ``registered_model_name``, sets an alias and
loads it back by alias (run in the MLflow virtualenv; prints one JSON line).

argv[1]: ``{"name": the registered model}``. The model is the iris logistic regression on
columns a, b, c, d.
"""

import json
import sys

import mlflow
import mlflow.sklearn
from mlflow.exceptions import MlflowException
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

config = json.loads(sys.argv[1])
name = config["name"]
X, y = load_iris(return_X_y=True, as_frame=True)
X.columns = ["a", "b", "c", "d"]
client = mlflow.MlflowClient()
mlflow.set_experiment("iris")

with mlflow.start_run(run_name="train") as run:
    model = LogisticRegression(max_iter=1000).fit(X, y)
    mlflow.log_metric("acc", float(model.score(X, y)))
    info = mlflow.sklearn.log_model(
        model, name="model", registered_model_name=name, input_example=X.head(3)
    )
    mlflow.sklearn.log_model(model, name="model", registered_model_name=name)  # version 2
client.set_registered_model_alias(name, "champion", "1")
client.set_model_version_tag(name, "1", "validated", "yes")

loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
by_version = mlflow.sklearn.load_model(f"models:/{name}/2")
rows = X.iloc[[0, 60, 120]]
champion = client.get_model_version_by_alias(name, "champion")
versions = client.search_model_versions(f"name = '{name}'")
registered = client.get_registered_model(name)
runs_uri = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
try:
    client.transition_model_version_stage(name, "1", "Production")
    stages = None
except MlflowException as exc:
    stages = exc.error_code
print(
    "@@RESULT@@ "
    + json.dumps(
        {
            "run_id": run.info.run_id,
            "model_id": info.model_id,
            "predictions": loaded.predict(rows).tolist(),
            "by_version": by_version.predict(rows).tolist(),
            "by_run": runs_uri.predict(rows).tolist(),
            "champion": [champion.version, champion.tags, list(champion.aliases)],
            "versions": sorted(v.version for v in versions),
            "aliases": registered.aliases,
            "stages": stages,
        }
    )
)
