"""Load generator: signed slash commands to a server, from a separate process.

Run by ``benchmarks/interactions.py`` as ``python benchmarks/loadgen.py`` with a JSON job on stdin;
it prints one JSON line with every request's send time, ack time and status. A separate
process so the client's threads do not compete with the server's for the GIL.

Each of ``concurrency`` threads keeps one keep-alive ``http.client`` connection and sends
its share of ``count`` requests back to back; the threads start together at a barrier. Each
request is built and signed just before it is sent (fresh timestamp, unique trigger_id and
response_url, so the replay guard accepts it). Bounded: ``count`` requests, each with a
``timeout``, and the whole job with ``deadline`` seconds.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def run_job(job: dict[str, Any]) -> list[dict[str, Any]]:
    """Send ``job["count"]`` requests with ``job["concurrency"]`` threads; one result each."""
    from tests.standins.slack_requests import slash_command  # noqa: PLC0415

    count, concurrency = int(job["count"]), int(job["concurrency"])
    deadline = time.monotonic() + float(job.get("deadline", 120))
    results: list[dict[str, Any]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(concurrency)

    def worker(worker_index: int) -> None:
        connection = http.client.HTTPConnection(
            "127.0.0.1", int(job["port"]), timeout=float(job.get("timeout", 15))
        )
        barrier.wait()
        for index in range(worker_index, count, concurrency):
            if time.monotonic() > deadline:
                break
            tag = f"{job['tag']}-{index}"
            request = slash_command(
                job["text"].replace("{i}", str(index)),
                user=f"U0B{index:05d}",
                response_url=f"{job['response_base']}{tag}",
                trigger_id=f"{tag}.{time.time_ns()}.bench",
            )
            sent = time.time()
            started = time.perf_counter()
            try:
                connection.request(
                    "POST",
                    "/slack/events",
                    body=request.body,
                    headers=request.headers(job["secret"]),
                )
                answer = connection.getresponse()
                answer.read()
                status = answer.status
            except (OSError, http.client.HTTPException) as error:
                status = f"{type(error).__name__}"
                connection.close()  # reconnects on the next request
            took = time.perf_counter() - started
            with lock:
                results.append({"tag": tag, "sent": sent, "ack_s": took, "status": status})
        connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


if __name__ == "__main__":
    print(json.dumps(run_job(json.loads(sys.stdin.read()))))
