"""Several processes logging to or registering in one store at once lose nothing (SQLite and
PostgreSQL)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from shipyard.client import LocalStore
from shipyard.config import load_settings

PROCESSES = 4
RUNS_PER_PROCESS = 3
METRICS_PER_RUN = 400


#: What the fork server imports once, so that no writer imports it again: this module
#: (and through it Shipyard), and the libraries a first use of a store and a registration
#: import lazily (Alembic to migrate, pandas and scikit-learn), about 2 CPU s in each writer.
PRELOAD = [__name__, "alembic.command", "alembic.config", "pandas", "sklearn"]


def _fresh_processes() -> multiprocessing.context.BaseContext:
    """Processes that share nothing with this one (no inherited connection or thread):
    forked from multiprocessing's fork server, a clean interpreter that has imported
    :data:`PRELOAD` once per test worker, where spawning a new interpreter for each would
    import it all again."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _worker(home: str, db_url: str, index: int, sync: bool) -> list[str]:
    import shipyard

    shipyard.configure(
        home=home, db_url=db_url, sync_logging=sync, batch_size=50, flush_interval=0.01
    )
    run_ids = []
    for r in range(RUNS_PER_PROCESS):
        with shipyard.start_run(experiment="shared", name=f"p{index}-r{r}") as run:
            shipyard.log_params({"process": index, "run": r})
            for step in range(METRICS_PER_RUN):
                shipyard.log_metric("loss", step * 0.5, step=step)
                if step % 100 == 0:
                    shipyard.set_tag("progress", step)
        run_ids.append(run.id)
    return run_ids


@pytest.mark.slow
@pytest.mark.parametrize("sync", [False, True], ids=["buffered", "sync"])
def test_four_processes_logging_at_once_lose_nothing(
    tmp_path: Path, db_url: str, sync: bool
) -> None:
    context = _fresh_processes()
    home = str(tmp_path / ".shipyard")
    with context.Pool(PROCESSES) as pool:
        results = pool.starmap(_worker, [(home, db_url, i, sync) for i in range(PROCESSES)])
    store = LocalStore(load_settings(home=home, db_url=db_url))
    run_ids = [run_id for ids in results for run_id in ids]
    assert len(set(run_ids)) == PROCESSES * RUNS_PER_PROCESS
    for run_id in run_ids:
        run = store.get_run(run_id)
        assert run.status == "FINISHED"
        history = store.get_metric_history(run_id, "loss")
        assert [p.step for p in history] == list(range(METRICS_PER_RUN))
        assert run.metrics["loss"] == (METRICS_PER_RUN - 1) * 0.5
    experiments = store.list_experiments()
    assert [e.name for e in experiments] == ["shared"]  # created once despite the race


def _register(home: str, db_url: str, folder: str, count: int) -> list[int]:
    import shipyard

    shipyard.configure(home=home, db_url=db_url, sync_logging=True)
    return [shipyard.register_model(folder, "raced").version for _ in range(count)]


@pytest.mark.slow
def test_processes_registering_at_once_get_distinct_consecutive_versions(
    tmp_path: Path, db_url: str
) -> None:
    import shipyard
    from shipyard.registry import PythonModel

    shipyard.save_model(PythonModel(), tmp_path / "model")  # any saved model folder will do
    context = _fresh_processes()
    home = str(tmp_path / ".shipyard")
    args = (home, db_url, str(tmp_path / "model"), 5)
    with context.Pool(PROCESSES) as pool:
        results = pool.starmap(_register, [args] * PROCESSES)
    numbers = sorted(n for batch in results for n in batch)
    assert numbers == list(range(1, PROCESSES * 5 + 1))
    store = LocalStore(load_settings(home=home, db_url=db_url))
    assert store.get_registered_model("raced").latest_version == PROCESSES * 5
