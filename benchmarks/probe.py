"""What runs inside each fresh benchmark process; it prints one JSON object and exits.

    python -m benchmarks.probe import functions.oauth.handler   # {"ms", "cpu_ms"}: the import, timed
    python -m benchmarks.probe wiring                          # {"settings": ms, ...}: building the container
    python -m benchmarks.probe push-batch bodies.json          # memory for one SQS batch: intake, then push

Only the standard library is imported before the timed part, so each figure is the module's own cost.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def import_module(module: str) -> dict[str, Any]:
    started, cpu = time.perf_counter(), time.process_time()
    importlib.import_module(module)
    return {"ms": _ms(started), "cpu_ms": (time.process_time() - cpu) * 1000}


def wiring() -> dict[str, Any]:
    """The first invocation's set-up after the imports: settings, AWS clients, the Xero client, the services."""
    importlib.import_module("functions.oauth.handler")
    from shared import wiring as container

    steps: dict[str, Any] = {}
    for name, build in (
        ("settings", container.settings),
        ("first boto3 client (dynamodb)", lambda: container.aws_client("dynamodb")),
        ("kms client", lambda: container.aws_client("kms")),
        ("secretsmanager client", lambda: container.aws_client("secretsmanager")),
        ("xero client (httpx)", container.xero),
        ("connect flow (the rest)", container.connect_flow),
    ):
        started = time.perf_counter()
        build()
        steps[name] = _ms(started)
    return steps


def _max_rss_mib() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024  # bytes on macOS, KiB on Linux


def push_batch(bodies_file: str) -> dict[str, Any]:
    """One SQS batch through the intake, then the organisation's flush (the push) it causes."""
    importlib.import_module("functions.push.handler")
    from tests.proof.pushing import push_through
    from tests.support.events import sqs_record

    bodies = json.loads(Path(bodies_file).read_text())
    records = [sqs_record(body) for body in bodies]
    rss_before = _max_rss_mib()
    tracemalloc.start()
    started = time.perf_counter()
    answer = push_through(records)
    elapsed = _ms(started)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "messages": len(bodies),
        "failed": len(answer.get("batchItemFailures", [])),
        "tracemalloc_peak_mib": peak / (1024 * 1024),
        "max_rss_before_mib": rss_before,
        "max_rss_mib": _max_rss_mib(),
        "ms": elapsed,
    }


def main(argv: list[str]) -> int:
    command, *args = argv
    if command == "import":
        result = import_module(args[0])
    elif command == "wiring":
        result = wiring()
    elif command == "push-batch":
        result = push_batch(args[0])
    else:
        print(f"unknown probe {command!r}", file=sys.stderr)
        return 2
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
