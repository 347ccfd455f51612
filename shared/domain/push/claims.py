"""The newest version of each invoice in the flush, checked against its sync record.

Older versions (in the flush, or than what Xero already has) are skipped and counted on the record.
An invoice an earlier flush sent to Xero without recording the answer (its in-flight note) is
*uncertain*: the invoices stage looks for it in Xero, by every number sent, before creating anything.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from shared.adapters.sync_records import Claim
from shared.domain.push.model import InvoiceWork, Message
from shared.models.events import InvoiceEvent
from shared.models.records import InvoiceRecord

if TYPE_CHECKING:
    from shared.domain.push.context import AccountRun


def claim_invoices(run: AccountRun) -> list[InvoiceWork]:
    newest: dict[str, Message] = {}
    for message in run.live():
        event = message.event
        if not isinstance(event, InvoiceEvent):
            continue
        other = newest.get(event.data.invoice_id)
        if other is None or _version(other) < event.data.version:
            if other is not None:
                run.skip(other)  # superseded within this flush
            newest[event.data.invoice_id] = message
        else:
            run.skip(message)
    records = run.ledger.invoices(list(newest))
    work: list[InvoiceWork] = []
    for invoice_id, message in newest.items():
        event = message.event
        assert isinstance(event, InvoiceEvent)
        record = records.get(invoice_id) or InvoiceRecord(invoice_id=invoice_id, tenant_id=run.tenant_id)
        if record.last_version >= event.data.version:
            run.ledger.put(_skipped(record, event.data.version, run.now))
            run.skip(message)
            continue
        sent = run.in_flight.invoices.get(invoice_id)
        uncertain = sent is not None or record.pending_version is not None  # pending: a claim of the old push
        if sent:
            record = record.model_copy(update={"numbers_sent": record.numbers_sent | sent})
        work.append(InvoiceWork(message, event, Claim("claimed", record, uncertain=uncertain)))
    return work


def _skipped(record: InvoiceRecord, version: int, now: datetime) -> InvoiceRecord:
    """An older version arrived after a newer one was pushed: counted, never sent."""
    return record.model_copy(
        update={
            "last_skipped_version": version,
            "last_skipped_at": now.isoformat(),
            "skipped_count": record.skipped_count + 1,
        }
    )


def _version(message: Message) -> int:
    event = message.event
    return event.data.version if isinstance(event, InvoiceEvent) else 0
