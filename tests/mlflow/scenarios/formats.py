"""MLflow's client logs and registers the iris model in each of MLflow's scikit-learn
serialization formats, and a custom pyfunc model (run in the MLflow virtualenv; prints one
JSON line).

Registered: ``iris-skops``, ``iris-cloudpickle``, ``iris-pickle`` (version 1 each) and
``echo`` (a ``python_function``-only model).
"""

import json

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


X, y = load_iris(return_X_y=True, as_frame=True)
X.columns = ["a", "b", "c", "d"]
mlflow.set_experiment("formats")
model = LogisticRegression(max_iter=1000).fit(X, y)
with mlflow.start_run(run_name="formats") as run:
    for fmt in ("skops", "cloudpickle", "pickle"):
        mlflow.sklearn.log_model(
            model,
            name=f"model-{fmt}",
            serialization_format=fmt,
            registered_model_name=f"iris-{fmt}",
            input_example=X.head(3),
        )
    mlflow.pyfunc.log_model(name="echo", python_model=Echo(), registered_model_name="echo")
rows = X.iloc[[0, 60, 120]]
print(
    "@@RESULT@@ "
    + json.dumps({"run_id": run.info.run_id, "predictions": model.predict(rows).tolist()})
)
