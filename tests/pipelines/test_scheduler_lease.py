"""One active scheduler per store: the scheduler lease, through the Store protocol on every
backend, and two scheduler processes against one PostgreSQL store that never start one
schedule's run twice, the second taking over when the first stops."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from shipyard.client import LocalStore, Store
from shipyard.config import load_settings
from shipyard.entities import PipelineRunStatus, Schedule
from shipyard.errors import InvalidArgument


def test_a_lease_has_one_holder_until_released_or_expired(store: Store) -> None:
    first = store.acquire_lease("scheduler", "a", 60)
    assert first.holder == "a" and first.expires_at > first.acquired_at
    assert store.acquire_lease("scheduler", "b", 60).holder == "a"  # b stands by
    renewed = store.acquire_lease("scheduler", "a", 120)
    assert renewed.holder == "a" and renewed.acquired_at == first.acquired_at
    assert renewed.expires_at > first.expires_at
    store.release_lease("scheduler", "b")  # not b's: nothing happens
    assert store.acquire_lease("scheduler", "b", 60).holder == "a"
    store.release_lease("scheduler", "a")
    assert store.acquire_lease("scheduler", "b", 1).holder == "b"
    assert store.acquire_lease("other", "a", 60).holder == "a"  # leases are by name
    time.sleep(1.2)  # b stops renewing: its lease expires
    assert store.acquire_lease("scheduler", "a", 60).holder == "a"


@pytest.mark.parametrize(
    ("name", "holder", "ttl", "field"),
    [
        ("bad name!", "a", 60, "lease"),
        ("scheduler", "", 60, "holder"),
        ("scheduler", "a", 0.5, "ttl_seconds"),
        ("scheduler", "a", float("nan"), "ttl_seconds"),
        ("scheduler", "a", 10**9, "ttl_seconds"),
        ("scheduler", "a", True, "ttl_seconds"),
    ],
)
def test_a_bad_lease_request_is_refused_naming_the_field(
    store: Store, name: str, holder: str, ttl: float, field: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        store.acquire_lease(name, holder, ttl)
    assert caught.value.field == field
    assert store.acquire_lease("scheduler", "c", 60).holder == "c"  # nothing was taken


_SCHEDULER = textwrap.dedent(
    """
    import logging, sys, time
    from pathlib import Path
    from shipyard.client import LocalStore
    from shipyard.config import load_settings
    from shipyard.pipelines import Scheduler

    class Handle:
        def poll(self):
            return 0

    class Launcher:  # a run that finishes at once
        def launch(self, run):
            with open(sys.argv[1], "a") as out:
                out.write(f"{run.id}\\n")
            store.update_pipeline_run(run.id, status="FINISHED", end_time=run.start_time)
            return Handle()

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    store = LocalStore(load_settings())
    lease = float(sys.argv[2]) or None
    scheduler = Scheduler(store, launcher=Launcher(), lease_seconds=lease)
    end = time.monotonic() + float(sys.argv[3])
    releases = sys.argv[4] == "release"
    enough = int(sys.argv[5])  # stop early once this many runs were started (0: never)
    # The standby writes this file after a tick that started nothing (another scheduler
    # holds the lease); the active one gives the lease up once it exists.
    standing = Path(sys.argv[6])
    started = 0
    try:
        while time.monotonic() < end and not (enough and started >= enough):
            if releases and standing.exists():
                break
            new = len(scheduler.tick())
            if new == 0 and not releases and not started and not standing.exists():
                standing.touch()
                print("standing by", flush=True)
            started += new
            time.sleep(0.05)
    finally:
        if releases:
            scheduler.close()
            print("released the lease", flush=True)
    """
)


@pytest.mark.postgres
def test_two_scheduler_processes_never_start_one_run_twice(
    migrated_postgres_db_url: str, tmp_path: Path
) -> None:
    settings = load_settings(home=tmp_path / ".shipyard", db_url=migrated_postgres_db_url)
    store = LocalStore(settings)
    store.register_pipeline("p", "pkg.mod:p")
    store.put_schedule(Schedule("minutely", "p", "pkg.mod:p", "* * * * *", missed="catch_up"))
    store.set_schedule_fired("minutely", int(time.time() * 1000) - 7 * 86_400_000)
    script = tmp_path / "scheduler.py"
    script.write_text(_SCHEDULER)
    env = {
        **os.environ,
        "SHIPYARD_HOME": str(settings.home),
        "SHIPYARD_DB_URL": migrated_postgres_db_url,
    }
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    standing = tmp_path / "b-standing-by"

    def start(log: Path, seconds: str, end: str, enough: str) -> subprocess.Popen[str]:
        command = [sys.executable, str(script), str(log), "30", seconds, end, enough, str(standing)]
        return subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    # a: active; gives up the lease once b has stood by (a deadline of 180 s, never reached)
    first = start(logs[0], "180", "release", "0")
    deadline = time.monotonic() + 180
    while not logs[0].exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert logs[0].exists(), "the first scheduler never started a run"
    # b: stands by while a holds the lease, then takes over; it stops once it has started 5
    # runs (or after 120 s: long enough to outlast the lease's 30 s even if the release
    # were lost under load)
    second = start(logs[1], "120", "keep", "5")
    outputs = []
    for process in (first, second):
        output, _ = process.communicate(timeout=240)
        assert process.returncode == 0, output
        outputs.append(output)
    launched = [log.read_text().split() if log.exists() else [] for log in logs]
    every = launched[0] + launched[1]
    assert every and len(every) == len(set(every))  # no run started twice
    assert "released the lease" in outputs[0], outputs[0][-2000:]
    assert "standing by" in outputs[1], outputs[1][-2000:]  # b started nothing while a held
    # b stood by, then took over when a released
    assert launched[0] and launched[1], "\n".join(o[-2000:] for o in outputs)
    started = store.list_pipeline_runs(
        schedule="minutely",
        statuses=[PipelineRunStatus.FINISHED],
        limit=10_000,
    )
    assert {r.id for r in started} == set(every)
    queued = store.list_pipeline_runs(schedule="minutely", limit=10_000)
    moments = [r.scheduled_for for r in queued]
    assert len(moments) == len(set(moments))  # each due time queued once, by one scheduler
    store.close()
