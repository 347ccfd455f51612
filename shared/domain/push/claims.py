"""Claims: the right to push the newest version of each invoice in the batch, and giving back what
was not finished.

Older versions (in the batch, or than what Xero already has) are skipped and counted; an invoice
another invocation is pushing waits (deferred). Whatever did not settle gives its claim back expired,
so the next attempt looks in Xero before it creates anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.domain.push.model import Fate, InvoiceWork, Message, Outcome
from shared.errors import StorageError
from shared.models.events import InvoiceDeleted, InvoiceUpserted, InvoiceVoided, PaymentRecorded
from shared.observability import logger

if TYPE_CHECKING:
    from shared.domain.push.context import AccountRun

BUSY_DELAY = 20
InvoiceEvent = InvoiceUpserted | InvoiceVoided | InvoiceDeleted


def claim_invoices(run: AccountRun) -> list[InvoiceWork]:
    newest: dict[str, Message] = {}
    for message in run.live():
        event = message.event
        if not isinstance(event, InvoiceEvent):
            continue
        other = newest.get(event.data.invoice_id)
        if other is None or _version(other) < event.data.version:
            if other is not None:
                run.skip(other)  # superseded within this batch
            newest[event.data.invoice_id] = message
        else:
            run.skip(message)
    work: list[InvoiceWork] = []
    records = run.parts.records
    for message in newest.values():
        event = message.event
        assert isinstance(event, InvoiceEvent)
        number = event.data.number if isinstance(event, InvoiceUpserted) else None
        claim = records.claim_invoice(
            run.account_id, event.data.invoice_id, event.data.version, run.now, tenant_id=run.tenant_id, number=number
        )
        if claim.kind == "older":
            records.note_skipped(run.account_id, event.data.invoice_id, event.data.version, run.now)
            run.skip(message)
        elif claim.kind == "busy":
            message.finish(
                Outcome(Fate.DEFERRED, "invoice_busy", "another invocation is pushing this invoice", BUSY_DELAY)
            )
        else:
            run.claimed_invoices.add(event.data.invoice_id)
            work.append(InvoiceWork(message, event, claim))
    return work


def release(run: AccountRun) -> None:
    """Claims of events that did not settle are given back, so a retry need not wait for them."""
    for message in run.messages:
        event = message.event
        if message.outcome is not None and message.outcome.fate.settled:
            continue
        try:
            if isinstance(event, InvoiceEvent) and event.data.invoice_id in run.claimed_invoices:
                run.parts.records.release_invoice(run.account_id, event.data.invoice_id, event.data.version)
            elif isinstance(event, PaymentRecorded) and event.data.payment_id in run.claimed_payments:
                run.parts.records.release_payment(run.account_id, event.data.payment_id)
        except StorageError:
            logger.warning("could not release a claim; it will expire", extra={"account_id": run.account_id})


def _version(message: Message) -> int:
    event = message.event
    return event.data.version if isinstance(event, InvoiceEvent) else 0
