"""The serving soak's load generator (bench/serving_soak.py), run in its own process so the
soak measures the server, not its client:

    python bench/_soak_load.py URL SECONDS RATE CLIENTS OUT.json

``CLIENTS`` asyncio clients (one httpx connection pool each) share a fixed request rate: each
sends on its own schedule (``RATE / CLIENTS`` per second; a late request is sent at once) with
at most ``MAX_IN_FLIGHT`` requests waiting, and stops at ``SECONDS``: a server slower than the
rate gets fewer requests, never a growing backlog. The mix cycles through 1-row and 20-row
``/predict`` and V2 requests. Writes a JSON summary: status counts, client errors,
latencies, and for each answered request its prediction id and row count.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import httpx
from sklearn.datasets import load_breast_cancer

#: Requests one client has in flight at most (and its connections).
MAX_IN_FLIGHT = 4


def _bodies() -> list[tuple[str, dict[str, Any] | list[Any], int]]:
    X = load_breast_cancer(as_frame=True).data

    def v2(rows: int) -> dict[str, Any]:
        frame = X.iloc[:rows]
        tensor = {"name": "x", "datatype": "FP64", "shape": [rows, X.shape[1]],
                  "data": frame.to_numpy().ravel().tolist()}  # fmt: skip
        return {"inputs": [tensor]}

    return [
        ("/predict", X.iloc[:1].to_dict(orient="records"), 1),
        ("/v2/models/churn/infer", v2(1), 1),
        ("/predict", X.iloc[20:40].to_dict(orient="records"), 20),
        ("/v2/models/churn/infer", v2(20), 20),
    ]


async def _client(
    url: str, index: int, seconds: float, interval: float, out: dict[str, Any]
) -> None:
    bodies = _bodies()
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    slots = asyncio.Semaphore(MAX_IN_FLIGHT)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        start = time.monotonic() + index * interval / 4  # spread the clients' phases
        end = start + seconds
        tasks = []
        k = 0
        while (due := start + k * interval) < end:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            await slots.acquire()  # a slow server slows the sender down instead of queueing
            if time.monotonic() >= end:
                slots.release()
                break
            route, body, rows = bodies[(k + index) % len(bodies)]
            tasks.append(asyncio.create_task(_one(client, route, body, rows, out, slots)))
            k += 1
        await asyncio.gather(*tasks)


async def _one(
    client: httpx.AsyncClient,
    route: str,
    body: Any,
    rows: int,
    out: dict[str, Any],
    slots: asyncio.Semaphore,
) -> None:
    started = time.perf_counter()
    try:
        answer = await client.post(route, json=body)
    except httpx.HTTPError as exc:
        out["client_errors"].append(f"{type(exc).__name__}: {exc}")
        return
    finally:
        slots.release()
    out["latencies"].append(time.perf_counter() - started)
    code = str(answer.status_code)
    out["codes"][code] = out["codes"].get(code, 0) + 1
    if answer.status_code == 200:
        doc = answer.json()
        pid = doc.get("prediction_id") or doc.get("parameters", {}).get("prediction_id")
        out["answered"].append([pid, rows])
    else:
        out["bad"].append(answer.text[:300])


async def main(url: str, seconds: float, rate: float, clients: int) -> dict[str, Any]:
    out: dict[str, Any] = {"codes": {}, "client_errors": [], "latencies": [], "answered": [],
                           "bad": []}  # fmt: skip
    started = time.monotonic()
    await asyncio.gather(*(_client(url, i, seconds, clients / rate, out) for i in range(clients)))
    out["seconds"] = time.monotonic() - started
    return out


if __name__ == "__main__":
    url, seconds, rate, clients, path = sys.argv[1:6]
    result = asyncio.run(main(url, float(seconds), float(rate), int(clients)))
    with open(path, "w") as fh:
        json.dump(result, fh)
