"""moto's server on loopback, with DynamoDB's atomicity restored.

DynamoDB evaluates a condition and applies the write as one atomic step; the service's refresh lock,
optimistic settings updates and idempotency records rely on it. moto's server runs each request on its
own thread and checks a condition, then writes, with nothing held in between: under load two
conditional updates of one item can both succeed (the proof suite's concurrent refreshes caught it).
One DynamoDB request at a time gives back the guarantee; other services are left concurrent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import WSGIRequestHandler

from local.serving import LoopbackServer

DYNAMODB_TARGET = "DynamoDB_"


class SerialisedDynamoDB:
    """WSGI middleware: DynamoDB requests (``X-Amz-Target: DynamoDB_...``) run one at a time."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith(DYNAMODB_TARGET):
            return self._app(environ, start_response)
        with self._lock:
            return list(self._app(environ, start_response))  # the whole answer, before the next request


class MotoServer(LoopbackServer):
    """moto's server mode in a background thread, as ``ThreadedMotoServer`` runs it, plus the lock above."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        wrap_handler: Callable[[type[WSGIRequestHandler]], type[WSGIRequestHandler]] | None = None,
    ) -> None:
        # moto loads lazily: unit test runs that never start AWS do not pay for importing it.
        from moto.moto_server.werkzeug_app import (  # noqa: PLC0415
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # an access-log line per AWS call otherwise
        app = SerialisedDynamoDB(DomainDispatcherApplication(create_backend_app))
        handler = wrap_handler(MotoRequestHandler) if wrap_handler else MotoRequestHandler
        super().__init__(app, name="moto-server", host=host, port=port, request_handler=handler, poll_interval=0.05)
