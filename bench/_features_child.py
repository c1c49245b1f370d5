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
    import duckdb  # noqa: F401 - loaded before the clock, as Feast's libraries are
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
    import duckdb  # noqa: F401 - loaded before the clock, as Feast's libraries are
    import pyarrow  # noqa: F401

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


def http_lookups(a: dict[str, Any]) -> dict[str, Any]:
    """Sequential lookups against a running server (Shipyard's or ``feast serve``), one
    keep-alive client; the same client code for both."""
    import httpx

    n, iters, kind = a["n"], a["iters"], a["kind"]
    refs = [f"fv:{f}" for f in FEATURES]
    path = {"shipyard": "/api/v1/features/online", "feast": "/get-online-features"}.get(kind, "/")
    samples = []
    with httpx.Client(base_url=a["url"], timeout=60) as client:
        for i in range(iters + 100):
            ids = [(i * n + j) % a["entities"] for j in range(n)]
            if kind != "feast":
                body: dict[str, Any] = {
                    "entity_rows": [{"entity_id": e} for e in ids],
                    "features": refs,
                }
            else:
                body = {"entities": {"entity_id": ids}, "features": refs}
            started = time.perf_counter()
            answer = client.post(path, json=body)
            if i >= 100:
                samples.append(time.perf_counter() - started)
            answer.raise_for_status()
    text = answer.text
    assert kind == "floor" or "PRESENT" in text, text[:300]
    return _percentiles(samples)


def serve_floor(a: dict[str, Any]) -> None:
    """The HTTP floor: uvicorn (as Shipyard runs it) with an app that reads the body and
    answers ``{}``; timed with the same client, it is what any Python server costs."""
    import uvicorn

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    uvicorn.run(app, host="127.0.0.1", port=int(a["port"]), log_level="warning")


def redis_floor(a: dict[str, Any]) -> dict[str, Any]:
    """The Redis floor: redis-py MGET of the same keys Shipyard reads, nothing decoded."""
    import redis

    client = redis.Redis.from_url(a["online"])
    n, iters = a["n"], a["iters"]
    prefix = "shipyard:default:features:fv:"
    samples = []
    for i in range(iters + 100):
        keys = [f"{prefix}[{(i * n + j) % a['entities']}]" for j in range(n)]
        started = time.perf_counter()
        got = client.mget(keys)
        if i >= 100:
            samples.append(time.perf_counter() - started)
    assert got[0] is not None
    return _percentiles(samples)


def sqlite_floor(a: dict[str, Any]) -> dict[str, Any]:
    """The SQLite floor: plain sqlite3 reading the same rows Shipyard reads, nothing decoded."""
    import sqlite3

    conn = sqlite3.connect(Path(a["home"]) / "online.db")
    n, iters = a["n"], a["iters"]
    samples = []
    for i in range(iters + 100):
        keys = [f"[{(i * n + j) % a['entities']}]" for j in range(n)]
        marks = ",".join("?" * n)
        started = time.perf_counter()
        got = conn.execute(
            f"SELECT key, ts, value FROM feature_rows WHERE view = 'fv' AND key IN ({marks})",
            keys,
        ).fetchall()
        if i >= 100:
            samples.append(time.perf_counter() - started)
    assert len(got) == n
    return _percentiles(samples)


# ----------------------------------------------------------------------------- feast

_YAML = """project: bench
registry: {repo}/registry.db
provider: local
online_store:
{online}
offline_store:
  type: {offline}
entity_key_serialization_version: 3
"""


def _online_yaml(repo: Path, url: str) -> str:
    """Feast's online store: SQLite in the repo, or Redis at ``redis://host:port/db``."""
    if not url:
        return f"  type: sqlite\n  path: {repo}/online.db"
    from urllib.parse import urlparse

    parsed = urlparse(url)
    db = parsed.path.strip("/") or "0"
    return f"  type: redis\n  connection_string: {parsed.hostname}:{parsed.port},db={db}"


def _feast(repo: Path, source: str, offline: str, online: str = "") -> Any:
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource
    from feast.types import Float64

    repo.mkdir(parents=True, exist_ok=True)
    yaml = _YAML.format(repo=repo, offline=offline, online=_online_yaml(repo, online))
    (repo / "feature_store.yaml").write_text(yaml)
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

    store = _feast(Path(a["home"]), a["source"], "file", a.get("online", ""))
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
    if result is not None:
        print(emit_line(result), flush=True)
