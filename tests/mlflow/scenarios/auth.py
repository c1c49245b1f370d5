"""MLflow's client against a Shipyard server with authentication on: the bearer token from
MLFLOW_TRACKING_TOKEN is a Shipyard token, and roles are checked per project.

argv[1]: ``{"editor": token of an editor of 'default', "outsider": token of an editor of
'fraud' only}``. Prints one JSON line of the error codes each caller got.
"""

import json
import os
import sys

import mlflow
from mlflow.exceptions import MlflowException

tokens = json.loads(sys.argv[1])
client = mlflow.MlflowClient()


def as_user(token):
    if token is None:
        os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
    else:
        os.environ["MLFLOW_TRACKING_TOKEN"] = token


def code_of(call):
    try:
        call()
    except MlflowException as exc:
        return exc.error_code
    return "OK"


as_user(tokens["editor"])
exp = client.create_experiment("credit")
run = client.create_run(exp, run_name="r")
client.log_metric(run.info.run_id, "auc", 0.8)
run_id = run.info.run_id

as_user(tokens["outsider"])
fraud_exp = client.create_experiment("fraud-exp", tags={"shipyard.project": "fraud"})
outsider = {
    "get_run": code_of(lambda: client.get_run(run_id)),
    "log_metric": code_of(lambda: client.log_metric(run_id, "auc", 0.1)),
    "search": code_of(lambda: client.search_runs([exp])),
    "create_run": code_of(lambda: client.create_run(exp)),
    "own_run": code_of(lambda: client.create_run(fraud_exp)),
    "sees": sorted(e.name for e in client.search_experiments()),
}
as_user(tokens["editor"])
editor = {
    "delete_run": code_of(lambda: client.delete_run(run_id)),  # needs maintainer
    "sees": sorted(e.name for e in client.search_experiments()),
}
as_user(None)
anonymous = code_of(lambda: client.get_run(run_id))
as_user("shy_not-a-token")
forged = code_of(lambda: client.get_run(run_id))
print(
    "@@RESULT@@ "
    + json.dumps(
        {
            "run_id": run_id,
            "outsider": outsider,
            "editor": editor,
            "anonymous": anonymous,
            "forged": forged,
        }
    )
)
