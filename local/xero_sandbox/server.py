"""Serving the sandbox on loopback from a background thread (tests, the local stack, benchmarks)."""

from __future__ import annotations

from typing import Any

from werkzeug.serving import WSGIRequestHandler

from local.serving import LoopbackServer
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


class SandboxServer(LoopbackServer):
    def __init__(self, sandbox: Sandbox | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sandbox = sandbox or create_sandbox()
        # A short poll keeps stop() quick: tests start and stop a sandbox each.
        super().__init__(
            self.sandbox.wsgi, name="xero-sandbox", host=host, port=port, request_handler=_Handler, poll_interval=0.05
        )
