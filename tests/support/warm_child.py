"""The warm interpreter of ``tests/support/warm.py``, run as its own process:

    python tests/support/warm_child.py MODULE...

imports the MODULEs once, prints ``READY``, then runs one program per JSON line read from
stdin (``{"argv", "cwd", "env", "out", "err"}``) in a child forked from this warm state.
``argv`` is ``["-m", module, *args]`` or ``[script, *args]``, run as ``__main__`` as
``python ARGV`` would run it: the same ``sys.argv``, ``sys.path`` (the script's folder
first, then ``PYTHONPATH``), working directory and environment; stdout and stderr to the
files ``out`` and ``err``, stdin empty. The child ends as an interpreter does (non-daemon
threads joined, ``atexit`` handlers run, streams flushed; the teardown of every module is
skipped). For each job it prints ``PID <pid>`` and, once the child has ended, ``EXIT <pid>
<status>`` (minus the signal number when a signal ended it).

Only the standard library is imported before the MODULEs; nothing is opened (no
connection, no thread) before a fork.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import runpy
import sys


def _python_path(env: dict[str, str]) -> list[str]:
    return [os.path.abspath(p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]


def _run(job: dict[str, object]) -> None:
    """In the forked child: become ``python ARGV`` and run it; never returns."""
    argv = [str(a) for a in job["argv"]]  # type: ignore[attr-defined]
    env = {str(k): str(v) for k, v in job["env"].items()}  # type: ignore[attr-defined]
    ours = set(_python_path(dict(os.environ)))
    sys.path[1:] = _python_path(env) + [p for p in sys.path[1:] if p not in ours]
    os.environ.clear()
    os.environ.update(env)
    os.chdir(str(job["cwd"]))
    for fd, path, flags in (
        (0, os.devnull, os.O_RDONLY),
        (1, str(job["out"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        (2, str(job["err"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
    ):
        opened = os.open(path, flags, 0o644)
        os.dup2(opened, fd)
        os.close(opened)
    if argv[0] == "-m":
        sys.argv = [argv[1], *argv[2:]]
        sys.path[0] = os.getcwd()
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = argv
        sys.path[0] = os.path.dirname(os.path.abspath(argv[0]))
        runpy.run_path(argv[0], run_name="__main__")


def _status(job: dict[str, object]) -> int:
    """Run the job; the exit status ``python`` would end with."""
    try:
        _run(job)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException:
        import traceback

        traceback.print_exc()
        return 1
    return 0


def _exit(status: int) -> None:
    """End as an interpreter ends (non-daemon threads joined, ``atexit`` handlers, streams
    flushed), without tearing down every module the warm interpreter had imported: that
    takes seconds and no program can see it."""
    import atexit
    import threading

    try:
        threading._shutdown()  # type: ignore[attr-defined]
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(status)


def serve(modules: list[str]) -> None:
    """Import ``modules``, then fork one program per job line (see the module docstring)."""
    for module in modules:
        importlib.import_module(module)
    print("READY", flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _exit(_status(job))
        print(f"PID {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"EXIT {pid} {os.waitstatus_to_exitcode(status)}", flush=True)


if __name__ == "__main__":
    serve(sys.argv[1:])
