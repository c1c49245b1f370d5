"""Model serving: ``shipyard serve`` vs ``mlflow models serve``, BentoML and a minimal FastAPI
app.

Run with ``uv run --extra bench --extra serving python bench/serving.py`` (``--seconds 3`` for a
smoke test). The same scikit-learn model (a 50-tree random forest on the bundled
breast-cancer data) is served by each tool with 2 worker processes and one BLAS/OpenMP thread
per worker; MLflow from its own venv (``bench/.venvs/mlflow``), BentoML from its own
(``bench/.venvs/bentoml``, adaptive batching on, service in ``_serving_bento.py``). The load
generator is its own process (``_serving_load.py``: raw asyncio keep-alive connections)
sending JSON records: 1-row requests at concurrency 1 and 32, 100-row requests at
concurrency 8. ``--only NAME`` measures a subset (repeatable). Results go to
``bench/.work/serving.json``.

The V2 section (``--section v2``) serves a logistic regression (the model call is small, so the
protocol's cost shows) with ``shipyard serve`` and MLServer 1.7 (its scikit-learn runtime, the
same joblib file, ``bench/.venvs/mlserver``), both with 2 inference workers, and sends V2
requests: one FP64 tensor per column (the layout Shipyard's metadata advertises) and one
[rows, 30] tensor, each as JSON and as binary tensors; 1 and 100 rows; concurrency 1 and 32.
MLServer's REST server reads no binary tensors, so those cells compare with its JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _competitors import WORK_DIR, Competitor, clean_env
from tracking import MLFLOW, shipyard_source

HERE = Path(__file__).resolve().parent
console = Console(width=150)
SCENARIOS = [("1 row, c=1", 1, 1), ("1 row, c=32", 1, 32), ("100 rows, c=8", 100, 8)]
WORKERS = 2
#: BentoML with the project's scikit-learn, so it loads the very same joblib file.
BENTOML = Competitor(
    "bentoml",
    (
        "bentoml==1.4.40",
        "scikit-learn==1.9.1",
        "pandas==3.1.1",
        "numpy==2.4.6",
        "joblib",
        "threadpoolctl",
    ),
)
#: MLServer (Seldon's Open Inference Protocol server) with its scikit-learn runtime, pinned
#: like BentoML with the project's scikit-learn, pandas and NumPy (the same joblib file).
MLSERVER = Competitor(
    "mlserver",
    (
        "mlserver==1.7.1",
        "mlserver-sklearn==1.7.1",
        "scikit-learn==1.9.1",
        "pandas==3.1.1",
        "numpy==2.4.6",
        "joblib",
        # uvloop 0.22+ raises from get_event_loop() outside a running loop, which MLServer
        # 1.7's inference workers call at start: every worker dies and no model loads
        "uvloop==0.21.0",
    ),
)
#: The V2 section: request layout, rows, concurrency. "per column" is one FP64 [rows, 1]
#: tensor per column (what Shipyard's model metadata advertises), "matrix" one FP64
#: [rows, 30] tensor; "binary" is the binary tensor extension.
V2_LAYOUTS = ("per column, JSON", "per column, binary", "matrix, JSON", "matrix, binary")
V2_SCENARIOS = [
    (f"{layout}, {rows} row{'s' if rows > 1 else ''}, c={c}", layout, rows, c)
    for layout in V2_LAYOUTS
    for rows in (1, 100)
    for c in (1, 32)
]
SHIPYARD_V2, MLSERVER_V2 = "shipyard (V2)", "mlserver 1.7.1"
SHIPYARD, FASTAPI, MLFLOW_SERVE, BENTO = (
    "shipyard",
    "fastapi (minimal)",
    "mlflow models serve",
    "bentoml (batching)",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: Shipyard's readiness: its metrics (summed over workers) show the model loaded in every
#: worker. ``/v2/health/ready`` answers from whichever worker takes the connection, so it can
#: say ready while the other worker still loads and answers 503 to the first cell's requests.
_SHIPYARD_READY = "/metrics"
_LOADED = re.compile(r'^shipyard_serving_model_info\{.*pid="\d+".*\} 1\.0$', re.MULTILINE)


def _wait(url: str, process: subprocess.Popen[bytes], seconds: float = 600) -> None:
    """Until ``url`` answers 200 (for Shipyard's metrics: with the model loaded in every
    worker)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode}) before {url} answered")
        try:
            answer = httpx.get(url, timeout=2)
            if answer.status_code == 200 and (
                not url.endswith(_SHIPYARD_READY) or len(_LOADED.findall(answer.text)) >= WORKERS
            ):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} never answered")


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    except ProcessLookupError:  # it exited by itself (and took its session with it)
        pass
    except subprocess.TimeoutExpired:
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


def _v2_bodies(work: Path) -> dict[tuple[str, int], Path]:
    """The V2 request bodies of each layout and size (binary ones with their header length
    beside them). Every body says ``content_type: pd``: MLServer needs it to read several
    input tensors as one frame; Shipyard ignores it."""
    import numpy as np
    from sklearn.datasets import load_breast_cancer

    X = load_breast_cancer(as_frame=True).data
    bodies: dict[tuple[str, int], Path] = {}
    for rows in (1, 100):
        head = X.head(rows)
        per_column = [
            {"name": c, "datatype": "FP64", "shape": [rows, 1], "data": head[c].tolist()}
            for c in head.columns
        ]
        matrix = [
            {
                "name": "input-0",
                "datatype": "FP64",
                "shape": [rows, head.shape[1]],
                "data": head.to_numpy().ravel().tolist(),
            }
        ]
        params = {"content_type": "pd"}
        header = {
            "inputs": [
                {**{k: v for k, v in t.items() if k != "data"},
                 "parameters": {"binary_data_size": 8 * rows}}
                for t in per_column
            ],
            "parameters": params,
        }  # fmt: skip
        raw = json.dumps(header).encode()
        binary = raw + b"".join(
            np.ascontiguousarray(head[c].to_numpy(), dtype="<f8").tobytes() for c in head.columns
        )
        matrix_header = {
            "inputs": [
                {**{k: v for k, v in t.items() if k != "data"},
                 "parameters": {"binary_data_size": 8 * rows * head.shape[1]}}
                for t in matrix
            ],
        }  # fmt: skip
        matrix_raw = json.dumps(matrix_header).encode()
        matrix_binary = matrix_raw + np.ascontiguousarray(head.to_numpy(), dtype="<f8").tobytes()
        docs = {
            V2_LAYOUTS[0]: json.dumps({"inputs": per_column, "parameters": params}).encode(),
            V2_LAYOUTS[1]: binary,
            V2_LAYOUTS[2]: json.dumps({"inputs": matrix}).encode(),
            V2_LAYOUTS[3]: matrix_binary,
        }
        header_lengths = {V2_LAYOUTS[1]: len(raw), V2_LAYOUTS[3]: len(matrix_raw)}
        for index, (layout, doc) in enumerate(docs.items()):
            path = work / f"v2-{index}-{rows}.bin"
            path.write_bytes(doc)
            if layout in header_lengths:
                Path(f"{path}.header-length").write_text(str(header_lengths[layout]))
            bodies[(layout, rows)] = path
    return bodies


def _register(home: Path, kind: str, env: dict[str, str]) -> Path:
    """A Shipyard home holding the ``kind`` benchmark model as ``bench@champion``."""
    register = (
        f"import shipyard, sys; sys.path.insert(0, {str(HERE)!r}); from _serving_apps import fit; "
        f"m, X = fit({kind!r}); v = shipyard.register_model(m, 'bench', input_example=X.head()); "
        "shipyard.set_alias('bench', 'champion', v.version)"
    )
    subprocess.run(
        [sys.executable, "-c", register], check=True, env={**env, "SHIPYARD_HOME": str(home)}
    )
    return home


def _shipyard_serve(port: int, home: Path, env: dict[str, str]) -> tuple[Any, ...]:
    """(command, env, readiness URL) of ``shipyard serve bench@champion`` from ``home``
    (ready: the model loaded in every worker, see ``_SHIPYARD_READY``)."""
    command = [sys.executable, "-m", "shipyard", "serve", "bench@champion", "--port", str(port),
               "--workers", str(WORKERS), "--log-level", "warning", "--poll", "0"]  # fmt: skip
    return (
        command,
        {**env, "SHIPYARD_HOME": str(home)},
        f"http://127.0.0.1:{port}{_SHIPYARD_READY}",
    )


def _prepare_v2(work: Path, env: dict[str, str], threads: dict[str, str]) -> dict[str, Any]:
    """The logistic regression registered in its own Shipyard home, saved with joblib for
    MLServer (with its model settings), the V2 bodies and MLServer's venv."""
    home = _register(work / "shipyard-home-v2", "logistic", env)
    models = work / "mlserver"
    subprocess.run(
        [sys.executable, str(HERE / "_serving_apps.py"), "train", str(models / "bench")],
        check=True,
        env={**env, "BENCH_MODEL_KIND": "logistic"},
    )
    (models / "bench" / "model-settings.json").write_text(
        json.dumps(
            {
                "name": "bench",
                "implementation": "mlserver_sklearn.SKLearnModel",
                "parameters": {"uri": "./model.joblib"},
            }
        )
    )
    return {"bodies": _v2_bodies(work), "home": home, "models": models,
            "mlserver": MLSERVER.ensure()}  # fmt: skip


def _v2_servers(env: dict[str, str], threads: dict[str, str], prep: dict[str, Any]) -> list[Any]:
    """(name, command, env, readiness URL) of the two V2 servers: Shipyard and MLServer with
    2 inference workers each (MLServer: ``parallel_workers``, its documented way to use more
    cores; everything else at its defaults)."""
    ports = [_free_port() for _ in range(4)]
    (prep["models"] / "settings.json").write_text(
        json.dumps(
            {
                "host": "127.0.0.1",
                "http_port": ports[1],
                "grpc_port": ports[2],
                "metrics_port": ports[3],
                "parallel_workers": WORKERS,
            }
        )
    )
    return [
        (SHIPYARD_V2, *_shipyard_serve(ports[0], prep["home"], {**env, **prep["source"]})),
        (
            MLSERVER_V2,
            [str(prep["mlserver"].parent / "mlserver"), "start", str(prep["models"])],
            clean_env(prep["mlserver"], threads),
            f"http://127.0.0.1:{ports[1]}/v2/models/bench/ready",
        ),
    ]  # fmt: skip


def _measure_v2(server: Any, bodies: dict[tuple[str, int], Path], seconds: float) -> dict[str, Any]:
    name, command, server_env, ready = server
    cells: dict[str, Any] = {}
    with _running(name, command, server_env, ready) as (port, _):
        for label, layout, rows, concurrency in V2_SCENARIOS:
            if name == MLSERVER_V2 and "binary" in layout:
                continue  # MLServer's REST server reads no binary tensors
            body = bodies[(layout, rows)]
            cells[label] = _load(port, "/v2/models/bench/infer", body, concurrency, seconds)
            console.print(f"  {label}: {cells[label]}")
    return cells


def _v2_report(results: dict[str, dict[str, Any]], load: tuple[float, ...]) -> list[str]:
    """The V2 table, Shipyard against MLServer per cell (binary cells against MLServer's
    JSON of the same layout: it takes no binary tensors)."""
    ours, theirs = results.get(SHIPYARD_V2, {}), results.get(MLSERVER_V2, {})
    table = Table(title=f"V2 inference, logistic regression (load average {load[0]:.1f})")
    for column in ("request", SHIPYARD_V2, MLSERVER_V2, "ratio req/s"):
        table.add_column(column, justify="left" if column == "request" else "right")
    lines = []
    for label, layout, _, _ in V2_SCENARIOS:
        mine = ours.get(label)
        other = theirs.get(label) or theirs.get(label.replace("binary", "JSON"))
        cell = lambda c: f"{c['rps']:.0f} ({c['p50_ms']:.1f} / {c['p99_ms']:.1f} ms)" if c else "-"  # noqa: E731
        ratio = mine["rps"] / other["rps"] if mine and other else None
        table.add_row(label, cell(mine), cell(other), f"{ratio:.2f}x" if ratio else "-")
        if ratio is not None:
            verdict = "[green]met[/]" if ratio > 1 else "[red]missed[/]"
            note = " (vs MLServer's JSON)" if "binary" in layout else ""
            lines.append(f"req/s {label} vs MLServer{note}: {ratio:.2f}x (target > 1x) {verdict}")
    console.print(table)
    return lines


def _prepare(work: Path, env: dict[str, str], threads: dict[str, str]) -> dict[str, Any]:
    """Bodies, the registered model, the joblib file, the MLflow model and the venvs."""
    bodies: dict[tuple[str, int], Path] = {}
    for rows in (1, 100):
        records = _records(rows)
        docs = {"records": records, "mlflow": {"dataframe_records": records}}
        docs["bentoml"] = {"records": records}
        for kind, doc in docs.items():
            path = work / f"{kind}-{rows}.json"
            path.write_text(json.dumps(doc))
            bodies[(kind, rows)] = path
    console.print("preparing models (shipyard registry, joblib, MLflow and BentoML venvs) ...")
    home = _register(work / "shipyard-home", "forest", env)
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
    return {"bodies": bodies, "home": home, "mlflow": mlflow_python, "bentoml": BENTOML.ensure()}


def _servers(
    work: Path, env: dict[str, str], threads: dict[str, str], prep: dict[str, Any]
) -> list[Any]:
    """(name, command, env, readiness URL, route, body kind) of each server."""
    ports = [_free_port() for _ in range(4)]
    mlflow_python, bento_python = prep["mlflow"], prep["bentoml"]
    return [
        (
            SHIPYARD,
            *_shipyard_serve(ports[0], prep["home"], {**env, **prep["source"]}),
            "/predict",
            "records",
        ),
        (
            FASTAPI,
            [sys.executable, str(HERE / "_serving_apps.py"), "fastapi", str(work / "joblib"),
             str(ports[1]), str(WORKERS)],
            {**env, "PYTHONPATH": str(HERE)},
            f"http://127.0.0.1:{ports[1]}/docs",
            "/predict",
            "records",
        ),
        (
            BENTO,
            [str(bento_python), "-m", "bentoml", "serve", "_serving_bento:Bench", "--working-dir",
             str(HERE), "--host", "127.0.0.1", "--port", str(ports[2])],
            clean_env(
                bento_python,
                {**threads, "BENCH_MODEL_DIR": str(work / "joblib"), "BENCH_WORKERS": str(WORKERS),
                 "BENTOML_HOME": str(work / "bentoml-home")},
            ),
            f"http://127.0.0.1:{ports[2]}/readyz",
            "/predict",
            "bentoml",
        ),
        (
            MLFLOW_SERVE,
            [str(mlflow_python), "-m", "mlflow", "models", "serve", "-m",
             str(work / "mlflow" / "mlflow"), "--env-manager", "local", "-h", "127.0.0.1",
             "-p", str(ports[3]), "-w", str(WORKERS)],
            clean_env(mlflow_python, threads),
            f"http://127.0.0.1:{ports[3]}/ping",
            "/invocations",
            "mlflow",
        ),
    ]  # fmt: skip


@contextmanager
def _running(
    name: str, command: list[str], env: dict[str, str], ready: str
) -> Iterator[tuple[int, int]]:
    """A server started in its own session, ready at ``ready``; its port and process id;
    stopped after."""
    console.print(f"[bold]{name}[/]: starting ...")
    process = subprocess.Popen(
        command,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(ready, process)
        yield int(ready.split(":")[2].split("/")[0]), process.pid
    finally:
        _stop(process)


def _tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by process ``root`` and its live descendants:
    a server, its supervisor and every worker (Linux ``/proc``; followed by parent ids, as a
    server's processes may start sessions of their own: BentoML's are not in its session)."""
    stats: dict[int, tuple[int, int]] = {}  # pid: (parent pid, CPU ticks)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        fields = stat.rpartition(")")[2].split()  # from field 3 (state) on
        # field 4: the parent's pid; fields 14 and 15: user and system CPU ticks
        stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in stats.items():
        children.setdefault(parent, []).append(pid)
    ticks, todo = 0, [root]
    while todo:
        pid = todo.pop()
        ticks += stats[pid][1] if pid in stats else 0
        todo += children.get(pid, [])
    return ticks / os.sysconf("SC_CLK_TCK")


def _measure(server: Any, bodies: dict[tuple[str, int], Path], seconds: float) -> dict[str, Any]:
    """Each cell of one server, with the server's CPU per request (all its processes, over
    the warm-up and the timed run: what a request costs the server whatever the wall clock
    of a shared machine does)."""
    name, command, server_env, ready, path, kind = server
    cells: dict[str, Any] = {}
    with _running(name, command, server_env, ready) as (port, server_pid):
        for label, rows, concurrency in SCENARIOS:
            before = _tree_cpu(server_pid)
            cell = _load(port, path, bodies[(kind, rows)], concurrency, seconds)
            answered = cell["requests"] + cell["errors"] + cell["warmup_requests"]
            cell["server_cpu_ms"] = (_tree_cpu(server_pid) - before) * 1000 / max(answered, 1)
            cells[label] = cell
            console.print(f"  {label}: {cells[label]}")
    return cells


def _ratios(results: dict[str, dict[str, Any]]) -> list[str]:
    """Shipyard's req/s and p99 against each other server, per column."""
    ours = results.get(SHIPYARD, {})
    lines = []
    for other in (MLFLOW_SERVE, BENTO, FASTAPI):
        theirs = results.get(other, {})
        ratios = [
            f"{label}: {ours[label]['rps'] / theirs[label]['rps']:.2f}x req/s, p99 "
            f"{ours[label]['p99_ms'] / theirs[label]['p99_ms']:.2f}x"
            for label, _, _ in SCENARIOS
            if label in ours and label in theirs
        ]
        if ratios:
            lines.append(f"shipyard vs {other}: " + "; ".join(ratios))
    return lines


def _targets(results: dict[str, dict[str, Any]]) -> list[str]:
    """The issue's targets, each with its measured value and met / missed."""
    ours = results.get(SHIPYARD, {})
    checks: list[tuple[str, str, float, float, bool]] = []  # text, other, value, bound, higher
    c1, c32 = SCENARIOS[0][0], SCENARIOS[1][0]
    if MLFLOW_SERVE in results:
        m = results[MLFLOW_SERVE]
        checks.append(
            ("req/s at c=32 vs MLflow", ">= 4x", ours[c32]["rps"] / m[c32]["rps"], 4, True)
        )
        checks.append(
            (
                "p99 at c=32 vs MLflow",
                "<= 0.25x",
                ours[c32]["p99_ms"] / m[c32]["p99_ms"],
                0.25,
                False,
            )
        )
    if FASTAPI in results:
        f = results[FASTAPI]
        checks.append(
            ("req/s at c=1 vs FastAPI", ">= 0.8x", ours[c1]["rps"] / f[c1]["rps"], 0.8, True)
        )
        checks.append(
            ("req/s at c=32 vs FastAPI", "> 1x", ours[c32]["rps"] / f[c32]["rps"], 1, True)
        )
    if BENTO in results:
        b = results[BENTO]
        for label, _, _ in SCENARIOS:
            checks.append(
                (f"req/s {label} vs BentoML", "> 1x", ours[label]["rps"] / b[label]["rps"], 1, True)
            )
    return [
        f"{text}: {value:.2f}x (target {bound_text}) "
        + ("[green]met[/]" if (value >= bound if higher else value <= bound) else "[red]missed[/]")
        for text, bound_text, value, bound, higher in checks
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0, help="per measurement")
    parser.add_argument("--only", action="append", help="measure only these servers (by name)")
    parser.add_argument(
        "--section",
        choices=("all", "records", "v2"),
        default="all",
        help="records: /predict against MLflow, BentoML and FastAPI; v2: V2 against MLServer",
    )
    parser.add_argument(
        "--shipyard-rev", help="serve src/shipyard as of this git revision (a snapshot)"
    )
    args = parser.parse_args()
    source_env, source = shipyard_source(args.shipyard_rev)
    work = Path(tempfile.mkdtemp(prefix="serving-", dir=WORK_DIR if WORK_DIR.exists() else None))
    threads = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env = clean_env(extra=threads)
    loads = [os.getloadavg()]
    v2: dict[str, dict[str, Any]] = {}
    if args.section in ("all", "v2"):
        prep_v2 = {**_prepare_v2(work, env, threads), "source": source_env}
        for server in _v2_servers(env, threads, prep_v2):
            if not args.only or any(o in server[0] for o in args.only):
                v2[server[0]] = _measure_v2(server, prep_v2["bodies"], args.seconds)
        loads.append(os.getloadavg())
    results: dict[str, dict[str, Any]] = {}
    if args.section in ("all", "records"):
        prep = {**_prepare(work, env, threads), "source": source_env}
        for server in _servers(work, env, threads, prep):
            if args.only and not any(o in server[0] for o in args.only):
                continue
            results[server[0]] = _measure(server, prep["bodies"], args.seconds)
        loads.append(os.getloadavg())
    v2_lines = _v2_report(v2, loads[1]) if v2 else []
    for line in v2_lines:
        console.print(line)
    if not results:
        _save({"load_averages": loads, "seconds": args.seconds, "shipyard": source, "v2": v2})
        return
    load = os.getloadavg()
    table = Table(
        title=f"Model serving ({WORKERS} workers, 1 BLAS thread each, {args.seconds:.0f} s/cell, "
        f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f})"
    )
    table.add_column("server")
    for label, _, _ in SCENARIOS:
        table.add_column(f"{label}\nreq/s", justify="right")
        table.add_column("p50 / p99 ms", justify="right")
        table.add_column("server CPU\nms/req", justify="right")
    for name, cells in results.items():
        row = [name]
        for label, _, _ in SCENARIOS:
            cell = cells[label]
            row += [
                f"{cell['rps']:.0f}" + (f" ({cell['errors']} err)" if cell["errors"] else ""),
                f"{cell['p50_ms']:.1f} / {cell['p99_ms']:.1f}",
                f"{cell['server_cpu_ms']:.2f}",
            ]
        table.add_row(*row)
    console.print(table)
    for line in _ratios(results) + _targets(results):
        console.print(line)
    _save(
        {
            "load_averages": loads,
            "seconds": args.seconds,
            "shipyard": source,
            "results": results,
            "v2": v2,
        }
    )


def _save(record: dict[str, Any]) -> None:
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    (WORK_DIR / "serving.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
