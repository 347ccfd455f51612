"""How many of an account's events are waiting to go to Xero, and when they will have gone.

The figure comes from the per-organisation outbox that the push is moving to: its depth for the
account's organisation and the organisation's call budget give how long the rest takes to drain.
Until that outbox exists there is no honest figure, so :func:`backlog` answers None and the settings
page says that it has no backlog figure yet. Nothing here estimates one from the shared queue, whose
depth mixes every account's events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Backlog:
    """Events of one account not yet in Xero, and when the last of them is expected there."""

    waiting: int
    drains_by: datetime | None = None
    oldest_waiting_since: datetime | None = None


def backlog(account_id: str) -> Backlog | None:
    """The account's backlog, or None while no outbox reports one (always, for now)."""
    return None
