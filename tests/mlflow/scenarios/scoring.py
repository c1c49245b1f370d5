"""``mlflow models serve`` and Shipyard's model server answer the same scoring requests.

argv[1]: ``{"shipyard": URL of Shipyard's model server, "model": folder to save the model
in, "port": a free port for mlflow's server, "bodies": {name: [content type, body]}}``. The
model is the same logistic regression the test registered in Shipyard (same data, same
options, same scikit-learn: the same coefficients). Prints both answers to every body.
"""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import mlflow.sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

config = json.loads(sys.argv[1])
X, y = load_iris(return_X_y=True, as_frame=True)
X.columns = ["a", "b", "c", "d"]
model = LogisticRegression(max_iter=1000).fit(X, y)
mlflow.sklearn.save_model(model, config["model"], input_example=X.head())

url = f"http://127.0.0.1:{config['port']}"
server = subprocess.Popen(
    [
        sys.executable,
        "-m",
        "mlflow",
        "models",
        "serve",
        "-m",
        config["model"],
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(config["port"]),
        "-w",
        "1",
    ],
    stdout=open("mlflow-serve.log", "wb"),  # noqa: SIM115
    stderr=subprocess.STDOUT,
    env={**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]},
)


def post(base, content_type, body):
    request = urllib.request.Request(
        base + "/invocations", data=body.encode(), headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return [answer.status, json.loads(answer.read())]
    except urllib.error.HTTPError as exc:
        return [exc.code, json.loads(exc.read())]


try:
    deadline = time.monotonic() + 420  # a loaded machine takes minutes to import MLflow
    while True:
        try:
            with urllib.request.urlopen(url + "/ping", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            with open("mlflow-serve.log") as log:
                raise SystemExit("mlflow models serve did not start:\n" + log.read()[-3000:])
        time.sleep(0.5)
    answers = {
        name: {"mlflow": post(url, kind, body), "shipyard": post(config["shipyard"], kind, body)}
        for name, (kind, body) in config["bodies"].items()
    }
finally:
    server.terminate()
    server.wait(30)
print("@@RESULT@@ " + json.dumps(answers))
