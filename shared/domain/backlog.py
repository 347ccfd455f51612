"""How many of an account's events are waiting to go to Xero, and when they will have gone.

The figure comes from the account's organisation's outbox (:mod:`shared.adapters.outbox`): the
events of the account waiting there, and everything queued in the organisation before the last of
them (the outbox drains oldest first, whoever's events they are). How long that takes follows from
the organisation's call budget (:mod:`shared.adapters.budget`): two calls for each 50 events (the
contacts, the invoices), at Xero's minute rate while the day's calls last, the rest on later days.
The time is an estimate and the page says so; the count is exact up to ``COUNT_LIMIT`` events, and
"more than" that beyond.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.adapters.budget import CallBudget
    from shared.adapters.connections import ConnectionRepository
    from shared.adapters.outbox import Outbox

COUNT_LIMIT = 10_000
CALLS_PER_BATCH = 2  # contacts, then invoices
BATCH = 50


@dataclass(frozen=True)
class Backlog:
    """Events of one account not yet in Xero, and when the last of them is expected there."""

    waiting: int
    drains_by: datetime | None = None
    oldest_waiting_since: datetime | None = None
    more: bool = False  # more than ``waiting`` (the count stopped at its limit)


class BacklogReader:
    def __init__(
        self,
        connections: ConnectionRepository,
        outbox: Outbox,
        budget: CallBudget,
        clock: Callable[[], float],
    ) -> None:
        self._connections = connections
        self._outbox = outbox
        self._budget = budget
        self._clock = clock

    def backlog(self, account_id: str) -> Backlog | None:
        """The account's backlog; None when it has no organisation to queue for (nothing waits)."""
        connection = self._connections.get(account_id)
        if connection is None or connection.tenant_id is None:
            return None
        tenant_id = connection.tenant_id
        depth = self._outbox.depth(tenant_id, account_id, limit=COUNT_LIMIT)
        if depth.account == 0:
            return Backlog(waiting=0, more=not depth.complete)
        now = self._clock()
        drains = now + self.seconds_to_send(tenant_id, depth.through_last, now)
        return Backlog(
            waiting=depth.account,
            drains_by=datetime.fromtimestamp(drains, UTC),
            oldest_waiting_since=datetime.fromtimestamp(depth.oldest, UTC) if depth.oldest else None,
            more=not depth.complete,
        )

    def seconds_to_send(self, tenant_id: str, events: int, now: float) -> float:
        """How long ``events`` take to reach Xero on this organisation's budget, from ``now``."""
        calls = CALLS_PER_BATCH * math.ceil(events / BATCH)
        state = self._budget.state(tenant_id)
        seconds = state.blocked_for
        today = min(calls, state.day_left)
        seconds += today * 60.0 / state.per_minute
        rest = calls - today
        if rest > 0:
            midnight = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            days = math.ceil(rest / state.per_day)
            last_day_calls = rest - (days - 1) * state.per_day
            start = midnight + timedelta(days=days)
            seconds = max(seconds, start.timestamp() - now) + last_day_calls * 60.0 / state.per_minute
        return seconds
