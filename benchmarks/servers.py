"""moto's server and the Xero sandbox in a child process, so a benchmark measures only the service.

``python -m benchmarks.servers`` prints one JSON line with both URLs and serves until its stdin
closes; :func:`start_servers` runs it and returns the URLs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def start_servers() -> Iterator[dict[str, str]]:
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.servers"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        urls: dict[str, str] = json.loads(child.stdout.readline())
        yield urls
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:  # servers holding a large run's state can be slow to stop
            child.kill()
            child.wait()


def _serve() -> None:

    from local.moto_server import MotoServer
    from local.xero_sandbox import SandboxServer
    from local.xero_sandbox.state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
    from tests.conftest import CALLBACK_URL

    with MotoServer() as moto, SandboxServer() as sandbox:
        sandbox.sandbox.state.add_app(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, {CALLBACK_URL})
        print(json.dumps({"moto": moto.url, "sandbox": sandbox.url}), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    _serve()
