"""Backfill: an account's history, imported through the same events as live ones, on a lane of its own.

The platform marks an event of the account's past with ``"origin": "history"``
(:class:`shared.models.events.Origin`). The intake puts it on its organisation's backfill lane
(:data:`shared.adapters.outbox.BACKFILL`), keyed by the date of what it is about, so the history
drains oldest first: an invoice by its issue date, a payment or refund by its date, a credit note by
its issue date, anything else (a contact, a void) by when it happened on the platform; on one day a
contact goes before invoices, invoices before credit notes, credit notes before payments.

The push takes the live lane first, always, and spends on the backfill only the calls above a
reserve kept for live events for the rest of the day (``CallBudget.live_reserve``: the share
:data:`shared.adapters.budget.LIVE_SHARE` of the day): once the day's share for the backfill is
gone, the backfill waits for the next day on the existing deferral (its events' ``not_before`` and a
wake-up), never for a 429.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from shared.adapters.outbox import BACKFILL, LIVE

if TYPE_CHECKING:
    from shared.domain.push.model import Message
    from shared.models.events import Event

# Where one day's history events go among themselves (milliseconds after the day's midnight).
_RANK = {
    "contact.upserted": 0,
    "invoice.upserted": 1,
    "invoice.voided": 2,
    "invoice.deleted": 2,
    "credit_note.upserted": 3,
    "payment.recorded": 4,
    "refund.recorded": 5,
}


def placement(message: Message) -> tuple[int, int]:
    """The lane an event goes on and the time that orders it there (epoch milliseconds)."""
    event = message.event
    if event is None or not event.history:
        return LIVE, message.published_ms
    return BACKFILL, history_ms(event)


def history_ms(event: Event) -> int:
    """When what a history event is about happened: its own date where it has one."""
    day = getattr(event.data, "issue_date", None) or getattr(event.data, "date", None)
    if isinstance(day, date):
        at = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000 + _RANK.get(event.type, 9)
    else:
        at = event.occurred_at.timestamp() * 1000
    return max(1, int(at))
