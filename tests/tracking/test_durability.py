"""Runs survive how jobs really end: SIGTERM (docker stop, Kubernetes, Slurm) writes every
buffered point and marks the run KILLED; a process killed outright (SIGKILL, out of memory)
or a silent machine leaves a RUNNING run that readers mark KILLED; finished runs are never
touched."""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import shipyard
from shipyard.config import Settings
from shipyard.entities import Run
from shipyard.errors import InvalidArgument, PermissionDenied
from shipyard.tracking import Client
from shipyard.tracking._liveness import END_REASON_TAG, HEARTBEAT_TAG, Owner, this_process

LOG_200_THEN_WAIT = """
run = shipyard.start_run(experiment="e")
for i in range(200):
    shipyard.log_metric("loss", 1 / (i + 1), step=i)
ready(run.id)
time.sleep(120)
"""


def test_sigterm_writes_buffered_points_marks_killed_and_still_terminates(
    training: Callable[[str], Any], sqlite_sdk: Client
) -> None:
    child = training(LOG_200_THEN_WAIT)
    (run_id,) = child.ready()
    assert child.stop(signal.SIGTERM) == -signal.SIGTERM
    run = sqlite_sdk.store.get_run(run_id)  # as the child left it (no reaping on this read)
    assert run.status == "KILLED" and run.end_time is not None
    assert "SIGTERM" in run.tags[END_REASON_TAG]
    assert len(sqlite_sdk.store.get_metric_history(run_id, "loss")) == 200


def test_sigterm_runs_the_users_handler_which_decides_how_the_process_ends(
    training: Callable[[str], Any], sqlite_sdk: Client
) -> None:
    child = training(
        textwrap.dedent(
            """
            def stop(signum, frame):
                print("cleaned up", file=sys.stderr, flush=True)
                sys.exit(3)

            signal.signal(signal.SIGTERM, stop)
            """
        )
        + LOG_200_THEN_WAIT
    )
    (run_id,) = child.ready()
    assert child.stop(signal.SIGTERM) == 3
    assert "cleaned up" in child.stderr
    run = sqlite_sdk.store.get_run(run_id)
    assert run.status == "KILLED"
    assert len(sqlite_sdk.store.get_metric_history(run_id, "loss")) == 200


def test_a_handler_that_lets_training_stop_early_lets_the_run_finish(
    training: Callable[[str], Any], sqlite_sdk: Client
) -> None:
    child = training(
        """
        stopping = []
        signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
        with shipyard.start_run(experiment="e") as run:
            ready(run.id)
            step = 0
            while not stopping:
                shipyard.log_metric("loss", 1.0, step=step)
                step += 1
                time.sleep(0.01)
            shipyard.log_metric("stopped_at", step)
        """
    )
    (run_id,) = child.ready()
    assert child.stop(signal.SIGTERM) == 0
    run = sqlite_sdk.store.get_run(run_id)
    assert run.status == "FINISHED" and END_REASON_TAG not in run.tags
    steps = int(run.metrics["stopped_at"])
    assert len(sqlite_sdk.store.get_metric_history(run_id, "loss")) == steps


def test_the_handler_is_set_only_while_a_run_is_active(sqlite_sdk: Client) -> None:
    def mine(signum: int, frame: object) -> None:
        pass

    before = signal.signal(signal.SIGTERM, mine)
    try:
        with shipyard.start_run(experiment="e"), shipyard.start_run(name="nested"):
            assert signal.getsignal(signal.SIGTERM) is not mine
        assert signal.getsignal(signal.SIGTERM) is mine
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # an ignored SIGTERM stays ignored
        with shipyard.start_run(experiment="e"):
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, before)


def test_sigkill_leaves_a_run_that_readers_mark_killed_and_finished_runs_stay(
    training: Callable[[str], Any], sqlite_sdk: Client
) -> None:
    child = training(
        """
        shipyard.configure(sync_logging=True, heartbeat_timeout=0)
        with shipyard.start_run(experiment="e") as done:
            shipyard.log_metric("auc", 0.9)
        run = shipyard.start_run(experiment="e")
        shipyard.log_metric("loss", 0.5)
        ready(done.id, run.id)
        time.sleep(120)
        """
    )
    done_id, run_id = child.ready()
    finished = sqlite_sdk.store.get_run(done_id)
    assert sqlite_sdk.reap_runs() == []  # the owner is alive
    assert child.stop(signal.SIGKILL) == -signal.SIGKILL
    assert sqlite_sdk.store.get_run(run_id).status == "RUNNING"  # nobody could say otherwise

    assert [r.id for r in sqlite_sdk.reap_runs(dry_run=True)] == [run_id]
    assert sqlite_sdk.store.get_run(run_id).status == "RUNNING"
    dead = sqlite_sdk.get_run(run_id)  # reading the run is enough
    assert dead.status == "KILLED" and dead.metrics == {"loss": 0.5}
    assert "is gone" in dead.tags[END_REASON_TAG]
    assert dead.end_time == int(dead.tags[HEARTBEAT_TAG])  # last seen alive
    assert sqlite_sdk.store.get_run(done_id) == finished
    assert sqlite_sdk.reap_runs() == []


def test_heartbeat_is_refreshed_while_the_run_is_active(sqlite_settings: Settings) -> None:
    client = shipyard.configure(
        dataclasses.replace(sqlite_settings, heartbeat_interval=0.05, flush_interval=0.02)
    )
    try:
        with shipyard.start_run(experiment="e") as run:
            first = int(client.store.get_run(run.id).tags[HEARTBEAT_TAG])
            deadline = time.monotonic() + 30
            beat = first
            while beat == first and time.monotonic() < deadline:
                time.sleep(0.05)
                beat = int(client.store.get_run(run.id).tags[HEARTBEAT_TAG])
            assert beat > first
        ended = client.store.get_run(run.id)
        time.sleep(0.2)  # no heartbeat once the run ended
        assert client.store.get_run(run.id).tags[HEARTBEAT_TAG] == ended.tags[HEARTBEAT_TAG]
    finally:
        client.close()
        shipyard.tracking._fluent._default = None


def _elsewhere() -> Owner:
    return Owner(host="another-machine", pid=os.getpid())


def test_a_silent_run_on_another_machine_is_killed_after_the_timeout(
    sdk: Client, recorded_by: Callable[..., Run]
) -> None:
    silent = recorded_by(_elsewhere(), silent_s=3600)
    recent = recorded_by(_elsewhere(), silent_s=5)
    old_but_finished = recorded_by(_elsewhere(), silent_s=3600, status="FINISHED")
    no_owner = recorded_by(None, silent_s=10**6)  # not started by start_run: never judged
    assert sdk.reap_runs(timeout=0) == []  # judged by the owner process only
    killed = sdk.reap_runs(timeout=600)
    assert [r.id for r in killed] == [silent.id]
    stored = sdk.store.get_run(silent.id)
    assert stored.status == "KILLED" and stored.end_time == int(silent.tags[HEARTBEAT_TAG])
    assert "no heartbeat from another-machine" in stored.tags[END_REASON_TAG]
    for run in (recent, old_but_finished, no_owner):
        assert sdk.store.get_run(run.id) == run
    with pytest.raises(InvalidArgument, match="timeout") as caught:
        sdk.reap_runs(timeout=-1)
    assert caught.value.field == "timeout"


def test_a_reused_process_id_on_this_machine_means_the_owner_is_dead(
    sdk: Client, recorded_by: Callable[..., Run]
) -> None:
    me = this_process()
    if me.started is None:
        pytest.skip("this platform cannot say when a process started")
    alive = recorded_by(me, silent_s=10**5)  # alive however old its heartbeat
    reused = recorded_by(dataclasses.replace(me, started=me.started - 1))
    page = sdk.search_runs("dead-or-alive", filter="status = 'RUNNING'")
    assert [r.id for r in page.runs] == [alive.id]  # searching marked the dead one first
    assert sdk.store.get_run(reused.id).status == "KILLED"
    assert "id now names another" in sdk.store.get_run(reused.id).tags[END_REASON_TAG]


def test_a_reader_that_may_not_write_still_reads_a_dead_run(
    sdk: Client, recorded_by: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    silent = recorded_by(_elsewhere(), silent_s=10**5)

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionDenied("viewers may not change runs")

    monkeypatch.setattr(sdk.store, "update_run", refuse)
    monkeypatch.setattr(sdk.store, "log_batch", refuse)
    assert sdk.get_run(silent.id).status == "RUNNING"
    with pytest.raises(PermissionDenied):
        sdk.reap_runs()  # asked for explicitly: the refusal is reported


@pytest.fixture
def sigterm_inside(
    sqlite_sdk: Client, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], list[int]]]:
    """``sigterm_inside("log_batch")``: the next call of that store method receives SIGTERM
    before it writes, with a user handler that stops the process by ``SystemExit`` (the
    handler runs in the calling thread, at once: as a real signal does)."""
    signals: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(3))

    def arm(method: str) -> list[int]:
        original = getattr(sqlite_sdk.store, method)

        def interrupted(*args: Any, **kwargs: Any) -> Any:
            if not signals:
                signals.append(signal.SIGTERM)
                signal.raise_signal(signal.SIGTERM)
            return original(*args, **kwargs)

        monkeypatch.setattr(sqlite_sdk.store, method, interrupted)
        return signals

    yield arm
    signal.signal(signal.SIGTERM, previous)


@pytest.mark.parametrize("resume", [False, True], ids=["new run", "resumed run"])
def test_sigterm_between_a_runs_creation_and_activation_marks_it_killed(
    sqlite_sdk: Client, monkeypatch: pytest.MonkeyPatch, resume: bool
) -> None:
    """SIGTERM right after ``start_run`` wrote the run and before it became active (found
    by the crash harness): the signal acts once the run is active, so it ends KILLED.
    Before, no handler was in place yet; the signal stopped the process and the run stayed
    RUNNING until a reader reaped it."""
    store = sqlite_sdk.store
    resumed = None
    if resume:
        resumed = store.create_run(store.get_or_create_experiment("e").id, "earlier")
        store.update_run(resumed.id, status="FINISHED", end_time=resumed.start_time + 1)
    written: list[str] = []
    method = "update_run" if resume else "create_run"
    original = getattr(store, method)

    def write_then_signal(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if not written:  # once: the run's own end (KILLED) writes through here too
            written.append(result.id if result is not None else args[0])
            signal.raise_signal(signal.SIGTERM)  # after the commit, before it is active
        return result

    previous = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(3))
    try:
        monkeypatch.setattr(store, method, write_then_signal)
        with pytest.raises(SystemExit):
            shipyard.start_run(experiment="e", run_id=resumed.id if resumed is not None else None)
    finally:
        signal.signal(signal.SIGTERM, previous)
    stored = store.get_run(written[0])
    assert stored.status == "KILLED" and "SIGTERM" in stored.tags[END_REASON_TAG]
    assert shipyard.active_run() is None


def test_a_run_that_cannot_be_created_leaves_no_handler_behind(
    sqlite_sdk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed start puts the previous SIGTERM handler back: nothing is active to end."""

    def refuse(*args: Any, **kwargs: Any) -> Run:
        raise InvalidArgument("refused", field="name")

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(sqlite_sdk.store, "create_run", refuse)
    with pytest.raises(InvalidArgument):
        shipyard.start_run(experiment="e")
    assert signal.getsignal(signal.SIGTERM) is before


def test_sigterm_while_a_run_is_ending_still_records_its_end(
    sqlite_sdk: Client, sigterm_inside: Callable[[str], list[int]]
) -> None:
    """SIGTERM between a run's last flush and its status write (found by the crash harness,
    tests/maintenance/test_crash.py): the end is written first; before, the run stayed
    RUNNING with every point until a reader reaped it as KILLED."""
    run = shipyard.start_run(experiment="e")
    shipyard.log_metric("loss", 0.5, step=1)
    sigterm_inside("update_run")
    with pytest.raises(SystemExit):
        run.end()
    stored = sqlite_sdk.store.get_run(run.id)
    assert stored.status == "FINISHED" and stored.end_time is not None
    assert [p.value for p in sqlite_sdk.store.get_metric_history(run.id, "loss")] == [0.5]


def test_sigterm_while_the_main_thread_writes_points_keeps_them(
    sqlite_sdk: Client, sigterm_inside: Callable[[str], list[int]]
) -> None:
    """SIGTERM while the main thread flushes (found by the crash harness): the batch taken
    from the buffer is stored before the handler runs; before, the handler found the buffer
    empty, marked the run KILLED, and the batch in flight was lost (a run ending FINISHED
    after such a signal had none of its points)."""
    run = shipyard.start_run(experiment="e")
    for step in range(50):
        shipyard.log_metric("loss", step / 10, step=step)
    sigterm_inside("log_batch")
    with pytest.raises(SystemExit):
        sqlite_sdk.flush()
    stored = sqlite_sdk.store.get_run(run.id)
    assert stored.status == "KILLED" and "SIGTERM" in stored.tags[END_REASON_TAG]
    assert len(sqlite_sdk.store.get_metric_history(run.id, "loss")) == 50


def test_sigterm_inside_a_store_write_waits_for_its_commit(
    sqlite_sdk: Client, sigterm_inside: Callable[[str], list[int]]
) -> None:
    """SIGTERM while the main thread is inside a write transaction (found by the crash
    harness killing model registrations): the handler runs after the commit. Before, its
    own writes (the run's KILLED status) waited on SQLite for the lock the interrupted
    transaction held, the process hung for the busy timeout and the run stayed RUNNING."""
    from sqlalchemy import text

    run = shipyard.start_run(experiment="e")
    store = sqlite_sdk.store
    with pytest.raises(SystemExit), store._write() as conn:  # what register_model does
        conn.execute(text("UPDATE runs SET name = 'renamed' WHERE id = :id"), {"id": run.id})
        signal.raise_signal(signal.SIGTERM)
    stored = store.get_run(run.id)
    assert stored.status == "KILLED" and stored.name == "renamed"
