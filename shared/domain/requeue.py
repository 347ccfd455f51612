"""Putting events back on the invoice queue: parked events once an account can sync again, and the
failed events of an invoice when its owner asks for a retry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.observability import logger

if TYPE_CHECKING:
    from shared.adapters.queue import InvoiceQueue
    from shared.adapters.sync_records import SyncRecords


class Requeue:
    def __init__(self, records: SyncRecords, queue: InvoiceQueue) -> None:
        self._records = records
        self._queue = queue

    def release_parked(self, account_id: str) -> int:
        """Re-queue every parked event of the account (after a reconnect or a finished setup).

        Each event is sent before its parked copy is deleted: a failure in between can only send an
        event twice, which the push's version checks make harmless.
        """
        released = 0
        for item in self._records.parked(account_id):
            self._queue.publish([str(item["body"])])
            self._records.unpark(account_id, str(item["sk"]))
            released += 1
        if released:
            logger.info("parked events released", extra={"account_id": account_id, "count": released})
        return released

    def retry_invoice(self, account_id: str, invoice_id: str) -> int:
        """Re-queue the failed events of one invoice: its failed version and its failed payments."""
        bodies: list[str] = []
        record = self._records.invoice(account_id, invoice_id)
        if record and record.state == "failed" and record.last_event:
            bodies.append(record.last_event)
        bodies += [
            str(p["last_event"]) for p in self._records.payments_of(account_id, invoice_id) if p.get("last_event")
        ]
        if bodies:
            self._queue.publish(bodies)
            logger.info("invoice queued again", extra={"account_id": account_id, "invoice_id": invoice_id})
        return len(bodies)

    def resend_invoice(self, account_id: str, invoice_id: str, *, forget_xero: bool = False) -> bool:
        """Send the platform's last version of an invoice to Xero again, through the push (the owner's
        "resend" after reconciliation found Xero's version differs). False when there is nothing kept
        to send, or a newer version is on its way."""
        record = self._records.invoice(account_id, invoice_id)
        if record is None or not record.last_event or record.last_version < 1:
            return False
        if not self._records.reopen_invoice(account_id, invoice_id, record.last_version, forget_xero=forget_xero):
            return False
        self._queue.publish([record.last_event])
        logger.info("invoice sent again", extra={"account_id": account_id, "invoice_id": invoice_id})
        return True
