"""moto's server on loopback, with DynamoDB's atomicity restored.

DynamoDB evaluates a condition and applies the write as one atomic step; the service's refresh lock,
optimistic settings updates and idempotency records rely on it. moto's server runs each request on its
own thread and checks a condition, then writes, with nothing held in between: under load two
conditional updates of one item can both succeed (the proof suite's concurrent refreshes caught it).
One DynamoDB request at a time gives back the guarantee; other services are left concurrent.

moto also answers a base-table Query by sorting every item of the table and keeping the partition's:
with the sync records of 100,000 invoices each query took a moment, and the benchmarks at platform
scale spent most of their time there. :func:`partitioned_queries` makes such a query look at its own
partition only (the same items, filtered and sorted as moto does).

moto's SQS keeps each queue's in-flight messages in a set that a receive copies while another thread's
receive or delete changes it: under the month-end proof's parallel consumers of one FIFO queue the
server answered 500 ("Set changed size during iteration"). :func:`serialised_sqs` makes each change
to a queue's messages one step; a long poll waits between steps, not while holding the others off.
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


def partitioned_queries() -> None:
    """A Query on a table's own key looks at its partition only, not at the whole table (see above)."""
    from moto.dynamodb.models.table import Table  # noqa: PLC0415

    if getattr(Table.query, "partitioned", False):
        return
    original = Table.query

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name is not None or hash_key is None or not self.range_key_attr:
            return original(self, hash_key, *args, **kwargs)
        partition = list(self.items.get(hash_key, {}).values())
        self.all_items = lambda: partition  # shadows the method for this call (requests run one at a time)
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    query.partitioned = True  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]


SQS_STEPS = (
    "send_message",
    "send_message_batch",
    "delete_message",
    "delete_message_batch",
    "change_message_visibility",
    "change_message_visibility_batch",
    "purge_queue",
    "get_queue_attributes",
)


def serialised_sqs() -> None:
    """SQS calls that read or change a queue's messages run one at a time (see above)."""
    import time  # noqa: PLC0415

    from moto.core.utils import unix_time  # noqa: PLC0415
    from moto.sqs.models import SQSBackend  # noqa: PLC0415

    if getattr(SQSBackend.receive_message, "serialised", False):
        return
    lock = threading.RLock()

    def step(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return original(self, *args, **kwargs)

        return call

    for name in SQS_STEPS:
        setattr(SQSBackend, name, step(getattr(SQSBackend, name)))
    receive = SQSBackend.receive_message

    def receive_message(
        self: Any, queue_name: str, count: int, wait_seconds_timeout: int, *args: Any, **kwargs: Any
    ) -> Any:
        polling_end = unix_time() + wait_seconds_timeout
        while True:
            with lock:
                result = receive(self, queue_name, count, 0, *args, **kwargs)
            if result or unix_time() >= polling_end:
                return result
            time.sleep(0.05)  # a long poll: other consumers and senders go on meanwhile

    receive_message.serialised = True  # type: ignore[attr-defined]
    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]


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

        partitioned_queries()
        serialised_sqs()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # an access-log line per AWS call otherwise
        app = SerialisedDynamoDB(DomainDispatcherApplication(create_backend_app))
        handler = wrap_handler(MotoRequestHandler) if wrap_handler else MotoRequestHandler
        super().__init__(app, name="moto-server", host=host, port=port, request_handler=handler, poll_interval=0.05)
