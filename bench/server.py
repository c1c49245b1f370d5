"""Tracking servers: ``shipyard server`` vs ``mlflow server``, measured in the same run.

Run with ``uv run --extra bench python bench/server.py`` (``--quick`` for a smoke test).
Each tool's server starts with its defaults on a SQLite backend in a fresh folder (MLflow
from its own venv, ``bench/.venvs/mlflow``); each measurement is a fresh client process
(``bench/_server_child.py``) talking HTTP to it through the tool's own SDK. The runs searched
are written into the store embedded before its server starts, so both answer the same query
over the same runs. Resident memory is the server's whole process tree (parent and workers),
idle and after the workload. Results go to ``bench/.work/server.json``; bench/README.md says
what each row means.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _competitors import WORK_DIR, clean_env, run_json
from tracking import MLFLOW, SEARCH, WIDTH, Row, compare, machine, render

CHILD = Path(__file__).resolve().parent / "_server_child.py"
console = Console(stderr=True, width=WIDTH)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One tool's server process (and its workers), on a fresh home."""

    name: str
    python: Path
    home: Path
    url: str = ""
    proc: subprocess.Popen[bytes] | None = None
    memory: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

    def child(self, task: str, *, remote: bool = True, **kwargs: Any) -> dict[str, Any]:
        """One measurement in a fresh client process."""
        payload = {"home": str(self.home / f"client-{task}"), **kwargs}
        if remote:
            payload["url"] = self.url
        out: dict[str, Any] = run_json(
            self.python, script=CHILD, args=[self.name, task, json.dumps(payload)], timeout=3600
        )
        if "result" not in out:
            raise RuntimeError(f"{self.name} {task}: the child reported no result: {out}")
        self.outputs[f"{task}:{json.dumps(kwargs, sort_keys=True)}"] = out
        console.log(f"{self.name:8} {task:14} {_summary(out['result'])}")
        return out["result"]  # type: ignore[no-any-return]

    def start(self) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        log = open(self.home / "server.log", "wb")  # noqa: SIM115
        if self.name == "mlflow":
            cmd = [str(self.python.parent / "mlflow"), "server", "--host", "127.0.0.1"]
            cmd += ["--port", str(port), "--backend-store-uri", f"sqlite:///{self.home}/mlflow.db"]
            env, health = clean_env(self.python), "/health"
        else:
            cmd = [str(self.python), "-m", "shipyard", "server", "--port", str(port)]
            env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
            env["SHIPYARD_HOME"] = str(self.home / ".shipyard")
            health = "/healthz"
        self.proc = subprocess.Popen(cmd, cwd=self.home, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(self.url + health, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} server did not start; see {self.home}/server.log")
            time.sleep(0.2)
        time.sleep(2)  # let workers finish importing before the idle reading
        self.memory["idle"] = self.rss()

    def rss(self) -> dict[str, Any]:
        """Resident memory of the server and every process under it."""
        assert self.proc is not None
        root = psutil.Process(self.proc.pid)
        procs = [root, *root.children(recursive=True)]
        total = 0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return {"bytes": total, "processes": len(procs)}

    def stop(self) -> None:
        if self.proc is None:
            return
        self.memory["after_load"] = self.rss()
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                child.kill()
            self.proc.kill()
            self.proc.wait(10)


def _summary(result: dict[str, Any]) -> str:
    if "per_second" in result:
        rate = result["per_second"]
        return f"{result['count']:>9,} points in {result['seconds']:6.2f} s = {rate:>10,.0f}/s"
    if "p50" in result:
        p50, p99 = result["p50"] * 1e3, result["p99"] * 1e3
        return f"p50 {p50:7.2f} ms  p99 {p99:7.2f} ms ({result['count']})"
    return f"{result.get('runs', '?')} runs in {result.get('seconds', 0):.1f} s"


def _ms(value: float) -> str:
    return f"{value * 1e3:,.2f} ms"


def measure(ml: Server, sy: Server, a: argparse.Namespace) -> list[Row]:
    query = {k: SEARCH[k] for k in ("filter", "order_by", "limit")}
    search = {s.name: s.child("search_latency", repeat=a.search_repeat, **query) for s in (ml, sy)}
    rows = []
    per_call = [
        ("log_metric via the SDK, buffered", {"n": a.mlflow_calls}, {"n": a.shipyard_calls}, 100),
        ("log_metric, sync_logging", {"n": a.mlflow_calls}, {"n": a.sync_calls, "sync": True}, 10),
    ]
    for label, ml_kwargs, sy_kwargs, minimum in per_call:
        m, s = ml.child("log_metric", **ml_kwargs), sy.child("log_metric", **sy_kwargs)
        rows.append(compare(label, m["per_second"], s["per_second"], minimum=minimum, rate=True))
    batch = {"size": 1000, "keys": 10}
    m = ml.child("log_batch", batches=a.mlflow_batches, **batch)
    s = sy.child("log_batch", batches=a.shipyard_batches, **batch)
    rows.append(
        compare(
            "log_batch, 1,000 points a call",
            m["per_second"],
            s["per_second"],
            minimum=10,
            rate=True,
        )
    )
    m_lat = ml.child("latency", n=a.mlflow_calls)
    s_lat = sy.child("latency", n=a.sync_calls, sync=True)
    for q in ("p50", "p99"):
        rows.append(_latency_row(f"log_metric (sync) latency {q}", m_lat[q], s_lat[q]))
    m_s, s_s = search["mlflow"], search["shipyard"]
    if m_s["top_m1"] != s_s["top_m1"]:
        console.log(f"[red]search results differ: {m_s['top_m1']} vs {s_s['top_m1']}")
    rows.append(
        compare(f"search_runs p50, {a.runs:,} runs", m_s["p50"], s_s["p50"], minimum=10, rate=False)
    )
    rows.append(_latency_row(f"search_runs p99, {a.runs:,} runs", m_s["p99"], s_s["p99"]))
    return rows


def _latency_row(label: str, ml: float, sy: float) -> Row:
    return Row(label, _ms(ml), _ms(sy), ml / sy, "-", None)


def memory_rows(ml: Server, sy: Server) -> list[Row]:
    rows = []
    for when in ("idle", "after_load"):
        m, s = ml.memory[when], sy.memory[when]
        ratio = s["bytes"] / m["bytes"]
        rows.append(
            Row(
                f"server RSS, defaults, {when.replace('_', ' ')}",
                f"{m['bytes'] / 2**20:,.0f} MiB ({m['processes']} proc)",
                f"{s['bytes'] / 2**20:,.0f} MiB ({s['processes']} proc)",
                m["bytes"] / s["bytes"],
                "<= 1/4 of MLflow",
                ratio <= 0.25,
            )
        )
    return rows


QUICK = {
    "runs": 200,
    "mlflow_calls": 100,
    "shipyard_calls": 5_000,
    "sync_calls": 500,
    "mlflow_batches": 3,
    "shipyard_batches": 20,
    "search_repeat": 5,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = p.add_argument
    add("--runs", type=int, default=2_000, help="runs in the store that is searched")
    add("--mlflow-calls", type=int, default=500, help="MLflow log_metric calls (per-call rows)")
    add("--shipyard-calls", type=int, default=100_000, help="Shipyard buffered log_metric calls")
    add("--sync-calls", type=int, default=5_000, help="Shipyard sync_logging log_metric calls")
    add("--mlflow-batches", type=int, default=30, help="MLflow log_batch calls of 1,000 points")
    add("--shipyard-batches", type=int, default=300, help="Shipyard log_batch calls of 1,000")
    add("--search-repeat", type=int, default=30, help="timed searches per tool")
    add("--quick", action="store_true", help="small sizes everywhere: a smoke test, not a result")
    add("--out", type=Path, default=WORK_DIR / "server.json", help="where the JSON goes")
    args = p.parse_args(argv)
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    started, load_before = time.perf_counter(), os.getloadavg()
    console.log(f"MLflow venv: {MLFLOW.venv} ({', '.join(MLFLOW.requirements)})")
    mlflow_python = MLFLOW.ensure()
    with tempfile.TemporaryDirectory(prefix="server-bench-", dir=WORK_DIR) as tmp:
        servers = []
        for name, python in (("mlflow", mlflow_python), ("shipyard", Path(sys.executable))):
            home = Path(tmp) / name
            home.mkdir()
            server = Server(name, python, home)
            populate_home = home if name == "mlflow" else home / ".shipyard"
            server.child(
                "populate",
                remote=False,
                runs=args.runs,
                seed=SEARCH["seed"],
                home=str(populate_home),
            )
            servers.append(server)
        ml, sy = servers
        try:
            for server in servers:
                server.start()
            rows = measure(ml, sy, args)
        finally:
            for server in servers:
                server.stop()
        rows += memory_rows(ml, sy)
    from rich.console import Console as Out

    Out(width=WIDTH).print(render(rows, title="Tracking server: shipyard server vs mlflow server"))
    record = {
        "machine": machine(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "mlflow_requirements": list(MLFLOW.requirements),
        "rows": [asdict(r) for r in rows],
        "memory": {"mlflow": ml.memory, "shipyard": sy.memory},
        "children": {"mlflow": ml.outputs, "shipyard": sy.outputs},
        "total_seconds": time.perf_counter() - started,
    }
    args.out.write_text(json.dumps(record, indent=2))
    console.log(f"wrote {args.out} after {record['total_seconds']:.0f} s")
    return 0 if all(r.passed is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
