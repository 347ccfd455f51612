"""Payments: to the account's payment account, 50 a call, once their invoice is approved in Xero.

A payment is matched in Xero only by the identity the service wrote into it (its reference carries
the platform payment id, see :func:`shared.domain.mapping.payment_reference`), never by amount: two
equal instalments stay two payments whatever fails in between. A payment already in Xero is never
changed: the same payment sent again with another amount is refused with what to do. After each
payment the invoice's sync record keeps Xero's amount due and status (PAID once nothing is due).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from shared.domain.mapping import payment_element, payment_reference
from shared.domain.push import calls
from shared.domain.push.invoices import refused
from shared.domain.push.ledger import synced
from shared.domain.push.model import Fate, Message, Outcome
from shared.errors import Rejected
from shared.models.events import InvoiceEvent, PaymentRecorded
from shared.models.records import InvoiceRecord, PaymentRecord

if TYPE_CHECKING:
    from shared.domain.push.context import AccountRun

WAIT = 60
# An account's history comes in any order, over as long as the platform takes to publish it: a history
# payment waits this long (since it was queued) for its invoice without spending its tries.
HISTORY_INVOICE_WAIT = 86_400


def push(run: AccountRun) -> None:
    payments = _once_each(run, [m for m in run.live() if isinstance(m.event, PaymentRecorded)])
    if not payments:
        return
    known = run.ledger.invoices([_event(m).data.invoice_id for m in payments])
    records = run.ledger.payments([_event(m).data.payment_id for m in payments])
    ready: list[tuple[Message, PaymentRecorded, InvoiceRecord, dict[str, Any]]] = []
    for message in payments:
        event = _event(message)
        invoice = known.get(event.data.invoice_id)
        if invoice is not None and invoice.adopted == "kept":
            # Matched in Xero and kept as it is there (paid already, voided, another contact's): a payment
            # the service adds to it could count money twice. Nothing is sent; the progress reports it.
            message.finish(Outcome(Fate.SYNCED, "invoice_kept", "its invoice is kept as Xero has it"))
            continue
        if not _payable(run, message, event, invoice):
            continue
        assert invoice is not None
        assert invoice.xero_invoice_id is not None
        record = records.get(event.data.payment_id)
        if record is not None and record.xero_payment_id:
            _already_sent(run, message, event, record)
            continue
        uncertain = event.data.payment_id in run.in_flight.payments or bool(record and record.pending_version)
        if uncertain and _adopt(run, event, invoice):
            run.done(message)
            continue
        try:
            element = payment_element(
                event.data, xero_invoice_id=invoice.xero_invoice_id, account=run.account_settings.payment_account
            )
        except Rejected as failure:
            run.fail(message, failure)
            continue
        ready.append((message, event, invoice, element))
    for batch in calls.by_size(ready, lambda item: item[3]):
        run.sending(payments=[e.data.payment_id for _, e, _, _ in batch])
        results = calls.write(
            run.xero,
            "PUT",
            "Payments",
            [element for *_, element in batch],
            [f"payment:{e.data.payment_id}" for _, e, _, _ in batch],
        )
        for (message, event, invoice, _), (result, messages) in zip(batch, results, strict=True):
            if result is not None:
                _done(run, event, str(result["PaymentID"]), result.get("Invoice"), invoice)
                run.done(message)
            else:
                run.fail(message, refused("payment", f"of invoice {invoice.number or event.data.invoice_id}", messages))


def _once_each(run: AccountRun, messages: list[Message]) -> list[Message]:
    """One message per payment: a copy of the same event is skipped; another event for the same payment
    waits for a later pass (it is then judged against what this one did)."""
    first: dict[str, Message] = {}
    for message in messages:
        event = _event(message)
        seen = first.get(event.data.payment_id)
        if seen is None:
            first[event.data.payment_id] = message
        elif _event(seen).data == event.data:
            run.skip(message)
        else:
            message.finish(Outcome(Fate.DEFERRED, "payment_pending", "another event for this payment goes first", 1))
    return list(first.values())


def _event(message: Message) -> PaymentRecorded:
    assert isinstance(message.event, PaymentRecorded)
    return message.event


def _payable(run: AccountRun, message: Message, event: PaymentRecorded, invoice: InvoiceRecord | None) -> bool:
    """Whether the payment can go now; if not, the message's outcome says what happens to it."""
    payment = event.data.payment_id
    status = invoice.xero_status if invoice else None
    if invoice is not None and invoice.xero_invoice_id and status in ("AUTHORISED", "PAID"):
        return True
    if status in ("VOIDED", "DELETED"):
        run.fail(
            message,
            Rejected(
                "invoice_voided",
                f"Payment {payment} was not synced: its invoice is {status} in Xero.",
                "Record the payment against the invoice that replaced it.",
            ),
        )
    elif invoice is not None and invoice.state == "failed" and not invoice.xero_invoice_id:
        run.fail(
            message,
            Rejected(
                "invoice_not_synced",
                f"Payment {payment} was not synced because its invoice could not be: "
                f"{invoice.error_message or 'see the invoice'}",
                "Fix the invoice and retry it: its payments are retried with it.",
            ),
        )
    elif invoice is not None and invoice.xero_invoice_id:
        # A draft in Xero: the platform's "sent" may still be on its way.
        message.finish(Outcome(Fate.RETRIED, "invoice_not_approved", "its invoice is still a draft in Xero", WAIT))
    elif _invoice_waits(run, event.data.invoice_id):
        # The invoice's own event waits in the outbox (a retry, Xero's limits): wait without spending a try.
        message.finish(Outcome(Fate.DEFERRED, "invoice_pending", "its invoice is on its way to Xero", WAIT))
    elif event.history and run.parts.clock() - message.queued_at < HISTORY_INVOICE_WAIT:
        message.finish(Outcome(Fate.DEFERRED, "invoice_pending", "its invoice is not in the history yet", WAIT))
    else:
        # No event for the invoice yet (events arrive in any order): wait for it, boundedly.
        message.finish(Outcome(Fate.RETRIED, "invoice_not_synced", "its invoice has not reached Xero yet", WAIT))
    return False


def _invoice_waits(run: AccountRun, invoice_id: str) -> bool:
    return any(
        isinstance(m.event, InvoiceEvent)
        and m.event.data.invoice_id == invoice_id
        and (m.outcome is None or not m.outcome.fate.settled)
        for m in run.messages
    )


def _already_sent(run: AccountRun, message: Message, event: PaymentRecorded, record: PaymentRecord) -> None:
    """The payment is in Xero already: done, unless this event says something else about it."""
    if record.amount is None or record.amount == event.data.amount:
        run.skip(message)
        return
    run.fail(
        message,
        Rejected(
            "payment_changed",
            f"Payment {event.data.payment_id} is already in Xero for {record.amount}; this event says "
            f"{event.data.amount}. A payment in Xero is never changed by the sync.",
            "Record the difference as a new payment (or a refund) on the platform; to correct the payment itself, "
            "remove it in Xero and publish it again.",
        ),
    )


def _adopt(run: AccountRun, event: PaymentRecorded, invoice: InvoiceRecord) -> bool:
    """After an unanswered attempt: is this very payment in Xero? Then record it, do not send it again."""
    where = f'Invoice.InvoiceID==guid("{invoice.xero_invoice_id}")'
    reference = payment_reference(event.data)
    for payment in run.xero.get("Payments", {"where": where}).get("Payments", []):
        if (
            payment.get("Status") != "DELETED"
            and payment.get("Reference") == reference
            and Decimal(str(payment.get("Amount", 0))) == event.data.amount
        ):
            _done(run, event, str(payment["PaymentID"]), payment.get("Invoice"), invoice)
            return True
    return False


def _done(
    run: AccountRun,
    event: PaymentRecorded,
    xero_payment_id: str,
    answered: dict[str, Any] | None,
    invoice: InvoiceRecord,
) -> None:
    current = run.ledger.payments([event.data.payment_id]).get(event.data.payment_id)
    run.ledger.put(
        (current or PaymentRecord(payment_id=event.data.payment_id)).model_copy(
            update=synced(
                invoice_id=event.data.invoice_id,
                xero_payment_id=xero_payment_id,
                amount=event.data.amount,
                date=event.data.date.isoformat(),
                updated_at=run.now.isoformat(),
            )
        )
    )
    invoice = run.ledger.invoice(event.data.invoice_id) or invoice
    due = _decimal((answered or {}).get("AmountDue"))
    if due is None and invoice.amount_due is not None:
        due = max(invoice.amount_due - event.data.amount, Decimal(0))
    if due is None:
        return
    status = (answered or {}).get("Status") or ("PAID" if due == 0 else invoice.xero_status)
    run.ledger.put(
        invoice.model_copy(update={"amount_due": due, "xero_status": status, "updated_at": run.now.isoformat()})
    )


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    return Decimal(str(value))
