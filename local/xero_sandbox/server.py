"""Serving the sandbox on loopback from a background thread (tests, the local stack, benchmarks)."""

from __future__ import annotations

import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from local.xero_sandbox.app import Sandbox, create_sandbox
from local.xero_sandbox.faults import SOCKET


class _Handler(WSGIRequestHandler):
    """Hands the socket to the fault middleware, which needs it to hang up on a client."""

    def make_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().make_environ()
        environ[SOCKET] = self.connection
        return environ

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """Quiet: tests and the demo print what matters themselves."""


class SandboxServer:
    def __init__(self, sandbox: Sandbox | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sandbox = sandbox or create_sandbox()
        self._server: BaseWSGIServer = make_server(
            host, port, self.sandbox.wsgi, threaded=True, request_handler=_Handler
        )
        # A short poll keeps stop() quick: tests start and stop a sandbox each.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="xero-sandbox", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def start(self) -> SandboxServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
