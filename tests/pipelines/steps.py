"""Steps and pipelines the pipeline tests run (a module, so worker processes can import them).

Every step appends its name to ``calls.log`` in the working directory (each test has its
own), so a test can tell which steps really ran and which came from the cache.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shipyard import data
from shipyard.pipelines import pipeline, step


def called(name: str) -> None:
    with open("calls.log", "a") as fh:
        fh.write(f"{name}\n")


def calls() -> list[str]:
    path = Path("calls.log")
    return path.read_text().split() if path.exists() else []


@step
def source(n: int) -> pd.DataFrame:
    called("source")
    return pd.DataFrame({"x": np.arange(n, dtype="int64")})


@step
def double(df: pd.DataFrame, factor: int = 2) -> pd.DataFrame:
    called("double")
    return df.assign(x=df["x"] * factor)


@step
def total(df: pd.DataFrame) -> int:
    called("total")
    return int(df["x"].sum())


@step
def side(n: int) -> dict[str, int]:
    called("side")
    return {"n": n}


@pipeline
def chain(n: int = 5, factor: int = 2) -> None:
    total(double(source(n), factor=factor))
    side(n + 100)


@step
def from_dataset(df: pd.DataFrame) -> pd.DataFrame:
    called("from_dataset")
    return df.assign(y=df["x"] + 1)


@pipeline
def on_data(name: str = "nums") -> None:
    total(from_dataset(data.ref(f"{name}@latest")))


# ----------------------------------------------------------------------------- failures


@step
def fine() -> int:
    called("fine")
    return 1


@step
def boom(value: int) -> int:
    called("boom")
    if not Path("fixed.flag").exists():
        raise RuntimeError("boom: the flag file is missing")
    return value + 1


@step
def after_boom(value: int) -> int:
    called("after_boom")
    return value * 10


@step
def independent() -> str:
    called("independent")
    return "done"


@pipeline
def fragile() -> None:
    after_boom(boom(fine()))
    independent()


@step(retries=2, retry_delay=0.01, backoff=3)
def flaky() -> str:
    called("flaky")
    if calls().count("flaky") < 3:
        raise ConnectionError("flaky: not yet")
    return "ok"


@pipeline
def retrying() -> None:
    flaky()


@step(timeout=1)
def sleepy() -> int:
    Path("sleepy.pid").write_text(str(os.getpid()))
    time.sleep(60)
    Path("sleepy.finished").write_text("should never happen")
    return 1


@pipeline
def too_slow() -> None:
    sleepy()
    independent()


@step
def wait_for_peer(me: str, peer: str) -> str:
    """Only finishes when the peer step runs at the same time (or the 30 s guard fires)."""
    Path(f"{me}.started").write_text(str(os.getpid()))
    deadline = time.monotonic() + 30
    while not Path(f"{peer}.started").exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{peer} never started while {me} was running")
        time.sleep(0.02)
    return os.getpid()  # type: ignore[return-value]


@pipeline
def parallel() -> None:
    wait_for_peer("left", "right")
    wait_for_peer("right", "left")


class Opaque:
    def __init__(self, value: int) -> None:
        self.value = value


@step(retries=2)
def returns_object() -> Any:
    called("returns_object")
    return Opaque(3)


@pipeline
def bad_output() -> None:
    returns_object()


@step(trusted_pickle=True)
def pickled_object() -> Any:
    return Opaque(4)


@pipeline
def trusted() -> None:
    pickled_object()


# ----------------------------------------------------------------------------- trust


@step(trusted_pickle=True)
def make_box(value: int) -> Any:
    called("make_box")
    return Opaque(value)


@step
def open_box(box: Any) -> int:
    called("open_box")
    return int(box.value)


@pipeline
def boxes(value: int = 7) -> None:
    open_box(make_box(value))


@step
def make_plain_box(value: int) -> Any:
    """Stores a pickle only because its pipeline trusts pickles."""
    called("make_plain_box")
    return Opaque(value)


@pipeline(trusted_pickle=True)
def trusting(value: int = 5) -> None:
    open_box(make_plain_box(value))


@pipeline
def untrusting(value: int = 5) -> None:
    open_box(make_plain_box(value))


# ----------------------------------------------------------------------------- records


@step(cache=False)
def first(start: int) -> int:
    return start + 1


@step(cache=False)
def second(value: int) -> int:
    return value + 1


@step(cache=False)
def peek_at_records(value: int) -> dict[str, Any]:
    """What another reader of the store sees of this run while this step runs: each step
    run's status and how many outputs it records."""
    from shipyard.client import LocalStore
    from shipyard.data import current_actors
    from shipyard.tracking import get_client

    store = LocalStore(get_client().settings)  # its own connection: committed data only
    me = next(node for node in current_actors() if node.kind == "step_run")
    run_id = store.get_step_run(me.id).pipeline_run_id
    return {s.name: [s.status, len(s.outputs)] for s in store.list_step_runs(run_id)}


@pipeline
def watched(start: int = 0) -> None:
    peek_at_records(second(first(start)))


@step(cache=False)
def crash(value: int) -> int:
    """The process dies here, as under ``kill -9``: no clean-up, no exception handler."""
    os._exit(3)


@pipeline
def crashing(start: int = 0) -> None:
    crash(second(first(start)))
