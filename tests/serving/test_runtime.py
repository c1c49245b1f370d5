"""The model server at run time: batching, the prediction log and labels, alias following
with zero failed requests, canary and shadow rollouts, and graceful drain."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
import pytest

import shipyard
from shipyard.errors import InvalidArgument
from shipyard.serving import ServingConfig, log_labels, read_labels, read_predictions
from shipyard.serving._app import ModelServer
from shipyard.serving._batcher import Batcher, BatcherClosed
from shipyard.tracking import get_client


def test_concurrent_requests_coalesce_into_one_model_call() -> None:
    calls: list[int] = []
    gate = threading.Event()

    def predict(data: Any) -> Any:
        gate.wait(5)
        calls.append(len(data))
        return np.asarray(data).sum(axis=1)

    async def main() -> list[Any]:
        batcher = Batcher(predict, max_batch_size=64, max_wait=0.001)
        first = asyncio.ensure_future(batcher.submit(np.ones((1, 2))))
        await asyncio.sleep(0.05)  # the first call is running; the next ten queue behind it
        rest = [asyncio.ensure_future(batcher.submit(np.full((2, 2), i))) for i in range(10)]
        await asyncio.sleep(0.05)
        gate.set()
        results = await asyncio.gather(first, *rest)
        await batcher.drain()
        batcher.close()
        return results

    results = asyncio.run(main())
    assert calls == [1, 20]  # one lone call, then every queued request in a single call
    assert results[0].tolist() == [2.0]
    assert [r.tolist() for r in results[1:]] == [[2.0 * i, 2.0 * i] for i in range(10)]


def test_a_lone_request_never_waits_for_company() -> None:
    """One connection sending one request at a time (c=1): each is its own batch, run at
    once, even with an hour of ``max_wait`` (the wait is for requests arriving together)."""
    calls: list[int] = []

    def predict(data: Any) -> Any:
        calls.append(len(data))
        return np.asarray(data)[:, 0]

    async def main() -> list[Any]:
        batcher = Batcher(predict, max_batch_size=64, max_wait=3600)
        answers = [await batcher.submit(np.full((1, 1), i)) for i in range(20)]
        await batcher.drain()
        batcher.close()
        return answers

    answers = asyncio.run(asyncio.wait_for(main(), 120))  # waiting would take 20 hours
    assert calls == [1] * 20
    assert [a.tolist() for a in answers] == [[float(i)] for i in range(20)]


def test_a_failing_request_does_not_fail_its_batch() -> None:
    def predict(data: Any) -> Any:
        if (np.asarray(data) < 0).any():
            raise ValueError("negative input")
        return np.asarray(data)[:, 0]

    async def main() -> list[Any]:
        batcher = Batcher(predict, max_batch_size=64)
        items = [np.full((1, 1), v) for v in (1.0, -1.0, 2.0)]
        out = await asyncio.gather(*(batcher.submit(i) for i in items), return_exceptions=True)
        await batcher.drain()
        return out

    good, bad, other = asyncio.run(main())
    assert good.tolist() == [1.0] and other.tolist() == [2.0]
    assert isinstance(bad, ValueError)


def _burst(url: str, rows: list[dict[str, Any]], n: int, workers: int = 8) -> list[httpx.Response]:
    with httpx.Client(base_url=url, timeout=60) as client, ThreadPoolExecutor(workers) as pool:
        return list(
            pool.map(lambda i: client.post("/predict", json=[rows[i % len(rows)]]), range(n))
        )


def test_prediction_log_and_labels_lose_nothing_under_a_burst(
    start: Any, served_model: Any
) -> None:
    X, _ = served_model
    rows = X.head(20).to_dict(orient="records")
    with start(max_batch_size=16) as server:
        answers = _burst(server.url, rows, 200)
        sample = server.state.metrics.registry.get_sample_value
        batched = sample("shipyard_serving_batch_requests_sum", {"model": "churn", "version": "1"})
        text = httpx.get(f"{server.url}/metrics").text
    assert all(a.status_code == 200 for a in answers)
    ids = [a.json()["prediction_id"] for a in answers]
    assert len(set(ids)) == 200
    assert batched == 200  # every request went through the batcher
    assert "shipyard_serving_batch_size_bucket" in text
    logged = read_predictions("churn")  # the server's stop wrote everything queued
    assert sorted(logged["prediction_id"]) == sorted(ids)
    assert set(logged["version"]) == {1} and set(logged["role"]) == {"primary"}
    assert (logged["latency_ms"] > 0).all() and "input.mean radius" in logged
    assert log_labels(ids[:3], [1, 0, 1]) == 3
    labels = read_labels()
    joined = logged.merge(labels, on=["prediction_id", "row"])
    assert sorted(joined["prediction_id"]) == sorted(ids[:3])
    with pytest.raises(InvalidArgument, match="one to one"):
        log_labels(ids[:2], [1])


def test_labels_over_http_and_shedding_is_counted(start: Any, served_model: Any) -> None:
    X, _ = served_model
    with start(log_queue_rows=1, log_flush_seconds=30) as server:
        with httpx.Client(base_url=server.url) as client:
            ids = [
                client.post("/predict", json=X.head(2).to_dict(orient="records")).json()[
                    "prediction_id"
                ]
                for _ in range(3)
            ]
            answer = client.post(
                "/v2/models/churn/labels", json={"ids": ids[:2], "labels": [0, 1], "rows": [1, 0]}
            )
            assert answer.json() == {"written": 2}
            bad = client.post("/v2/models/churn/labels", json={"ids": ids, "labels": [1]})
            assert bad.status_code == 422 and bad.json()["field"] == "labels"
            text = client.get("/metrics").text
        # two-row requests never fit a one-row queue: every row is shed, and counted
        assert "shipyard_serving_prediction_log_shed_rows_total 6.0" in text
    assert read_predictions("churn").empty
    assert sorted(read_labels()["row"]) == [0, 1]


def test_alias_move_swaps_versions_with_zero_failed_requests(
    register: Any, start: Any, served_model: Any
) -> None:
    X, _ = served_model
    rows = X.head(10).to_dict(orient="records")
    second = register(alias=None, C=0.01)
    with start(poll_seconds=0.05) as server:
        failures: list[Any] = []
        versions: set[int] = set()
        stop = threading.Event()

        def hammer() -> None:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                i = 0
                while not stop.is_set():
                    answer = client.post("/predict", json=[rows[i % 10]])
                    i += 1
                    if answer.status_code != 200:
                        failures.append(answer.text)
                    else:
                        versions.add(answer.json()["version"])

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while 1 not in versions:  # traffic is flowing on version 1
            assert time.monotonic() < deadline
            time.sleep(0.02)
        shipyard.set_alias("churn", "champion", second)
        while server.state.service.primary.current.version != second:  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the server never swapped"
            time.sleep(0.05)
        time.sleep(0.3)
        stop.set()
        for thread in threads:
            thread.join()
        text = httpx.get(f"{server.url}/metrics").text
    assert failures == []
    assert second in versions
    assert 'shipyard_serving_model_swaps_total{model="churn"} 1.0' in text
    assert f'role="primary",version="{second}"}} 1.0' in text
    logged = read_predictions("churn")
    assert {1, second} <= set(logged["version"])


def test_a_swap_retires_the_old_version_only_after_its_last_request(
    register: Any, served_model: Any
) -> None:
    """The race behind swaps: requests that picked the old version (one inside its model
    call, one routed but not yet submitted) finish on it; the swap's retirement waits for
    both, new traffic goes to the new version meanwhile, and nothing fails."""
    X, _ = served_model
    rows = X.head(1).to_dict(orient="records")
    second = register(alias=None, C=0.01)

    async def main() -> None:
        config = ServingConfig(poll_seconds=0, log_predictions=False)
        server = ModelServer("churn@champion", config, get_client().settings)
        service = server.service
        await service.start()
        old = service.primary.current
        assert old is not None and old.version == 1
        with pytest.raises(RuntimeError, match="already started"):  # one poller per service
            await service.start()
        inside, gate = threading.Event(), threading.Event()
        predict = old.batcher._predict

        def held(data: Any) -> Any:
            inside.set()
            gate.wait(30)
            return predict(data)

        old.batcher._predict = held
        in_model = asyncio.ensure_future(server.predict("churn", None, None, rows))
        await asyncio.to_thread(inside.wait, 30)  # that request is in version 1's model call
        routed, _ = service.lease("churn")  # and this one picked version 1, not yet submitted

        shipyard.set_alias("churn", "champion", second)
        assert await service.primary.refresh()
        (retiring,) = service.primary.retiring
        answered, _, _ = await server.predict("churn", None, None, rows)
        assert answered.version == second  # new traffic: the new version
        assert not retiring.done() and not old.batcher.closed

        gate.set()
        first, outputs, _ = await in_model
        assert first.version == 1 and len(outputs) == 1
        await asyncio.sleep(0.05)
        assert not retiring.done()  # the routed request still holds its lease
        late = await routed.batcher.submit(routed.plan.from_json(rows))
        routed.release()
        assert len(late) == 1
        await asyncio.wait_for(retiring, 30)
        assert old.batcher.closed and old.users == 0
        with pytest.raises(BatcherClosed):  # a retired batcher never restarts
            await old.batcher.submit(X.head(1))
        await service.stop()

    asyncio.run(main())


@pytest.mark.parametrize("mode", ["canary", "shadow"])
def test_canary_and_shadow(register: Any, start: Any, served_model: Any, mode: str) -> None:
    X, _ = served_model
    challenger = register(alias="challenger", C=0.01)
    with start(challenger="challenger", mode=mode, canary_share=0.5) as server:
        answers = _burst(server.url, X.head(5).to_dict(orient="records"), 60, workers=4)
        meta = httpx.get(f"{server.url}/v2/models/churn").json()
        pinned = httpx.post(
            f"{server.url}/v2/models/churn/versions/{challenger}/infer",
            json={
                "inputs": [
                    {
                        "name": "x",
                        "datatype": "FP64",
                        "shape": [1, 30],
                        "data": X.head(1).to_numpy().ravel().tolist(),
                    }
                ]
            },
        )
    assert meta["versions"] == ["1", str(challenger)]
    assert pinned.json()["model_version"] == str(challenger)
    answered = {a.json()["version"] for a in answers}
    logged = read_predictions("churn")
    if mode == "canary":
        assert answered == {1, challenger}  # 60 requests at 50%: both answer
        assert set(logged["role"]) == {"primary", "canary", "challenger"}  # + the pinned one
    else:
        assert answered == {1}  # the shadow never answers
        shadow = logged[logged["role"] == "shadow"]
        assert set(shadow["version"]) == {challenger}
        primary_ids = set(logged.loc[logged["role"] == "primary", "prediction_id"])
        assert set(shadow["prediction_id"]) <= primary_ids and len(shadow) >= 60


def test_readiness_waits_for_the_model_and_unknown_refs_fail(
    register: Any, start: Any, sqlite_sdk: Any
) -> None:
    register()
    with pytest.raises(shipyard.errors.ServiceUnavailable, match="failed to load"):
        start("churn@nope")
    with start() as server:
        assert httpx.get(f"{server.url}/v2/health/ready").status_code == 200
        server.state.draining = True  # what shutdown does first
        assert httpx.get(f"{server.url}/v2/health/ready").status_code == 503
        server.state.draining = False
