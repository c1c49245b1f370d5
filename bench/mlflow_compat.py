"""MLflow's own client against ``shipyard server`` and against ``mlflow server``, side by side
in one run: per-call logging, batched logging, search, and log_model + register.

Run with ``uv run --extra bench python bench/mlflow_compat.py`` (``--help`` for the knobs).
``--profile`` instead measures Shipyard's side alone, in-process: the requests MLflow's
client sends for each operation, replayed through the server app, with the CPU time per
call and the functions that take it (cProfile).
MLflow is installed in its own venv (``bench/.venvs/mlflow``); both servers run on SQLite
with local artifacts, one worker each, on fresh homes; the same child script
(``bench/_mlflow_compat_child.py``) drives each. Results go to
``bench/.work/mlflow_compat.json``; figures are in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _competitors import WORK_DIR, run_json
from server import Server
from tracking import MLFLOW

CHILD = Path(__file__).resolve().parent / "_mlflow_compat_child.py"


def measure(side: Server, mlflow_python: Path, config: dict[str, Any]) -> dict[str, Any]:
    """Start ``side``'s server, run the child against it, stop the server."""
    side.start()
    try:
        result: dict[str, Any] = run_json(
            mlflow_python,
            script=CHILD,
            args=[json.dumps(config), str(Path(__file__).resolve().parent)],
            env={"MLFLOW_TRACKING_URI": side.url, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"},
            cwd=side.home,
            timeout=3600,
        )
    finally:
        side.stop()
    return result


def _mlflow_requests(run_id: str, exp_id: str) -> dict[str, Callable[[int], tuple[str, Any]]]:
    """(path, JSON body) of each operation's request as MLflow's client sends it."""
    now = 1_700_000_000_000
    api = "/api/2.0/mlflow"
    return {
        "log_metric": lambda i: (
            f"{api}/runs/log-metric",
            {"run_id": run_id, "run_uuid": run_id, "key": "loss", "value": 1.0 / (i + 1),
             "timestamp": now + i, "step": i},
        ),
        "log_param": lambda i: (
            f"{api}/runs/log-parameter",
            {"run_id": run_id, "run_uuid": run_id, "key": f"p{i}", "value": str(i)},
        ),
        "log_batch_1000": lambda i: (
            f"{api}/runs/log-batch",
            {"run_id": run_id, "metrics": [
                {"key": "batch", "value": float(j), "timestamp": now + j, "step": i * 1000 + j}
                for j in range(1000)
            ]},
        ),
        "search_runs": lambda i: (
            f"{api}/runs/search",
            {"experiment_ids": [exp_id], "filter": "metrics.acc > 0.5",
             "run_view_type": "ACTIVE_ONLY", "max_results": 1000,
             "order_by": ["metrics.acc DESC"]},
        ),
    }  # fmt: skip


def profile(calls: int, top: int) -> None:
    """Shipyard's server CPU per call of each operation, in-process, and where it goes.

    The app is driven directly as ASGI in one thread (thread-pool hops run inline), so
    cProfile sees the whole request: middleware, authentication, JSON, the Store."""
    import asyncio
    import cProfile
    import pstats

    import anyio.to_thread
    import orjson

    from shipyard.config import load_settings
    from shipyard.server import create_app

    async def inline(func: Callable[..., Any], *args: Any, **_: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = inline  # type: ignore[assignment]
    loop = asyncio.new_event_loop()

    def post(app: Any, path: str, body: Any) -> Any:
        data = orjson.dumps(body)
        sent: list[Any] = []
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "client": ("127.0.0.1", 9),
            "server": ("bench", 80), "state": {},
            "headers": [(b"host", b"bench"), (b"content-type", b"application/json"),
                        (b"content-length", str(len(data)).encode())],
        }  # fmt: skip

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": data, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        loop.run_until_complete(app(scope, receive, send))
        status = sent[0]["status"]
        answer = b"".join(m.get("body", b"") for m in sent[1:])
        if status != 200:
            raise RuntimeError(f"{path}: {status} {answer[:300]!r}")
        return orjson.loads(answer)

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(load_settings(home=Path(tmp) / "home"))
        api = "/api/2.0/mlflow"
        exp_id = post(app, f"{api}/experiments/create", {"name": "p"})["experiment_id"]
        run_id = post(app, f"{api}/runs/create", {"experiment_id": exp_id})["run"]["info"]
        run_id = run_id["run_id"]
        for i in range(50):
            made = post(app, f"{api}/runs/create", {"experiment_id": exp_id})
            other = made["run"]["info"]["run_id"]
            point = {"key": "acc", "value": i / 50, "timestamp": 1, "step": 0}
            post(app, f"{api}/runs/log-batch", {"run_id": other, "metrics": [point]})
        print(f"{'operation':16} {'server CPU ms/call':>18}")
        for name, request in _mlflow_requests(run_id, exp_id).items():
            n = calls if name in ("log_metric", "log_param") else max(calls // 10, 5)

            def call(i: int, request: Callable[[int], tuple[str, Any]] = request) -> None:
                post(app, *request(i))

            print(f"{name:16} {_cpu_per_call(call, n):18.3f}")
            profiler = cProfile.Profile()
            profiler.enable()
            for i in range(n + 1, 2 * n + 1):
                call(i)
            profiler.disable()
            if top:
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)
        app.state.backend.close()


def _cpu_per_call(fn: Callable[[int], Any], n: int) -> float:
    """CPU milliseconds per call of ``fn`` (this process, every thread)."""
    fn(0)
    start = time.process_time()
    for i in range(1, n + 1):
        fn(i)
    return (time.process_time() - start) / n * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", action="store_true", help="Shipyard's side, in-process")
    parser.add_argument("--top", type=int, default=25, help="functions listed per profile")
    parser.add_argument("--calls", type=int, default=300, help="per-call log_metric calls")
    parser.add_argument("--batches", type=int, default=20, help="log_batch calls of 1000 points")
    parser.add_argument("--searches", type=int, default=20, help="search_runs calls")
    parser.add_argument("--registers", type=int, default=3, help="log_model + register calls")
    args = parser.parse_args()
    if args.profile:
        profile(args.calls, args.top)
        return
    config = {k: getattr(args, k) for k in ("calls", "batches", "searches", "registers")}
    mlflow_python = MLFLOW.ensure()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, python in (("shipyard", Path(sys.executable)), ("mlflow", mlflow_python)):
            home = Path(tmp) / name
            home.mkdir()
            results[name] = measure(Server(name, python, home), mlflow_python, config)
    print(
        f"{'operation':22} {'shipyard p50 ms':>16} {'mlflow p50 ms':>14} {'ratio':>7}"
        f" {'client CPU ms':>14} {'best possible':>14}"
    )
    for op, theirs in results["mlflow"].items():
        ours = results["shipyard"][op]
        ratio = theirs["p50_ms"] / ours["p50_ms"]
        # The client's CPU per call against Shipyard: a floor no server can go under.
        floor = ours["client_cpu_ms"]
        print(
            f"{op:22} {ours['p50_ms']:16.2f} {theirs['p50_ms']:14.2f} {ratio:6.1f}x"
            f" {floor:14.2f} {theirs['p50_ms'] / floor:13.1f}x"
        )
    record = {"config": config, "load": os.getloadavg(), "results": results}
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    (WORK_DIR / "mlflow_compat.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
