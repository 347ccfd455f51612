"""Sending the sync-status events to the stack's EventBridge bus (``PutEvents``, ten entries a call).

The platform subscribes with its own rules on the bus (``StatusEventBusName`` in the stack outputs).
An event is the detail model of :mod:`shared.models.status_events`, so nothing but its fields can go
out: never a token. Entries EventBridge refuses are sent once more; what is still refused, or any
error of the call, becomes :class:`~shared.errors.StorageError`. The client is built on first use, so
a function that never sends an event never pays for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import StorageError
from shared.observability import logger

if TYPE_CHECKING:
    from shared.models.status_events import StatusEvent

SOURCE = "xero-invoice-sync"  # as shared.models.status_events.SOURCE, without importing the models
ENTRIES_PER_CALL = 10  # EventBridge's PutEvents limit
ATTEMPTS = 2


class StatusEvents:
    def __init__(self, bus_name: str, client: Callable[[], Any], *, source: str = SOURCE) -> None:
        self._bus = bus_name
        self._client = client
        self._source = source

    @property
    def enabled(self) -> bool:
        return bool(self._bus)

    def publish(self, events: Sequence[StatusEvent]) -> None:
        if not events:
            return
        if not self._bus:
            logger.debug("no status event bus configured; events not sent", extra={"count": len(events)})
            return
        entries = [self._entry(event) for event in events]
        for start in range(0, len(entries), ENTRIES_PER_CALL):
            self._put(entries[start : start + ENTRIES_PER_CALL])

    def _entry(self, event: StatusEvent) -> dict[str, Any]:
        return {
            "EventBusName": self._bus,
            "Source": self._source,
            "DetailType": event.type,
            "Detail": event.model_dump_json(),
            "Time": event.occurred_at,
        }

    def _put(self, entries: list[dict[str, Any]]) -> None:
        pending = entries
        for _ in range(ATTEMPTS):
            try:
                answer = self._client().put_events(Entries=pending)
            except (ClientError, BotoCoreError) as exc:
                raise StorageError("could not send the sync-status events") from exc
            results = answer.get("Entries", [])
            pending = [entry for entry, result in zip(pending, results, strict=False) if result.get("ErrorCode")]
            if not answer.get("FailedEntryCount") or not pending:
                return
        codes = sorted({str(r.get("ErrorCode")) for r in answer.get("Entries", []) if r.get("ErrorCode")})
        raise StorageError(f"EventBridge refused {len(pending)} sync-status event(s): {', '.join(codes)}")
