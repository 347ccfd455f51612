"""How many of an account's events are waiting to go to Xero, and when they will have gone.

The figure comes from the account's organisation's outbox (:mod:`shared.adapters.outbox`): the
events of the account waiting there, and everything queued in the organisation before the last of
them (the outbox drains oldest first, whoever's events they are). How long that takes follows from
the organisation's call budget (:mod:`shared.adapters.budget`): two calls for each 50 events (the
contacts, the invoices), at Xero's minute rate while the day's calls last, the rest on later days.
The time is an estimate and the page says so; the count is exact up to ``COUNT_LIMIT`` events, and
"more than" that beyond.

The live lane and the backfill lane (an account's history, :mod:`shared.domain.backfill`) are
counted apart: :meth:`BacklogReader.backlog` is the live events, :meth:`BacklogReader.backfill` the
history still waiting, what of it was synced or failed (:mod:`shared.adapters.backfill_progress`),
and when it will have drained on the calls a backfill may spend each day (the organisation's day
less the live reserve; the live events' own use of the reserve is not subtracted: an estimate).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from shared.adapters.outbox import BACKFILL, LIVE

if TYPE_CHECKING:
    from shared.adapters.backfill_progress import BackfillProgress
    from shared.adapters.budget import CallBudget
    from shared.adapters.connections import ConnectionRepository
    from shared.adapters.outbox import Outbox

COUNT_LIMIT = 10_000
CALLS_PER_BATCH = 2  # contacts, then invoices
BATCH = 50


def push_calls(events: int) -> int:
    """The Xero calls the push spends on ``events`` waiting events: two for each batch of 50."""
    return CALLS_PER_BATCH * math.ceil(events / BATCH)


@dataclass(frozen=True)
class Backlog:
    """Events of one account not yet in Xero, and when the last of them is expected there."""

    waiting: int
    drains_by: datetime | None = None
    oldest_waiting_since: datetime | None = None
    more: bool = False  # more than ``waiting`` (the count stopped at its limit)


@dataclass(frozen=True)
class BackfillStatus:
    """An account's history being imported: what waits, what was done, when the rest will be done."""

    waiting: int = 0  # history events still in the outbox
    more: bool = False  # more than ``waiting``
    synced: int = 0  # history events done (older versions skipped and invoices kept included)
    failed: int = 0  # on the dead-letter queue, with the reason (the sync-failures route lists them)
    kept: int = 0  # invoices matched in Xero by their number and left as Xero has them
    kept_numbers: tuple[str, ...] = ()  # the first of them, to check in Xero
    drains_by: datetime | None = None  # the estimate under the organisation's day limit
    resumes_at: datetime | None = None  # while the day's share for a backfill is spent
    started_at: datetime | None = None
    updated_at: datetime | None = None
    calls_a_day: int = 0  # what a backfill may spend of the organisation's day


class BacklogReader:
    def __init__(
        self,
        connections: ConnectionRepository,
        outbox: Outbox,
        budget: CallBudget,
        clock: Callable[[], float],
        progress: BackfillProgress | None = None,
    ) -> None:
        self._connections = connections
        self._outbox = outbox
        self._budget = budget
        self._clock = clock
        self._progress = progress

    def backlog(self, account_id: str) -> Backlog | None:
        """The account's backlog; None when it has no organisation to queue for (nothing waits)."""
        connection = self._connections.get(account_id)
        if connection is None or connection.tenant_id is None:
            return None
        tenant_id = connection.tenant_id
        depth = self._outbox.depth(tenant_id, account_id, limit=COUNT_LIMIT, lane=LIVE)
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

    def backfill(self, account_id: str) -> BackfillStatus | None:
        """The account's backfill; None when it has no organisation to queue for."""
        connection = self._connections.get(account_id)
        if connection is None or connection.tenant_id is None:
            return None
        tenant_id = connection.tenant_id
        depth = self._outbox.depth(tenant_id, account_id, limit=COUNT_LIMIT, lane=BACKFILL)
        done = self._progress.get(account_id, tenant_id) if self._progress is not None else None
        state = self._budget.state(tenant_id)
        now = self._clock()
        status = BackfillStatus(
            waiting=depth.account,
            more=not depth.complete,
            calls_a_day=max(0, state.per_day - state.live_reserve),
        )
        if done is not None:
            status = replace(
                status,
                synced=done.synced,
                failed=done.failed,
                kept=done.kept,
                kept_numbers=done.kept_numbers,
                started_at=done.started_at,
                updated_at=done.updated_at,
            )
        if depth.account == 0:
            return status
        drains = now + self.seconds_to_send(tenant_id, depth.through_last, now, backfill=True)
        resumes = datetime.fromtimestamp(now + state.backfill_hold, UTC) if state.backfill_hold > 0 else None
        return replace(status, drains_by=datetime.fromtimestamp(drains, UTC), resumes_at=resumes)

    def seconds_to_send(self, tenant_id: str, events: int, now: float, *, backfill: bool = False) -> float:
        """How long ``events`` take to reach Xero on this organisation's budget, from ``now`` (a
        ``backfill``'s: on the calls above the live reserve, after any wait for them)."""
        calls = push_calls(events)
        state = self._budget.state(tenant_id)
        reserve = state.live_reserve if backfill else 0
        per_day = max(1, state.per_day - reserve)
        seconds = state.backfill_hold if backfill else state.blocked_for
        day_left = 0 if backfill and state.backfill_hold > 0 else max(0, state.day_left - reserve)
        today = min(calls, day_left)
        seconds += today * 60.0 / state.per_minute
        rest = calls - today
        if rest > 0:
            midnight = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            days = math.ceil(rest / per_day)
            last_day_calls = rest - (days - 1) * per_day
            start = midnight + timedelta(days=days)
            seconds = max(seconds, start.timestamp() - now) + last_day_calls * 60.0 / state.per_minute
        return seconds
