"""The BentoML service of bench/serving.py (run in ``bench/.venvs/bentoml`` with
``bentoml serve _serving_bento:Bench``): the same joblib-saved scikit-learn model, adaptive
batching on (up to 64 rows per call, like Shipyard's default), 2 worker processes, one
BLAS/OpenMP thread per worker. The model folder comes from ``BENCH_MODEL_DIR``.
"""

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import bentoml  # noqa: E402
import joblib  # noqa: E402
import pandas as pd  # noqa: E402

WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))


@bentoml.service(workers=WORKERS, threads=1, logging={"access": {"enabled": False}})
class Bench:
    def __init__(self) -> None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
        self.model = joblib.load(os.path.join(os.environ["BENCH_MODEL_DIR"], "model.joblib"))

    @bentoml.api(batchable=True, max_batch_size=64, max_latency_ms=1000)
    def predict(self, records: list[dict[str, float]]) -> list[int]:
        return self.model.predict(pd.DataFrame(records)).tolist()  # type: ignore[no-any-return]
