"""Load generator for bench/serving.py, run in its own process: N keep-alive HTTP/1.1
connections on raw asyncio sockets (no client library in the way), each sending the same
POST as fast as answers come back, for a fixed time after a 1 s warm-up. Prints one JSON
line: requests/s and p50/p99 latency (ms) of the 200 answers, errors (other answers or broken
connections, counted by status line or exception), the requests answered with 200 and those
of the warm-up (any answer). A V2 binary-tensor body ``X`` has its JSON header's length in
``X.header-length`` (sent as ``Inference-Header-Content-Length``)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any


async def _client(
    host: str, port: int, request: bytes, until: float, lat: list[float], errors: Counter[str]
) -> None:
    """Send ``request`` until ``until``; the latency of each 200 answer goes to ``lat``, any
    other answer or a broken connection to ``errors`` (by status line or exception)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            if b" 200 " in status_line:
                lat.append(time.perf_counter() - started)
            else:
                errors[status_line.decode(errors="replace").strip()] += 1
    except (ConnectionError, asyncio.IncompleteReadError) as exc:
        errors[type(exc).__name__] += 1
    finally:
        writer.close()


async def main(
    host: str, port: int, path: str, body: bytes, concurrency: int, seconds: float, extra: str = ""
) -> dict[str, Any]:
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"{extra}Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    ).encode() + body
    warm: list[float] = []
    warm_errors: Counter[str] = Counter()
    await asyncio.gather(
        *(
            _client(host, port, request, time.perf_counter() + 1.0, warm, warm_errors)
            for _ in range(concurrency)
        )
    )
    lat: list[float] = []
    errors: Counter[str] = Counter()
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(
        *(_client(host, port, request, until, lat, errors) for _ in range(concurrency))
    )
    took = time.perf_counter() - started
    lat.sort()
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else float("nan")  # noqa: E731
    return {
        "rps": len(lat) / took,
        "p50_ms": pick(0.50),
        "p99_ms": pick(0.99),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "requests": len(lat),
        "warmup_requests": len(warm) + sum(warm_errors.values()),
    }


if __name__ == "__main__":
    host, port, path, body_file, concurrency, seconds = sys.argv[1:7]
    with open(body_file, "rb") as fh:
        body = fh.read()
    # A V2 binary body comes with its JSON header's length in ``<body>.header-length``.
    try:
        with open(body_file + ".header-length") as fh:
            extra = f"Inference-Header-Content-Length: {fh.read().strip()}\r\n"
    except FileNotFoundError:
        extra = ""
    print(
        json.dumps(
            asyncio.run(main(host, int(port), path, body, int(concurrency), float(seconds), extra))
        )
    )
