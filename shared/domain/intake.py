"""The intake: the platform's events → each organisation's outbox, with a flush ticket for it.

The platform's queue carries every account's events interleaved; Xero is called per organisation.
So the intake does no Xero work: it parses each event (a malformed or oversized one fails alone, as
the push's receive stage says), finds the organisation its account syncs to, writes the events to
that organisation's outbox (25 a request) and sends each organisation touched one flush ticket.
An event of an account's history (``"origin": "history"``) goes on the backfill lane, ordered by its
own date (:mod:`shared.domain.backfill`); every other event on the live lane, by when it was published.
An event whose account has no organisation yet (never connected, none chosen) is parked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.adapters.flush_tickets import tenant_of
from shared.adapters.outbox import OutboxItem
from shared.domain.backfill import placement
from shared.domain.push.model import Fate, Message, Outcome, Tally, subject_of
from shared.domain.push.outcomes import backoff, settle
from shared.domain.push.receive import receive
from shared.errors import StorageError, SyncError
from shared.models.connection import ConnectionStatus
from shared.observability import logger

if TYPE_CHECKING:
    from shared.domain.push.context import PushParts

QUEUED = Outcome(Fate.QUEUED, "queued", "in its organisation's outbox")
WOKEN = Outcome(Fate.QUEUED, "woken", "a flush ticket sent for its organisation")


class SqsSource:
    """The event source of the intake: each fate carried out on the platform's queue."""

    def __init__(self, parts: PushParts) -> None:
        self._parts = parts

    def defer(self, message: Message, delay: int) -> None:
        self._parts.queue.publish([message.body], delay=delay, deferrals=message.deferrals + 1)

    def retry(self, message: Message, backoff: int) -> None:
        self._parts.queue.back_off(message.receipt_handle, backoff)

    def park(self, message: Message, code: str) -> None:
        assert message.event is not None
        self._parts.records.park(
            message.event.account_id, message.event.event_id, message.body, code, self._parts.now()
        )

    def dead(self, message: Message, code: str, reason: str) -> None:
        self._parts.queue.dead(
            message.body, code=code, reason=reason, message_id=message.message_id, account_id=message.account_id
        )

    def done(self, message: Message) -> None:
        """SQS deletes what the handler does not report failed."""

    def commit(self) -> None:
        """Nothing is batched."""


class Intake:
    def __init__(self, parts: PushParts) -> None:
        self._parts = parts

    def process(self, messages: list[Message]) -> Tally:
        parts = self._parts
        assert parts.outbox is not None
        assert parts.tickets is not None
        tally = Tally()
        self._wake([m for m in messages if tenant_of(m.body, "wake")])
        groups = receive(parts, [m for m in messages if m.outcome is None])
        routes = parts.connections.organisations_of(list(groups))
        by_tenant: dict[str, list[tuple[Message, OutboxItem]]] = {}
        now = parts.clock()
        for account_id, group in groups.items():
            if account_id not in routes:
                _park(group, "unknown_account", f"account {account_id} has never connected Xero")
                continue
            tenant_id, status = routes[account_id]
            if tenant_id is None and status != ConnectionStatus.CONNECTED:
                self._not_connected(account_id, group, status)
            elif tenant_id is None:
                _park(group, "organisation_not_chosen", "no Xero organisation is chosen for this account yet")
            else:
                for m in group:
                    lane, ordered_ms = placement(m)  # history on the backfill lane, by its own date
                    item = OutboxItem.new(
                        account_id, m.body, m.message_id, now, lane, published_ms=ordered_ms, subject=subject_of(m)
                    )
                    by_tenant.setdefault(tenant_id, []).append((m, item))
        stored: list[str] = []
        for tenant_id, pairs in by_tenant.items():
            try:
                parts.outbox.put(tenant_id, [item for _, item in pairs])
                stored.append(tenant_id)
            except StorageError:
                logger.exception("could not queue events for an organisation", extra={"tenant_id": tenant_id})
                _retry([m for m, _ in pairs], "storage_error", "the organisation's outbox could not be written")
        if stored:
            try:
                parts.tickets.send(parts.outbox.generations(stored))
            except StorageError:
                logger.exception("could not send flush tickets")
                _retry([m for t in stored for m, _ in by_tenant[t]], "storage_error", "no flush ticket could be sent")
        for tenant_id in stored:
            for message, _ in by_tenant[tenant_id]:
                message.finish(QUEUED)
        settle(parts, messages, tally, SqsSource(parts))
        return tally

    def _not_connected(self, account_id: str, group: list[Message], status: str) -> None:
        """No organisation to queue for, and no connection either: parked, and the owner asked to reconnect
        (once per connection loss; the push does the same for an account with an organisation)."""
        reason = f"Xero is {status} for this account"
        _park(group, "not_connected", reason)
        if status == ConnectionStatus.NEEDS_RECONNECT:
            try:
                self._parts.alerts.reconnect_needed(account_id, reason, now=self._parts.now())
            except SyncError:
                logger.exception("could not queue the reconnect email", extra={"account_id": account_id})

    def _wake(self, wakes: list[Message]) -> None:
        """Wake-ups of organisations whose waiting events are due: a flush ticket for each."""
        tenants = sorted({str(tenant_of(m.body, "wake")) for m in wakes})
        if not tenants:
            return
        assert self._parts.outbox is not None
        assert self._parts.tickets is not None
        try:
            self._parts.tickets.send(self._parts.outbox.generations(tenants))
        except StorageError:
            logger.exception("could not turn wake-ups into flush tickets")
            _retry(wakes, "storage_error", "no flush ticket could be sent")
            return
        for message in wakes:
            message.finish(WOKEN)


def _park(messages: list[Message], code: str, reason: str) -> None:
    for message in messages:
        message.finish(Outcome(Fate.PARKED, code, reason))


def _retry(messages: list[Message], code: str, reason: str) -> None:
    for message in messages:
        message.finish(Outcome(Fate.RETRIED, code, reason, backoff(message.receive_count)))
