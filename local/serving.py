"""A WSGI application served on loopback from a background thread: the sandbox, moto, the proof's API."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

WsgiApp = Callable[..., Iterable[bytes]]


class LoopbackServer:
    """``make_server`` on a thread; port 0 picks a free port. A context manager: stopped on exit."""

    def __init__(
        self,
        app: WsgiApp,
        *,
        name: str,
        host: str = "127.0.0.1",
        port: int = 0,
        request_handler: type[WSGIRequestHandler] | None = None,
        poll_interval: float = 0.5,
    ) -> None:
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True, request_handler=request_handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": poll_interval}, name=name, daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
