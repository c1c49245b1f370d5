"""Measured tasks of bench/features.py, one per fresh process (Shipyard's venv or Feast's).

Usage: ``python _features_child.py TASK JSON_ARGS``; prints one result line (see
_competitors.emit_line). Peak memory is this process's max RSS.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _competitors import emit_line

FEATURES = [f"f{i}" for i in range(8)]
TTL = timedelta(days=3650)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _percentiles(samples: list[float]) -> dict[str, float]:
    samples.sort()
    n = len(samples)
    return {
        "p50_ms": samples[n // 2] * 1000,
        "p99_ms": samples[min(n - 1, int(n * 0.99))] * 1000,
        "max_ms": samples[-1] * 1000,
        "n": n,
    }


# ----------------------------------------------------------------------------- shipyard


def _shipyard(home: Path, online: str = "") -> Any:
    from shipyard import features as fs
    from shipyard.client import LocalStore
    from shipyard.config import load_settings

    return fs, LocalStore(load_settings(home=home, online_store=online))


def _shipyard_define(fs: Any, store: Any, source: str) -> None:
    entity = fs.Entity("entity", ["entity_id"])
    view = fs.FeatureView(
        "fv",
        [entity],
        fs.FileSource(source),
        schema=[fs.Field(f, "float64") for f in FEATURES],
        created_timestamp_field="created",
        ttl=TTL,
    )
    fs.apply([entity, view], store=store)


def shipyard_offline(a: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd

    fs, store = _shipyard(Path(tempfile.mkdtemp()) / ".shipyard")
    _shipyard_define(fs, store, a["source"])
    entity = pd.read_parquet(a["entity"])
    started = time.perf_counter()
    out = fs.get_historical_features(entity, [f"fv:{f}" for f in FEATURES], store=store)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": len(out), "peak_mb": _peak_mb(), "in_order": True}


def floor_offline(a: dict[str, Any]) -> dict[str, Any]:
    import duckdb
    import pandas as pd

    entity = pd.read_parquet(a["entity"])  # noqa: F841 - the query reads it by name
    con = duckdb.connect()
    started = time.perf_counter()
    cols = ", ".join(f"s.{f}" for f in FEATURES)
    out = con.sql(
        f"SELECT e.*, {cols} FROM entity e ASOF LEFT JOIN read_parquet('{a['source']}') s "
        "ON e.entity_id = s.entity_id AND e.event_timestamp >= s.event_timestamp"
    ).to_arrow_table()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": out.num_rows, "peak_mb": _peak_mb()}


def shipyard_materialize(a: dict[str, Any]) -> dict[str, Any]:
    fs, store = _shipyard(Path(a["home"]), a.get("online", ""))
    _shipyard_define(fs, store, a["source"])
    started = time.perf_counter()
    done = fs.materialize(store=store)
    return {"seconds": time.perf_counter() - started, "rows": done[0].rows}


def shipyard_online(a: dict[str, Any]) -> dict[str, Any]:
    fs, store = _shipyard(Path(a["home"]), a.get("online", ""))
    refs = [f"fv:{f}" for f in FEATURES]
    n, iters = a["n"], a["iters"]
    samples = []
    for i in range(iters + 100):
        rows = [{"entity_id": (i * n + j) % a["entities"]} for j in range(n)]
        started = time.perf_counter()
        got = fs.get_online_features(rows, refs, store=store)
        if i >= 100:
            samples.append(time.perf_counter() - started)
    assert got.statuses["f0"][0] == "PRESENT"
    return _percentiles(samples)


def shipyard_http(a: dict[str, Any]) -> dict[str, Any]:
    import threading

    import httpx
    import uvicorn

    from shipyard.client import LocalStore
    from shipyard.config import load_settings
    from shipyard.server import bind_socket, create_app

    store = LocalStore(load_settings(home=Path(a["home"])))
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    app = create_app(store.settings, store)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    n, iters = a["n"], a["iters"]
    samples = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        for i in range(iters + 100):
            body = {
                "entity_rows": [{"entity_id": (i * n + j) % a["entities"]} for j in range(n)],
                "features": [f"fv:{f}" for f in FEATURES],
            }
            started = time.perf_counter()
            answer = client.post("/api/v1/features/online", json=body)
            if i >= 100:
                samples.append(time.perf_counter() - started)
            answer.raise_for_status()
    server.should_exit = True
    return _percentiles(samples)


# ----------------------------------------------------------------------------- feast

_YAML = """project: bench
registry: {repo}/registry.db
provider: local
online_store:
  type: sqlite
  path: {repo}/online.db
offline_store:
  type: {offline}
entity_key_serialization_version: 3
"""


def _feast(repo: Path, source: str, offline: str) -> Any:
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource
    from feast.types import Float64

    repo.mkdir(parents=True, exist_ok=True)
    (repo / "feature_store.yaml").write_text(_YAML.format(repo=repo, offline=offline))
    store = FeatureStore(repo_path=str(repo))
    entity = Entity(name="entity", join_keys=["entity_id"])
    view = FeatureView(
        name="fv",
        entities=[entity],
        ttl=TTL,
        schema=[Field(name=f, dtype=Float64) for f in FEATURES],
        source=FileSource(
            path=source, timestamp_field="event_timestamp", created_timestamp_column="created"
        ),
        online=True,
    )
    store.apply([entity, view])
    return store


def feast_offline(a: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd

    store = _feast(Path(tempfile.mkdtemp()), a["source"], a["offline"])
    entity = pd.read_parquet(a["entity"])
    started = time.perf_counter()
    out = store.get_historical_features(
        entity_df=entity, features=[f"fv:{f}" for f in FEATURES]
    ).to_df()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": len(out), "peak_mb": _peak_mb()}


def feast_materialize(a: dict[str, Any]) -> dict[str, Any]:
    from datetime import UTC, datetime

    store = _feast(Path(a["home"]), a["source"], "file")
    started = time.perf_counter()
    store.materialize(datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC))
    return {"seconds": time.perf_counter() - started}


def feast_online(a: dict[str, Any]) -> dict[str, Any]:
    from feast import FeatureStore

    store = FeatureStore(repo_path=a["home"])
    refs = [f"fv:{f}" for f in FEATURES]
    n, iters = a["n"], a["iters"]
    samples = []
    for i in range(iters + 100):
        rows = [{"entity_id": (i * n + j) % a["entities"]} for j in range(n)]
        started = time.perf_counter()
        store.get_online_features(features=refs, entity_rows=rows).to_dict()
        if i >= 100:
            samples.append(time.perf_counter() - started)
    return _percentiles(samples)


if __name__ == "__main__":
    task, raw = sys.argv[1], sys.argv[2]
    result = globals()[task](json.loads(raw))
    print(emit_line(result), flush=True)
