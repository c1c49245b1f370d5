"""Scratch folders and files: removed at the end of the block, on an exception and on SIGTERM
(whose previous handler still runs), named so that ``shipyard gc`` recognises them."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.artifacts import WRITER_PREFIXES, scratch_dir, scratch_file

_WRITER = """
import signal, sys, time
from shipyard.artifacts import scratch_dir
if sys.argv[1] == "chained":
    signal.signal(signal.SIGTERM, lambda s, f: (print("user handler", flush=True), sys.exit(3)))
with scratch_dir("shipyard-data-") as tmp:
    (tmp / "data.parquet").write_bytes(b"x" * 1000)
    print(tmp, flush=True)
    time.sleep(60)
"""


def test_scratch_dir_is_removed_at_the_end_and_on_an_exception() -> None:
    with scratch_dir("shipyard-data-") as tmp:
        (tmp / "f").write_text("x")
        assert tmp.name.startswith("shipyard-data-")
    assert not tmp.exists()
    with pytest.raises(RuntimeError), scratch_file() as path:
        path.write_text("x")
        raise RuntimeError("writer failed")
    assert not path.exists()


def test_scratch_prefix_must_be_one_gc_recognises() -> None:
    assert "shipyard-data-" in WRITER_PREFIXES
    with pytest.raises(ValueError, match="shipyard-"), scratch_dir("mine-"):
        pass


@pytest.mark.parametrize(("handler", "code"), [("default", -signal.SIGTERM), ("chained", 3)])
def test_sigterm_removes_live_scratch_folders(handler: str, code: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, handler], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    folder = Path(proc.stdout.readline().strip())
    assert (folder / "data.parquet").exists()
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == code
    assert not folder.exists()
    if handler == "chained":
        assert "user handler" in rest


def test_the_previous_sigterm_handler_is_back_after_the_block() -> None:
    def mine(signum: int, frame: object) -> None:
        raise AssertionError("not called")

    before = signal.signal(signal.SIGTERM, mine)
    try:
        with scratch_dir("shipyard-data-"):
            assert signal.getsignal(signal.SIGTERM) is not mine
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, before)
