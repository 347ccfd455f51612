"""One organisation's flush: its outbox's waiting events, oldest first, through the push pipeline in
passes of up to 500, until the outbox is empty or something must be waited for. Each pass is one
lane: live events whenever any are ready, an account's history (the backfill lane, spending only the
calls above the live reserve, :mod:`shared.domain.backfill`) otherwise.

What it waits for, it says as a number of seconds, and its ticket is hidden that long:

- fewer invoices (payments, contacts) than fill a Xero call (50), the oldest queued less than
  ``coalesce_seconds`` ago: wait for more to arrive (the bounded wait that makes batches full
  whatever else shares the queue);
- every waiting event is put off (Xero's minute or day limit, a retry's backoff): until the first is due;
- only the backfill lane waits, for the calls above the live reserve: a wake-up, never a hidden ticket,
  so live events that come meanwhile are flushed at once;
- the invocation's time is nearly spent: hand the ticket back at once for another invocation.

Each event's fate is carried out on the outbox (:class:`OutboxSource`): settled ones are deleted,
waiting ones rescheduled (a retry counts an attempt, a deferral does not), parked and failed ones
moved where they belong first. Events of an account that moved to another organisation go back
through the intake, which queues them for the new one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shared.adapters.outbox import BACKFILL, LIVE, OutboxItem, rescheduled
from shared.domain.push.account import MOVED
from shared.domain.push.calls import PER_CALL
from shared.domain.push.model import Fate, Message, Tally
from shared.errors import StorageError
from shared.models.events import InvoiceUpserted
from shared.observability import logger

if TYPE_CHECKING:
    from shared.domain.push.context import PushParts
    from shared.domain.push.service import PushService

PASS = 500  # events read and pushed at once
MARGIN_SECONDS = 50  # an invocation with less time than this left starts no new pass


@dataclass
class FlushReport:
    """What a flush did, and how long its organisation must wait (None: the outbox is empty)."""

    wait: float | None = None  # hide the ticket this long (its organisation can do nothing before)
    wake_in: float | None = None  # done for now; a wake-up in this long (events due later, others may come)
    passes: int = 0
    tally: Tally = field(default_factory=Tally)


class OutboxSource:
    """The event source of a flush pass: each fate carried out on the organisation's outbox."""

    def __init__(self, parts: PushParts, tenant_id: str, items: dict[str, OutboxItem]) -> None:
        self._parts = parts
        self._tenant = tenant_id
        self._items = items
        self._done: list[str] = []
        self._later: list[OutboxItem] = []

    def defer(self, message: Message, delay: int) -> None:
        if message.outcome is not None and message.outcome.code == MOVED:
            self._parts.queue.publish([message.body])
            self._done.append(message.key)
            return
        self._reschedule(message, delay, retried=False)

    def retry(self, message: Message, backoff: int) -> None:
        self._reschedule(message, backoff, retried=True)

    def park(self, message: Message, code: str) -> None:
        assert message.event is not None
        self._parts.records.park(
            message.event.account_id, message.event.event_id, message.body, code, self._parts.now()
        )
        self._done.append(message.key)

    def dead(self, message: Message, code: str, reason: str) -> None:
        self._parts.queue.dead(
            message.body, code=code, reason=reason, message_id=message.message_id, account_id=message.account_id
        )
        self._done.append(message.key)

    def done(self, message: Message) -> None:
        self._done.append(message.key)

    def commit(self) -> None:
        assert self._parts.outbox is not None
        self._parts.outbox.settle(self._tenant, self._done, self._later)

    def _reschedule(self, message: Message, seconds: int, *, retried: bool) -> None:
        item = self._items[message.key]
        self._later.append(rescheduled(item, not_before=self._parts.clock() + max(1, seconds), retried=retried))


class Flush:
    def __init__(self, parts: PushParts, service: PushService) -> None:
        self._parts = parts
        self._service = service

    def run(self, tenant_id: str, seconds_left: Callable[[], float]) -> FlushReport:
        parts = self._parts
        outbox = parts.outbox
        assert outbox is not None
        outbox.start_flush(tenant_id)
        report = FlushReport()
        while True:
            # The live lane first, always; the backfill lane only when no live event is ready to go and
            # the budget above the live reserve allows (read one event then: to know whether any waits).
            live = outbox.read(tenant_id, PASS, LIVE)
            now = parts.clock()
            live_ready = [i for i in live if i.not_before <= now]
            live_wait = self._wait(live, live_ready, now)
            history: list[OutboxItem] = []
            hold = 0.0
            if not (live_ready and live_wait is None):
                hold = parts.budget.backfill_hold(tenant_id)
                history = outbox.read(tenant_id, PASS if hold <= 0 else 1, BACKFILL)
            history_ready = [i for i in history if i.not_before <= now] if hold <= 0 else []
            # History coalesces as live events do: on a day budget, a call for a few events is a call lost.
            history_wait = self._wait(history, history_ready, now) if history_ready else None
            if live_ready and live_wait is None:
                batch, backfill = live_ready, False
            elif history_ready and history_wait is None:
                batch, backfill = history_ready, True
            else:
                filling = [
                    w for w, r in ((live_wait, live_ready), (history_wait, history_ready)) if r and w is not None
                ]
                self._nothing_now(tenant_id, report, filling, live, live_wait, history, hold, now)
                return report
            report.wait = None
            if seconds_left() < MARGIN_SECONDS:
                report.wait = 0
                return report
            in_flight = outbox.in_flight(tenant_id)
            messages = [_message(i) for i in batch]
            tally = self._service.process(
                messages,
                seconds_left,
                tenant_id=tenant_id,
                source=OutboxSource(parts, tenant_id, {i.key: i for i in batch}),
                in_flight=in_flight,
                backfill=backfill,
            )
            if backfill:
                self._count(tenant_id, messages)
            report.passes += 1
            report.tally.merge(tally)
            logger.info(
                "flush pass",
                extra={"tenant_id": tenant_id, "events": len(messages), "backfill": backfill, **tally.summary()},
            )

    def _count(self, tenant_id: str, messages: list[Message]) -> None:
        """Each account's backfill progress: what this pass settled (a count, not a guarantee: a pass
        that could not be counted is logged and the push goes on)."""
        progress = self._parts.progress
        if progress is None:
            return
        counts: dict[str, tuple[int, int, list[str]]] = {}
        for message in messages:
            account, outcome = message.account_id, message.outcome
            if account is None or outcome is None or not outcome.fate.settled:
                continue
            synced, failed, kept = counts.get(account, (0, 0, []))
            if outcome.fate == Fate.FAILED:
                failed += 1
            else:
                synced += 1
            if outcome.code == "adopted_kept" and isinstance(message.event, InvoiceUpserted):
                kept.append(message.event.data.number)
            counts[account] = (synced, failed, kept)
        for account, (synced, failed, kept) in counts.items():
            try:
                progress.add(
                    account, synced=synced, failed=failed, kept=kept, tenant_id=tenant_id, now=self._parts.clock()
                )
            except StorageError:
                logger.warning("could not count the backfill's progress", extra={"account_id": account})

    def _nothing_now(
        self,
        tenant_id: str,
        report: FlushReport,
        filling: list[float],
        live: list[OutboxItem],
        live_wait: float | None,
        history: list[OutboxItem],
        hold: float,
        now: float,
    ) -> None:
        """Nothing to push at this moment: say how long to wait, and how (a hidden ticket or a wake-up)."""
        report.wait = None
        if filling:
            report.wait = min(filling)  # a batch filling up: the ticket waits for it
            return
        waits = [live_wait] if live and live_wait is not None else []
        if history:
            waits.append(hold if hold > 0 else max(1.0, min(i.not_before for i in history) - now))
        if not waits:
            return  # the outbox is empty
        # Waiting events are due later. If Xero's limits hold the organisation, nothing else can go
        # either: its ticket waits (for the live events due, never for a backfill's next day). Otherwise
        # the ticket is done, so events that come meanwhile are flushed at once (a backfill waiting for
        # tomorrow's calls never holds up a live event), and a wake-up brings the waiting ones back.
        blocked = self._parts.budget.blocked_for(tenant_id)
        if blocked > 0:
            report.wait = max(blocked, live_wait or 0) if live else blocked
        else:
            report.wake_in = min(waits)

    def _wait(self, items: list[OutboxItem], ready: list[OutboxItem], now: float) -> float | None:
        """How long to wait before pushing (None: push now, or nothing is waiting)."""
        if not items:
            return None
        if not ready:
            return max(1.0, min(i.not_before for i in items) - now)
        age = now - min(i.sent_at for i in ready)
        subjects = len({i.subject or i.key for i in ready})  # duplicates and versions fill no batch
        if subjects < PER_CALL and len(items) < PASS and age < self._parts.coalesce_seconds:
            return self._parts.coalesce_seconds - age
        return None


def _message(item: OutboxItem) -> Message:
    return Message(
        message_id=item.message_id,
        receipt_handle="",
        body=item.body,
        receive_count=item.attempts + 1,
        deferrals=item.deferrals,
        key=item.key,
        queued_at=item.sent_at,
    )
