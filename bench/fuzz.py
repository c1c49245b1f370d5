"""Fuzzing at scale: the suite's fuzz and property tests with many times more examples.

    uv run --all-extras python bench/fuzz.py              # 20x the suite's examples
    uv run --all-extras python bench/fuzz.py --scale 100  # longer
    uv run --all-extras python bench/fuzz.py --quick      # SQLite only, no PostgreSQL

The tests are the suite's own (schemathesis over the REST server and the model server;
hypothesis on the filter language, signature enforcement and the V2 codecs), so a larger run
checks exactly what CI checks: no 5xx, responses as documented, every refusal an
InvalidArgument naming the input. ``SHIPYARD_FUZZ_SCALE`` multiplies each test's example
count. Prints one line per test file (outcome and seconds) and exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = [
    "tests/store/test_filter_fuzz.py",
    "tests/registry/test_signature_fuzz.py",
    "tests/serving/test_fuzz_codec.py",
    "tests/serving/test_codec.py",
    "tests/serving/test_fuzz.py",
    "tests/server/test_fuzz.py",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=20, help="times the suite's examples")
    parser.add_argument("--quick", action="store_true", help="SQLite only")
    args = parser.parse_args()
    env = {**os.environ, "SHIPYARD_FUZZ_SCALE": str(args.scale)}
    failed = 0
    for path in FILES:
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", path]
        if args.quick:
            command += ["-m", "not postgres"]
        started = time.monotonic()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - started
        summary = (done.stdout.strip().splitlines() or ["no output"])[-1]
        print(f"{path:42} {seconds:7.0f} s  {summary}", flush=True)
        if done.returncode != 0:
            failed += 1
            print(done.stdout[-4000:], file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
