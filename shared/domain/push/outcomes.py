"""The last stage: every message's fate carried out (queue, table, dead letters), failures recorded,
the owner told, the batch counted."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from shared.adapters.sync_records import event_values
from shared.domain.alerts import SyncFailure
from shared.domain.push.model import Fate, Message, Outcome, Tally
from shared.errors import Rejected, StorageError, SyncError, XeroError
from shared.models.events import ContactUpserted, Event, InvoiceDeleted, InvoiceUpserted, InvoiceVoided, PaymentRecorded
from shared.observability import logger

if TYPE_CHECKING:
    from shared.domain.push.context import PushParts

NOT_PROCESSED = Outcome(Fate.RETRIED, "not_processed", "the message was not processed", 30)
ALERT_MARGIN_SECONDS = 10


def record_failure(parts: PushParts, event: Event, message: Message, failure: Rejected) -> None:
    """The failed sync record, and the alert the owner will receive (sent when the batch settles)."""
    now = parts.now()
    extra = {"updated_at": now.isoformat(), **event_values(message.body)}
    number: str | None = None
    subject: str
    if isinstance(event, PaymentRecorded):
        subject = event.data.invoice_id
        number = _invoice_number(parts, event.account_id, event.data.invoice_id)
        parts.records.fail_payment(
            event.account_id,
            event.data.payment_id,
            failure,
            now,
            {**extra, "invoice_id": event.data.invoice_id, "amount": str(event.data.amount)},
        )
    elif isinstance(event, InvoiceUpserted | InvoiceVoided | InvoiceDeleted):
        subject, number = event.data.invoice_id, event.data.number
        parts.records.fail_invoice(
            event.account_id, subject, event.data.version, failure, now, {**extra, "number": number}
        )
    else:
        assert isinstance(event, ContactUpserted)
        subject = f"contact {event.data.contact_id}"
    message.failure = alert(subject, number, failure)


def alert(subject: str, number: str | None, failure: Rejected) -> SyncFailure:
    return SyncFailure(
        invoice_id=subject,
        invoice_number=number,
        code=failure.code,
        message=failure.message,
        fix=failure.fix,
        xero_messages=tuple(failure.xero_messages),
    )


def _invoice_number(parts: PushParts, account_id: str, invoice_id: str) -> str | None:
    try:
        record = parts.records.invoice(account_id, invoice_id)
    except StorageError:
        return None
    return record.number if record else None


def settle(parts: PushParts, messages: list[Message], tally: Tally, seconds_left: Callable[[], float]) -> None:
    """Carry out each message's fate; a retry that used up its receives becomes a failure."""
    for message in messages:
        outcome = message.outcome or NOT_PROCESSED
        if outcome.fate == Fate.RETRIED and message.receive_count >= parts.max_receives:
            outcome = Outcome(
                Fate.FAILED, outcome.code, f"gave up after {message.receive_count} attempts: {outcome.reason}"
            )
            _record_exhausted(parts, message, outcome)
        message.outcome = _act(parts, message, outcome)
        tally.count(message.outcome.fate)
    deliver_alerts(parts, messages, seconds_left)


def deliver_alerts(parts: PushParts, messages: list[Message], seconds_left: Callable[[], float]) -> None:
    """One email per failure, after the Xero work, and only while the invocation has time for it."""
    for message in messages:
        if message.failure is None or message.account_id is None:
            continue
        if seconds_left() < ALERT_MARGIN_SECONDS:
            logger.warning("out of time for an alert email", extra={"account_id": message.account_id})
            continue
        try:
            parts.alerts.sync_failed(message.account_id, message.failure, now=parts.now())
        except SyncError:
            logger.exception("could not send the sync-failed email", extra={"account_id": message.account_id})


def _act(parts: PushParts, message: Message, outcome: Outcome) -> Outcome:
    try:
        if outcome.fate == Fate.DEFERRED:
            parts.queue.publish([message.body], delay=outcome.delay, deferrals=message.deferrals + 1)
        elif outcome.fate == Fate.PARKED and message.event is not None:
            parts.records.park(
                message.event.account_id, message.event.event_id, message.body, outcome.code, parts.now()
            )
        elif outcome.fate == Fate.FAILED:
            parts.queue.dead(
                message.body,
                code=outcome.code,
                reason=outcome.reason,
                message_id=message.message_id,
                account_id=message.account_id,
            )
        elif outcome.fate == Fate.RETRIED:
            backoff = outcome.delay or min(900, 30 * 2 ** max(0, message.receive_count - 1))
            parts.queue.back_off(message.receipt_handle, backoff)
    except StorageError:
        logger.exception("could not hand a message on; it will be received again", extra={"reason_code": outcome.code})
        return Outcome(Fate.RETRIED, outcome.code, outcome.reason)
    if outcome.fate not in (Fate.SYNCED, Fate.SKIPPED):
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
