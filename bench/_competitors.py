"""Isolated virtualenvs for competitor tools, and a JSON-over-stdout subprocess runner.

Every competitor (MLflow, Feast, Prefect, Evidently, BentoML, ...) gets its own virtualenv
under ``bench/.venvs/<name>``, created with ``uv venv`` and filled with ``uv pip install``
from pinned requirements. Competitors are never installed in the project venv. A venv is
reused when its recorded pins (and interpreter) match the requested ones, and rebuilt
otherwise.

A benchmark child reports its results by printing one line ``RESULT_MARKER + json`` on
stdout (see :func:`emit_line`); anything else it prints is ignored. Without a marker line, the
last stdout line that parses as JSON is taken.

Typical use::

    mlflow = Competitor("mlflow", ("mlflow==3.17.2",))
    python = mlflow.ensure()
    result = run_json(python, script=Path("bench/_child.py"), args=["log_metric", "{}"])
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
VENVS_DIR = BENCH_DIR / ".venvs"
WORK_DIR = BENCH_DIR / ".work"
RESULT_MARKER = "@@BENCH-RESULT@@ "
_PINS_FILE = "bench-pins.json"

# Variables of the calling environment that would leak the project venv into a child.
_LEAKY_ENV = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT", "CONDA_PREFIX")


class BenchChildError(RuntimeError):
    """A benchmark child process failed or printed no JSON result."""


def emit_line(result: Any) -> str:
    """The stdout line a child prints to report ``result`` (use it inside children)."""
    return RESULT_MARKER + json.dumps(result)


def base_python() -> str:
    """The real interpreter behind the running one (so competitors use the same CPython)."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    return str(Path(base).resolve())


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:
        raise BenchChildError("`uv` is not on PATH; it is needed to build competitor venvs")
    return uv


@dataclass(frozen=True)
class Competitor:
    """A tool to benchmark against, installed from pinned requirements in its own venv."""

    name: str
    requirements: tuple[str, ...]
    python: str = field(default_factory=base_python)

    @property
    def venv(self) -> Path:
        return VENVS_DIR / self.name

    @property
    def interpreter(self) -> Path:
        return self.venv / "bin" / "python"

    def _wanted(self) -> dict[str, Any]:
        return {"python": self.python, "requirements": sorted(self.requirements)}

    def is_ready(self) -> bool:
        pins = self.venv / _PINS_FILE
        if not (pins.is_file() and self.interpreter.exists()):
            return False
        try:
            recorded = json.loads(pins.read_text())
        except json.JSONDecodeError:
            return False
        return {k: recorded.get(k) for k in ("python", "requirements")} == self._wanted()

    def ensure(self, *, quiet: bool = True) -> Path:
        """Create (or reuse) the venv and return its Python interpreter."""
        if self.is_ready():
            return self.interpreter
        if self.venv.exists():
            shutil.rmtree(self.venv)
        started = time.perf_counter()
        flags = ["-q"] if quiet else []
        _check_call([_uv(), "venv", *flags, "--python", self.python, str(self.venv)])
        _check_call(
            [_uv(), "pip", "install", *flags, "--python", str(self.interpreter), *self.requirements]
        )
        record = {
            **self._wanted(),
            "install_seconds": round(time.perf_counter() - started, 1),
            "freeze": self.freeze(),
        }
        (self.venv / _PINS_FILE).write_text(json.dumps(record, indent=2))
        return self.interpreter

    def freeze(self) -> list[str]:
        """The fully resolved package list of the venv (for the results record)."""
        out = subprocess.run(
            [_uv(), "pip", "freeze", "--python", str(self.interpreter)],
            check=True,
            capture_output=True,
            text=True,
            env=clean_env(),
        ).stdout
        return [line for line in out.splitlines() if line.strip()]

    def run(self, **kwargs: Any) -> Any:
        """:func:`run_json` with this competitor's interpreter (creating the venv if needed)."""
        return run_json(self.ensure(), **kwargs)


def _check_call(cmd: Sequence[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=clean_env())
    if proc.returncode != 0:
        raise BenchChildError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")


def clean_env(python: Path | None = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The calling environment without variables that would leak the project venv.

    Bytecode caching is on, into ``bench/.work/pycache``. With ``python`` inside a venv,
    that venv is activated (``VIRTUAL_ENV`` and ``PATH``).
    """
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY_ENV}
    # Children write bytecode (as a normal install would have it) to a cache of their own,
    # so no venv is touched and a first import does not recompile on every run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(WORK_DIR / "pycache")
    if python is not None and (python.parent.parent / "pyvenv.cfg").exists():
        venv = python.parent.parent
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


def parse_result(stdout: str) -> Any:
    """The JSON result in a child's stdout: the last marker line, else the last JSON line."""
    lines = stdout.splitlines()
    for line in reversed(lines):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER) :])
    for line in reversed(lines):
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            continue
    raise BenchChildError("the child printed no JSON result")


def run_json(
    python: Path | str,
    *,
    code: str | None = None,
    script: Path | None = None,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
) -> Any:
    """Run ``code`` (a snippet) or ``script`` (a file) with ``python``; return its JSON result.

    The child gets a clean environment (see :func:`clean_env`) plus ``env``. Its stderr is
    passed through on failure only.
    """
    if (code is None) == (script is None):
        raise ValueError("give exactly one of code= or script=")
    target = ["-c", code] if code is not None else [str(script)]
    python = Path(python)
    proc = subprocess.run(
        [str(python), *target, *args],
        capture_output=True,
        text=True,
        env=clean_env(python, env),
        cwd=cwd,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise BenchChildError(
            f"{python} {' '.join(target[:2])[:80]} exited {proc.returncode}:\n{proc.stderr[-4000:]}"
        )
    try:
        return parse_result(proc.stdout)
    except BenchChildError as exc:
        raise BenchChildError(f"{exc}; stderr:\n{proc.stderr[-4000:]}") from None


def time_fresh_imports(
    python: Path | str,
    module: str,
    *,
    repeat: int = 5,
    warmup: int = 1,
    env: Mapping[str, str] | None = None,
) -> list[float]:
    """Wall-clock seconds of ``python -c "import module"`` in fresh processes.

    ``warmup`` runs first, uncounted: they fill the OS file cache and the bytecode cache.
    """
    python = Path(python)
    env = clean_env(python, env)
    cmd = [str(python), "-c", f"import {module}"]
    timings: list[float] = []
    for i in range(warmup + repeat):
        started = time.perf_counter()
        subprocess.run(cmd, check=True, env=env, capture_output=True)
        if i >= warmup:
            timings.append(time.perf_counter() - started)
    return timings
