"""One logging client of ``bench/scale.py``: ``python _scale_child.py JSON``.

JSON: ``url`` of a ``shipyard server`` and ``seconds``. The client opens a run with
``sync_logging=True``, warms up, prints ``ready`` and waits for a line on stdin holding the
start time (epoch seconds: the parent sends it once every client of the round is ready, so
they all log at once); then it calls ``log_metric`` (one request each) from that time for
``seconds`` and prints ``{"points": N, "stored": M, "cpu_seconds": C}``, M being what the
server holds afterwards (it must equal N) and C the CPU time this client used while logging.
"""

from __future__ import annotations

import json
import sys
import time


def main(raw: str) -> None:
    args = json.loads(raw)
    import shipyard

    client = shipyard.configure(
        tracking_uri=args["url"], sync_logging=True, capture_environment=False
    )
    run = shipyard.start_run(experiment="scale-logging")
    for i in range(20):  # warm-up: connections, first-call costs
        shipyard.log_metric("warmup", float(i), step=i)
    print("ready", flush=True)
    start_at = float(sys.stdin.readline())
    time.sleep(max(0.0, start_at - time.time()))
    stop = start_at + args["seconds"]
    count = 0
    cpu = time.process_time()
    while time.time() < stop:
        shipyard.log_metric("m", count * 0.001, step=count)
        count += 1
    cpu = time.process_time() - cpu
    shipyard.end_run()
    stored = len(client.get_metric_history(run.id, "m"))
    print(json.dumps({"points": count, "stored": stored, "cpu_seconds": cpu}))


if __name__ == "__main__":
    main(sys.argv[1])
