"""Telling the platform what happened, on its sync-status bus, without ever undoing what happened.

The events report a change already stored (a disconnect, a lost connection); the stored state and the
management API stay the truth. So an event that cannot be sent is logged and counted
(``StatusEventsFailed``), and the work that caused it carries on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit

from shared.errors import StorageError
from shared.observability import logger, metrics

if TYPE_CHECKING:
    from shared.adapters.status_events import StatusEvents
    from shared.models.status_events import StatusEvent


def announce(events: StatusEvents | None, *happened: StatusEvent) -> bool:
    """Send the events; False (logged, counted) when they could not be sent."""
    if events is None or not happened:
        return True
    try:
        events.publish(happened)
    except StorageError as exc:
        logger.warning(
            "sync-status events not sent",
            extra={"types": [e.type for e in happened], "account_id": happened[0].account_id, "error": exc.message},
        )
        metrics.add_metric(name="StatusEventsFailed", unit=MetricUnit.Count, value=len(happened))
        return False
    return True
