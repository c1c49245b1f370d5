"""Servers for bench/serving.py, each started as its own process.

``train MODEL_DIR``: fit the benchmark model (same data, same seed in every venv; the kind in
``BENCH_MODEL_KIND``) and save it with joblib (and, in the MLflow venv, as an MLflow model).
``fastapi MODEL_DIR PORT WORKERS``: the minimal FastAPI app (the floor of any Python server):
``model.predict(pd.DataFrame(records))`` behind uvicorn, on the same TCP_NODELAY socket and
HTTP protocol as Shipyard, one BLAS thread per worker.
"""

import os
import sys

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")


def fit(kind="forest"):  # type: ignore[no-untyped-def]
    """The benchmark model: ``forest`` (the records section) or ``logistic`` (the V2 section,
    where the model call is small, so the protocol's cost shows)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    if kind == "logistic":
        return LogisticRegression(max_iter=5000).fit(X, y), X
    return RandomForestClassifier(n_estimators=50, max_depth=8, random_state=0).fit(X, y), X


def app_factory():  # type: ignore[no-untyped-def]
    import joblib
    import pandas as pd
    from fastapi import FastAPI, Request
    from fastapi.responses import ORJSONResponse

    model = joblib.load(os.path.join(os.environ["BENCH_MODEL_DIR"], "model.joblib"))
    app = FastAPI()

    @app.post("/predict")
    async def predict(request: Request):  # type: ignore[no-untyped-def]
        records = await request.json()
        return ORJSONResponse({"predictions": model.predict(pd.DataFrame(records)).tolist()})

    return app


if __name__ == "__main__":
    command, model_dir = sys.argv[1], sys.argv[2]
    if command == "train":
        import joblib

        model, X = fit(os.environ.get("BENCH_MODEL_KIND", "forest"))
        os.makedirs(model_dir, exist_ok=True)
        joblib.dump(model, os.path.join(model_dir, "model.joblib"))
        if len(sys.argv) > 3 and sys.argv[3] == "mlflow":
            import mlflow.sklearn

            mlflow.sklearn.save_model(
                model,
                os.path.join(model_dir, "mlflow"),
                input_example=X.head(),
                skops_trusted_types=["sklearn.tree._tree.Tree"],  # skops, MLflow's default
            )
    elif command == "fastapi":
        import uvicorn
        from uvicorn.supervisors import Multiprocess

        from shipyard.serving._run import listen, uvicorn_options

        os.environ["BENCH_MODEL_DIR"] = model_dir
        port, workers = int(sys.argv[3]), int(sys.argv[4])
        sock = listen("127.0.0.1", port)
        options = {**uvicorn_options(), "log_level": "warning"}
        config = uvicorn.Config(
            "_serving_apps:app_factory", factory=True, workers=workers, **options
        )
        if workers == 1:
            uvicorn.Server(config).run(sockets=[sock])
        else:
            Multiprocess(config, sockets=[sock]).run()
