"""The warm interpreter runs a program as ``python ARGV`` would: its arguments, folder,
import path, environment, output, exit status and shutdown (threads, atexit)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import shipyard
from tests.support.warm import WarmPython

PROGRAM = """
import atexit, json, os, sys, threading, time

atexit.register(lambda: print("atexit ran"))
late = threading.Thread(target=lambda: (time.sleep(0.2), print("thread joined")))
late.start()
import helper  # from the script's own folder
import extra  # from PYTHONPATH
print(json.dumps({"argv": sys.argv, "cwd": os.getcwd(), "env": os.environ.get("ONLY"),
                  "home": os.environ.get("HOME"), "main": __name__, "stdin": sys.stdin.read()}))
print("to stderr", file=sys.stderr)
sys.exit(int(sys.argv[1]))
"""


@pytest.fixture
def program(tmp_path: Path) -> Path:
    folder = tmp_path / "prog"
    folder.mkdir()
    (folder / "helper.py").write_text("")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "extra.py").write_text("")
    (folder / "main.py").write_text(PROGRAM)
    return folder / "main.py"


def test_a_script_runs_as_python_would_run_it(
    warm_python: WarmPython, program: Path, tmp_path: Path
) -> None:
    env = {"ONLY": "this", "PYTHONPATH": str(tmp_path / "lib")}
    done = warm_python.run([program, "3", "x"], cwd=tmp_path, env=env)
    real = subprocess.run(
        [sys.executable, str(program), "3", "x"], cwd=tmp_path, env=env, capture_output=True,
        text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (real.returncode, real.stderr) == (3, "to stderr\n")
    assert done.stdout.splitlines() == real.stdout.splitlines()
    first, *rest = done.stdout.splitlines()
    assert json.loads(first) == {
        "argv": [str(program), "3", "x"], "cwd": str(tmp_path), "env": "this", "home": None,
        "main": "__main__", "stdin": "",
    }  # fmt: skip
    assert rest == ["thread joined", "atexit ran"]


def test_a_module_runs_as_python_m_and_a_crash_exits_1_with_its_traceback(
    warm_python: WarmPython, tmp_path: Path
) -> None:
    version = warm_python.run(["-m", "shipyard", "version"], cwd=tmp_path, env=dict(os.environ))
    assert (version.returncode, version.stdout.strip()) == (0, shipyard.__version__)
    (tmp_path / "crash.py").write_text("raise ValueError('boom')\n")
    crashed = warm_python.run(["crash.py"], cwd=tmp_path, env={})
    assert crashed.returncode == 1
    assert "Traceback" in crashed.stderr and "ValueError: boom" in crashed.stderr


def test_a_program_past_its_timeout_is_killed(warm_python: WarmPython, tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text("import time\ntime.sleep(60)\n")
    with pytest.raises(subprocess.TimeoutExpired):
        warm_python.run(["slow.py"], cwd=tmp_path, env={}, timeout=0.5)
    (tmp_path / "quick.py").write_text("print('still serving')\n")
    assert warm_python.run(["quick.py"], cwd=tmp_path, env={}).stdout == "still serving\n"
