"""The Redis online store down or hung: materialization and online lookups raise a
ServiceUnavailable naming Redis, the model server's feature lookups answer 503 (not 500), and
everything works again once Redis is back (Redis here keeps nothing across a restart:
materializing again refills it, which also proves a failed materialization recorded no
progress). A hung Redis (SIGSTOP: it keeps its connections and answers nothing) costs one
call the online store timeout; the calls after it fail at once until one tries Redis again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from shipyard import features as fs
from shipyard.config import load_settings
from shipyard.errors import ServiceUnavailable
from shipyard.features import _circuit
from shipyard.serving import ServingConfig
from shipyard.serving._background import BackgroundServer
from shipyard.tracking import _fluent
from tests.support.services import RestartableServer

pytestmark = pytest.mark.redis


@pytest.fixture
def on_redis(
    restartable_redis: RestartableServer, stats_features: Any, tmp_path: Path
) -> Iterator[pd.DataFrame]:
    """The module-level API on a SQLite home whose online store is ``restartable_redis``,
    with the ``stats`` view and ``scoring`` service of ``stats_features`` defined; yields
    the source rows. Redis runs again after the test."""
    settings = load_settings(
        home=tmp_path / ".shipyard",
        online_store=restartable_redis.url,
        project=f"p{uuid.uuid4().hex}",
        sync_logging=True,
    )
    client = _fluent.configure(settings)
    events = stats_features(tmp_path)
    yield events
    restartable_redis.start()
    fs.close_online_stores()
    client.close()
    _fluent._default = None


def _names_redis(error: ServiceUnavailable, server: RestartableServer) -> None:
    assert "Redis online store" in error.message and server.url in error.message, error.message


def test_materialize_and_lookups_fail_clearly_then_recover(
    restartable_redis: RestartableServer, on_redis: pd.DataFrame
) -> None:
    restartable_redis.stop()
    with pytest.raises(ServiceUnavailable) as writing:
        fs.materialize()
    _names_redis(writing.value, restartable_redis)
    with pytest.raises(ServiceUnavailable) as reading:
        fs.get_online_features([{"user_id": 1}], "scoring")
    _names_redis(reading.value, restartable_redis)
    with pytest.raises(ServiceUnavailable):
        fs.materialize_incremental()
    restartable_redis.start()
    # the failed runs recorded no progress: incremental materialization writes every row
    (done,) = fs.materialize_incremental()
    assert done.rows == 4
    got = fs.get_online_features([{"user_id": 3}, {"user_id": 1}], "scoring")
    assert got.values == {"clicks": [9, 1], "spend": [30.0, 10.0]}


def _hung(error: ServiceUnavailable, server: RestartableServer) -> str:
    """What a call to the hung Redis said: names Redis, and whether it waited or not."""
    _names_redis(error, server)
    if "no answer within 1s" in error.message:
        return "waited"
    assert "not tried again" in error.message, error.message
    return "refused at once"


def test_a_hung_redis_costs_one_timeout_then_calls_fail_at_once_until_it_answers(
    restartable_redis: RestartableServer, on_redis: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    fs.materialize()
    keys = [{"user_id": 3}, {"user_id": 1}]
    restartable_redis.pause()
    outcomes: list[str] = []
    try:
        for call in (
            lambda: fs.get_online_features(keys, "scoring"),
            lambda: fs.get_online_features(keys, "scoring"),
            fs.materialize,
        ):
            with pytest.raises(ServiceUnavailable) as failed:
                call()
            outcomes.append(_hung(failed.value, restartable_redis))
    finally:
        restartable_redis.resume()
    assert outcomes == ["waited", "refused at once", "refused at once"]
    monkeypatch.setattr(_circuit, "OPEN_SECONDS", 0.0)  # the circuit's pause is over
    got = fs.get_online_features(keys, "scoring")
    assert got.values == {"clicks": [9, 1], "spend": [30.0, 10.0]}
    (done,) = fs.materialize()  # writes work again too
    assert done.rows == 4


def test_model_server_answers_503_while_redis_is_down_and_at_once_while_it_hangs(
    restartable_redis: RestartableServer,
    on_redis: pd.DataFrame,
    feature_model: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fs.materialize()
    model = feature_model(on_redis)
    request: dict[str, Any] = {"json": [{"user_id": 3}, {"user_id": 1}], "timeout": 60}
    config = ServingConfig(log_flush_seconds=0.1, poll_seconds=0)
    with BackgroundServer("clicky@champion", config).start() as server:
        assert httpx.post(f"{server.url}/predict", **request).status_code == 200
        restartable_redis.stop()
        down = httpx.post(f"{server.url}/predict", **request)
        restartable_redis.start()
        fs.materialize()
        back = httpx.post(f"{server.url}/predict", **request)
        restartable_redis.pause()
        try:
            hung = [httpx.post(f"{server.url}/predict", **request) for _ in range(3)]
        finally:
            restartable_redis.resume()
        monkeypatch.setattr(_circuit, "OPEN_SECONDS", 0.0)  # the circuit's pause is over
        up = httpx.post(f"{server.url}/predict", **request)
    assert down.status_code == 503, down.text
    assert down.json()["code"] == "unavailable" and "Redis" in down.json()["message"]
    assert back.status_code == 200, back.text
    assert [answer.status_code for answer in hung] == [503, 503, 503]
    messages = [answer.json()["message"] for answer in hung]
    assert "no answer within 1s" in messages[0]
    assert all("not tried again" in message for message in messages[1:]), messages
    assert up.status_code == 200, up.text
    expected = model.predict(on_redis[["clicks", "spend"]].iloc[[2, 0]]).tolist()
    assert [int(p) for p in up.json()["predictions"]] == expected
