"""Alert rules, incidents and delivery.

A rule is ``<metric> <op> <number>`` (``share_drifted > 0.3``, ``auc < 0.75``) over the flat
metrics of a monitor run. An alert **fires once per incident**: it notifies when the rule
turns true (and was not true on the previous run), stays quiet while it holds, and notifies
once more when it turns false (resolved, with the time it started). A metric a run does not
have (no labels yet, so no ``auc``) leaves the rule's state as it was.

Channels: ``{"type": "log"}`` writes a warning to the ``shipyard.monitoring`` logger;
``{"type": "webhook", "url": ..., "retries": 3, "timeout": 5}`` POSTs JSON and retries with
exponential backoff; every attempt's outcome is recorded in the run, and a failed delivery
never fails the run.
"""

from __future__ import annotations

import logging
import operator
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from shipyard.errors import InvalidArgument

log = logging.getLogger("shipyard.monitoring")
_RULE = re.compile(
    r"^\s*([A-Za-z_][\w.\-]*)\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d*)?(?:[eE]-?\d+)?)\s*$"
)
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
CHANNEL_TYPES = ("log", "webhook")


def parse_rule(rule: str) -> tuple[str, str, float]:
    """``"auc < 0.75"`` as ``("auc", "<", 0.75)``; a clear error otherwise."""
    found = _RULE.match(rule) if isinstance(rule, str) else None
    if not found:
        raise InvalidArgument(
            f"alert rule {rule!r} is not '<metric> <op> <number>', e.g. 'share_drifted > 0.3' "
            "or 'auc < 0.75'",
            field="alerts",
        )
    return found.group(1), found.group(2), float(found.group(3))


def check_channel(channel: Mapping[str, Any]) -> dict[str, Any]:
    """A channel with a known type (and a URL for webhooks)."""
    kind = channel.get("type")
    if kind not in CHANNEL_TYPES:
        raise InvalidArgument(
            f"alert channel type must be one of {', '.join(CHANNEL_TYPES)}, got {kind!r}",
            field="channels",
        )
    url = channel.get("url", "")
    if kind == "webhook" and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        raise InvalidArgument(f"a webhook needs an http(s) url, got {url!r}", field="channels")
    return dict(channel)


def evaluate(
    rules: Sequence[str],
    metrics: Mapping[str, float],
    previous: Mapping[str, dict[str, Any]],
    now: int,
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """The new state of each rule and the events to send (``firing`` or ``resolved``)."""
    states: dict[str, dict[str, Any]] = {}
    events: list[dict[str, Any]] = []
    for rule in rules:
        metric, op, limit = parse_rule(rule)
        before = previous.get(rule, {"firing": False, "since": None})
        value = metrics.get(metric)
        if value is None or value != value:  # missing or NaN: unchanged
            states[rule] = {**before, "value": None}
            continue
        firing = _OPS[op](float(value), limit)
        since = before.get("since") if before.get("firing") else now
        state = {"firing": firing, "value": float(value), "since": since if firing else None}
        states[rule] = state
        if firing and not before.get("firing"):
            events.append({"event": "firing", "rule": rule, "value": float(value), "since": now})
        elif not firing and before.get("firing"):
            events.append(
                {
                    "event": "resolved",
                    "rule": rule,
                    "value": float(value),
                    "since": before.get("since"),
                    "resolved_at": now,
                }
            )
    return states, events


def deliver(
    channels: Sequence[Mapping[str, Any]],
    events: Sequence[dict[str, Any]],
    payload: Mapping[str, Any],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> list[dict[str, Any]]:
    """Send each event to each channel; returns one record per (channel, event)."""
    records = []
    for channel in channels:
        for event in events:
            body = {**payload, **event}
            if channel.get("type") == "log":
                log.warning(
                    "monitor %s: alert %s %s (value %s)",
                    payload.get("monitor"),
                    event["rule"],
                    event["event"],
                    event["value"],
                )
                records.append(
                    {
                        "channel": "log",
                        "event": event["event"],
                        "rule": event["rule"],
                        "ok": True,
                        "attempts": 1,
                        "error": "",
                    }
                )
            else:
                records.append(_post(dict(channel), body, sleep))
    return records


def _post(
    channel: dict[str, Any], body: dict[str, Any], sleep: Callable[[float], None]
) -> dict[str, Any]:
    import httpx

    retries = int(channel.get("retries", 3))
    timeout = float(channel.get("timeout", 5.0))
    error = ""
    attempts = 0
    for attempt in range(retries + 1):
        attempts = attempt + 1
        try:
            answer = httpx.post(channel["url"], json=body, timeout=timeout)
            if answer.status_code < 300:
                error = ""
                break
            error = f"HTTP {answer.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        if attempt < retries:
            sleep(float(channel.get("backoff", 0.5)) * 2**attempt)
    if error:
        log.error(
            "monitor %s: webhook %s failed after %d attempts: %s",
            body.get("monitor"),
            channel["url"],
            attempts,
            error,
        )
    return {
        "channel": "webhook",
        "url": channel["url"],
        "event": body["event"],
        "rule": body["rule"],
        "ok": not error,
        "attempts": attempts,
        "error": error,
    }
