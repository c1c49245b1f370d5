"""Model serving: ``shipyard serve`` vs ``mlflow models serve`` and a minimal FastAPI app.

Run with ``uv run --extra bench --extra serving python bench/serving.py`` (``--seconds 3`` for a
smoke test). The same scikit-learn model (a 50-tree random forest on the bundled
breast-cancer data, fitted with the same seed in each venv) is served by each tool with 2
worker processes and one BLAS/OpenMP thread per worker; MLflow from its own venv
(``bench/.venvs/mlflow``). The load generator is its own process (``_serving_load.py``: raw
asyncio keep-alive connections) sending JSON records: 1-row requests at concurrency 1 and
32, 100-row requests at concurrency 8. BentoML is not measured (see bench/README.md).
Results go to ``bench/.work/serving.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _competitors import WORK_DIR, clean_env
from tracking import MLFLOW

HERE = Path(__file__).resolve().parent
console = Console()
SCENARIOS = [("1 row, c=1", 1, 1), ("1 row, c=32", 1, 32), ("100 rows, c=8", 100, 8)]
WORKERS = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes], seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode}) before {url} answered")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} never answered")


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def _load(port: int, path: str, body: Path, concurrency: int, seconds: float) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            str(HERE / "_serving_load.py"),
            "127.0.0.1",
            str(port),
            path,
            str(body),
            str(concurrency),
            str(seconds),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _records(rows: int) -> list[dict[str, float]]:
    from sklearn.datasets import load_breast_cancer

    X = load_breast_cancer(as_frame=True).data
    return X.head(rows).to_dict(orient="records")  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0, help="per measurement")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="serving-", dir=WORK_DIR if WORK_DIR.exists() else None))
    threads = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env = clean_env(extra=threads)
    bodies: dict[tuple[str, int], Path] = {}
    for rows in (1, 100):
        records = _records(rows)
        for kind, doc in (("records", records), ("mlflow", {"dataframe_records": records})):
            path = work / f"{kind}-{rows}.json"
            path.write_text(json.dumps(doc))
            bodies[(kind, rows)] = path

    console.print("preparing models (shipyard registry, joblib, MLflow venv) ...")
    home = work / "shipyard-home"
    register = (
        f"import shipyard, sys; sys.path.insert(0, {str(HERE)!r}); from _serving_apps import fit; "
        "m, X = fit(); v = shipyard.register_model(m, 'bench', input_example=X.head()); "
        "shipyard.set_alias('bench', 'champion', v.version)"
    )
    subprocess.run(
        [sys.executable, "-c", register], check=True, env={**env, "SHIPYARD_HOME": str(home)}
    )
    subprocess.run(
        [sys.executable, str(HERE / "_serving_apps.py"), "train", str(work / "joblib")],
        check=True,
        env=env,
    )
    mlflow_python = MLFLOW.ensure()
    subprocess.run(
        [
            str(mlflow_python),
            str(HERE / "_serving_apps.py"),
            "train",
            str(work / "mlflow"),
            "mlflow",
        ],
        check=True,
        env=clean_env(mlflow_python, threads),
        capture_output=True,
    )

    servers: list[tuple[str, list[str], dict[str, str], str, str, str]] = []
    port = _free_port()
    servers.append(
        (
            "shipyard",
            [
                sys.executable,
                "-m",
                "shipyard",
                "serve",
                "bench@champion",
                "--port",
                str(port),
                "--workers",
                str(WORKERS),
                "--log-level",
                "warning",
                "--poll",
                "0",
            ],
            {**env, "SHIPYARD_HOME": str(home)},
            f"http://127.0.0.1:{port}/v2/health/ready",
            "/predict",
            "records",
        )
    )
    port2 = _free_port()
    servers.append(
        (
            "fastapi (minimal)",
            [
                sys.executable,
                str(HERE / "_serving_apps.py"),
                "fastapi",
                str(work / "joblib"),
                str(port2),
                str(WORKERS),
            ],
            {**env, "PYTHONPATH": str(HERE)},
            f"http://127.0.0.1:{port2}/docs",
            "/predict",
            "records",
        )
    )
    port3 = _free_port()
    servers.append(
        (
            "mlflow models serve",
            [
                str(mlflow_python),
                "-m",
                "mlflow",
                "models",
                "serve",
                "-m",
                str(work / "mlflow" / "mlflow"),
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(port3),
                "-w",
                str(WORKERS),
            ],
            clean_env(mlflow_python, threads),
            f"http://127.0.0.1:{port3}/ping",
            "/invocations",
            "mlflow",
        )
    )

    results: dict[str, dict[str, Any]] = {}
    for name, command, server_env, ready, path, kind in servers:
        console.print(f"[bold]{name}[/]: starting ...")
        process = subprocess.Popen(
            command,
            env=server_env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait(ready, process)
            port_of = int(ready.split(":")[2].split("/")[0])
            for label, rows, concurrency in SCENARIOS:
                results.setdefault(name, {})[label] = _load(
                    port_of, path, bodies[(kind, rows)], concurrency, args.seconds
                )
                console.print(f"  {label}: {results[name][label]}")
        finally:
            _stop(process)

    table = Table(
        title=f"Model serving ({WORKERS} workers, 1 BLAS thread each, {args.seconds:.0f} s/cell)"
    )
    table.add_column("server")
    for label, _, _ in SCENARIOS:
        table.add_column(f"{label}\nreq/s", justify="right")
        table.add_column("p50 / p99 ms", justify="right")
    for name, cells in results.items():
        row = [name]
        for label, _, _ in SCENARIOS:
            cell = cells[label]
            row += [
                f"{cell['rps']:.0f}" + (f" ({cell['errors']} err)" if cell["errors"] else ""),
                f"{cell['p50_ms']:.1f} / {cell['p99_ms']:.1f}",
            ]
        table.add_row(*row)
    console.print(table)
    ours = results.get("shipyard", {})
    for other in ("mlflow models serve", "fastapi (minimal)"):
        theirs = results.get(other, {})
        ratios = [
            f"{label}: {ours[label]['rps'] / theirs[label]['rps']:.2f}x req/s, p99 "
            f"{ours[label]['p99_ms'] / theirs[label]['p99_ms']:.2f}x"
            for label, _, _ in SCENARIOS
            if label in ours and label in theirs
        ]
        console.print(f"shipyard vs {other}: " + "; ".join(ratios))
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    (WORK_DIR / "serving.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
