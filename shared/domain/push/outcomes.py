"""The last stage: every message's fate carried out (queue, table, dead letters), failures recorded,
the owner told, the batch counted."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from shared.adapters.sync_records import MAX_KEPT_EVENT_BYTES, compress
from shared.domain.push import credit_failures
from shared.domain.push.model import Fate, Message, Outcome, Tally
from shared.domain.status import announce
from shared.errors import Rejected, StorageError, SyncError, XeroError
from shared.models.alerts import SyncFailedAlert, SyncFailure
from shared.models.events import (
    ContactUpserted,
    CreditNoteUpserted,
    Event,
    InvoiceDeleted,
    InvoiceUpserted,
    InvoiceVoided,
    PaymentRecorded,
    RefundRecorded,
)
from shared.models.status_events import InvoiceSynced, InvoiceSyncFailed
from shared.observability import logger

if TYPE_CHECKING:
    from shared.adapters.sync_records import SyncRecords
    from shared.domain.push.context import PushParts
    from shared.domain.push.ledger import Ledger
    from shared.models.records import InvoiceRecord

NOT_PROCESSED = Outcome(Fate.RETRIED, "not_processed", "the message was not processed", 30)


def backoff(attempt: int) -> int:
    """Seconds before a retried event is tried again: 30 s, doubling, at most 15 minutes."""
    return int(min(900, 30 * 2 ** max(0, attempt - 1)))


def record_failure(
    parts: PushParts, event: Event, message: Message, failure: Rejected, ledger: Ledger | None = None
) -> None:
    """The failed sync record (staged on the flush's ``ledger``, or written now), and the alert the owner
    will receive (queued when the batch settles)."""
    sink: Ledger | SyncRecords = ledger or parts.records
    now = parts.now()
    kept = len(compress(message.body)) <= MAX_KEPT_EVENT_BYTES
    extra = {"updated_at": now.isoformat(), "last_event": message.body if kept else None}
    if isinstance(event, PaymentRecorded):
        invoice = _invoice(parts, ledger, event.account_id, event.data.invoice_id)
        sink.fail_payment(
            event.account_id,
            event.data.payment_id,
            failure,
            now,
            {**extra, "invoice_id": event.data.invoice_id, "amount": event.data.amount},
        )
        message.failure = alert(
            event.data.invoice_id,
            invoice.number if invoice else None,
            failure,
            subject_kind="payment",
            payment_id=event.data.payment_id,
            amount=event.data.amount,
            currency=invoice.currency if invoice else None,
        )
    elif isinstance(event, InvoiceUpserted | InvoiceVoided | InvoiceDeleted):
        sink.fail_invoice(
            event.account_id,
            event.data.invoice_id,
            event.data.version,
            failure,
            now,
            {**extra, "number": event.data.number},
        )
        message.failure = alert(event.data.invoice_id, event.data.number, failure)
    elif isinstance(event, CreditNoteUpserted | RefundRecorded):
        message.failure = credit_failures.record(parts, event, failure, now, extra, ledger)
    else:
        assert isinstance(event, ContactUpserted)
        message.failure = alert(
            "", None, failure, subject_kind="contact", contact_id=event.data.contact_id, contact_name=event.data.name
        )


def alert(invoice_id: str, number: str | None, failure: Rejected, **subject: Any) -> SyncFailure:
    return SyncFailure(
        invoice_id=invoice_id,
        invoice_number=number,
        code=failure.code,
        message=failure.message,
        fix=failure.fix,
        xero_messages=tuple(failure.xero_messages),
        **subject,
    )


def _invoice(parts: PushParts, ledger: Ledger | None, account_id: str, invoice_id: str) -> InvoiceRecord | None:
    try:
        return ledger.invoice(invoice_id) if ledger else parts.records.invoice(account_id, invoice_id)
    except StorageError:
        return None


class EventSource(Protocol):
    """Where a batch's messages came from, and how each fate is carried out there."""

    def defer(self, message: Message, delay: int) -> None: ...
    def retry(self, message: Message, backoff: int) -> None: ...
    def park(self, message: Message, code: str) -> None: ...
    def dead(self, message: Message, code: str, reason: str) -> None: ...
    def done(self, message: Message) -> None: ...
    def commit(self) -> None: ...


def settle(parts: PushParts, messages: list[Message], tally: Tally, source: EventSource) -> None:
    """Carry out each message's fate; a retry that used up its attempts becomes a failure."""
    for message in messages:
        outcome = message.outcome or NOT_PROCESSED
        if outcome.fate == Fate.RETRIED and message.receive_count >= parts.max_receives:
            outcome = Outcome(
                Fate.FAILED, outcome.code, f"gave up after {message.receive_count} attempts: {outcome.reason}"
            )
            _record_exhausted(parts, message, outcome)
        message.outcome = _act(source, message, outcome)
        tally.count(message.outcome.fate)
    source.commit()
    deliver_alerts(parts, messages)
    announce(parts.status_events, *(e for m in messages if (e := status_event(m, parts.now())) is not None))


def status_event(message: Message, now: datetime) -> InvoiceSynced | InvoiceSyncFailed | None:
    """What the platform hears of an invoice event that settled: synced, or failed for good."""
    event, outcome = message.event, message.outcome
    if not isinstance(event, InvoiceUpserted | InvoiceVoided | InvoiceDeleted) or outcome is None:
        return None
    if outcome.fate == Fate.SYNCED and message.synced is not None:
        record = message.synced
        return InvoiceSynced(
            account_id=event.account_id,
            occurred_at=now,
            invoice_id=record.invoice_id,
            number=record.number,
            version=event.data.version,
            tenant_id=record.tenant_id,
            xero_invoice_id=record.xero_invoice_id,
            xero_status=record.xero_status,
            total=record.total,
            amount_due=record.amount_due,
        )
    if outcome.fate == Fate.FAILED:
        failure = message.failure
        return InvoiceSyncFailed(
            account_id=event.account_id,
            occurred_at=now,
            invoice_id=event.data.invoice_id,
            number=event.data.number,
            version=event.data.version,
            code=outcome.code,
            message=failure.message if failure else outcome.reason,
            fix=failure.fix if failure else "",
            xero_messages=list(failure.xero_messages) if failure else [],
        )
    return None


def deliver_alerts(parts: PushParts, messages: list[Message]) -> None:
    """One email per failure, queued on the alert queue (ten to a call) after the Xero work: the alerts
    function sends them, retrying while SES is down, so SES never holds up a batch."""
    now = parts.now()
    requests = [
        SyncFailedAlert(account_id=m.account_id, occurred_at=now, failure=m.failure)
        for m in messages
        if m.failure is not None and m.account_id is not None
    ]
    if not requests:
        return
    try:
        parts.alerts.publish(requests)
    except SyncError:
        # The failures are recorded and dead-lettered with their reasons; the emails are what is lost.
        logger.exception("could not queue the sync-failed emails", extra={"count": len(requests)})


def _act(source: EventSource, message: Message, outcome: Outcome) -> Outcome:
    try:
        if outcome.fate == Fate.DEFERRED:
            source.defer(message, outcome.delay)
        elif outcome.fate == Fate.PARKED and message.event is not None:
            source.park(message, outcome.code)
        elif outcome.fate == Fate.FAILED:
            source.dead(message, outcome.code, outcome.reason)
        elif outcome.fate == Fate.RETRIED:
            source.retry(message, outcome.delay or backoff(message.receive_count))
        else:
            source.done(message)
    except StorageError:
        logger.exception("could not hand a message on; it will be received again", extra={"reason_code": outcome.code})
        return Outcome(Fate.RETRIED, outcome.code, outcome.reason)
    if outcome.fate == Fate.QUEUED:  # the normal path of every event through the intake: not news
        logger.debug("event queued", extra={"message_id": message.message_id, "account_id": message.account_id})
    elif outcome.fate not in (Fate.SYNCED, Fate.SKIPPED):
        logger.info(
            "event not synced now",
            extra={
                "message_id": message.message_id,
                "account_id": message.account_id,
                "outcome": outcome.fate.value,
                "reason_code": outcome.code,
                "reason": outcome.reason,
            },
        )
    return outcome


def _record_exhausted(parts: PushParts, message: Message, outcome: Outcome) -> None:
    """A retryable error outlasted the queue's receives: record and tell the owner, as for a refusal."""
    event = message.event
    if event is None:
        return
    failure = Rejected(
        outcome.code,
        outcome.reason,
        "Check Xero's status and the connection, then retry the invoice from the integration settings.",
    )
    try:
        record_failure(parts, event, message, failure)
    except (SyncError, XeroError):
        logger.exception("could not record an exhausted event", extra={"account_id": event.account_id})
