"""Loading runs set-wise: a page of runs comes back whole (params, tags, latest metrics with
NaN kept), in the order asked, whatever mix of values each run holds, on SQLite and
PostgreSQL."""

from __future__ import annotations

import math

from shipyard.client import LocalStore, now_ms
from shipyard.config import Settings
from shipyard.entities import MetricPoint
from shipyard.store._tracking import load_runs


def test_a_page_of_runs_loads_whole_and_in_the_order_asked(settings: Settings) -> None:
    store = LocalStore(settings)
    experiment = store.get_or_create_experiment("load").id
    ids = [store.create_run(experiment, f"r{i}").id for i in range(5)]
    ts = now_ms()
    store.log_batch(ids[0], [MetricPoint("auc", 0.9, 0, ts)], {"lr": "0.1"}, {"team": "a"})
    store.log_batch(ids[1], [MetricPoint("auc", math.nan, 3, ts)], {}, {})  # NaN is kept
    store.log_batch(ids[2], [], {"lr": "0.2", "depth": "3"}, {})
    store.log_batch(ids[3], [], {}, {"team": "b", "note": "x"})
    wanted = [ids[3], "not-a-run", ids[0], ids[4], ids[2], ids[1]]
    with store.engine.connect() as conn:
        runs = load_runs(conn, wanted)
    assert [r.id for r in runs] == [ids[3], ids[0], ids[4], ids[2], ids[1]]
    by_id = {r.id: r for r in runs}
    assert (by_id[ids[0]].params, by_id[ids[0]].tags) == ({"lr": "0.1"}, {"team": "a"})
    assert by_id[ids[0]].metrics == {"auc": 0.9}
    assert math.isnan(by_id[ids[1]].metrics["auc"])
    assert by_id[ids[2]].params == {"lr": "0.2", "depth": "3"} and by_id[ids[2]].metrics == {}
    assert by_id[ids[3]].tags == {"team": "b", "note": "x"} and by_id[ids[3]].params == {}
    assert (by_id[ids[4]].params, by_id[ids[4]].tags, by_id[ids[4]].metrics) == ({}, {}, {})


def test_an_experiment_by_id_or_name_comes_with_all_its_tags(settings: Settings) -> None:
    store = LocalStore(settings)
    tagged = store.create_experiment("tagged", "about", {"a": "1", "b": "2"}, project="p1")
    bare = store.create_experiment("bare")
    listed = {e.id: e for e in store.list_experiments()}
    for experiment in (tagged, bare):
        assert store.get_experiment(experiment.id) == listed[experiment.id] == experiment
        assert store.get_experiment_by_name(experiment.name) == experiment
    assert store.get_experiment(tagged.id).tags == {"a": "1", "b": "2"}
    assert (tagged.project, bare.project, bare.tags) == ("p1", "default", {})
