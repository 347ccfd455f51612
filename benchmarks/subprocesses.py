"""Running :mod:`benchmarks.probe` in fresh interpreters, with an environment like a function's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# What template.yaml's Globals give a function, with values that make no call anywhere: building clients
# and settings never touches the network, and the discard port catches anything that tries.
FUNCTION_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "benchmark",
    "AWS_SECRET_ACCESS_KEY": "benchmark",  # not a real secret
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "POWERTOOLS_SERVICE_NAME": "xero-invoice-sync",
    "POWERTOOLS_METRICS_NAMESPACE": "XeroInvoiceSyncBench",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "TABLE_NAME": "bench-table",
    "TOKEN_KEY_ID": "alias/bench",
    "XERO_APP_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-xero",
    "CONNECT_LINK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-link",
}


def child_environment(overrides: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env |= FUNCTION_ENVIRONMENT | (overrides or {})
    env["PYTHONPATH"] = str(ROOT)
    return env


def probe(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one probe in a fresh interpreter; its JSON answer (the last line it printed)."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.probe", *args],
        cwd=ROOT,
        env=env or child_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"probe {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def probes(args: Sequence[tuple[str, ...]], *, parallel: bool) -> list[dict[str, Any]]:
    """Many probes: one after another for figures that mean something, all at once for a smoke run."""
    if not parallel:
        return [probe(*a) for a in args]
    with ThreadPoolExecutor(max_workers=min(8, len(args) or 1)) as pool:
        return list(pool.map(lambda a: probe(*a), args))
