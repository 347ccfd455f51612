"""One account's sync records while an organisation's outbox is flushed: read in batches, changed in
memory by the stages, written together at the end (25 a request).

No claims are needed: an organisation has exactly one flush at a time (its flush tickets share an SQS
FIFO message group), and every account of that organisation is flushed by it. What a crashed flush
may have sent to Xero without recording is named by its in-flight note
(:mod:`shared.adapters.outbox`): the next flush looks in Xero for those before it creates anything.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.models.records import ContactRecord, CreditNoteRecord, InvoiceRecord, PaymentRecord, RefundRecord

if TYPE_CHECKING:
    from shared.adapters.sync_records import SyncRecords
    from shared.errors import Rejected

Record = InvoiceRecord | ContactRecord | PaymentRecord | CreditNoteRecord | RefundRecord


class Ledger:
    def __init__(self, records: SyncRecords, account_id: str, tenant_id: str) -> None:
        self._records = records
        self.account_id = account_id
        self.tenant_id = tenant_id
        self._invoices: dict[str, InvoiceRecord] = {}
        self._contacts: dict[str, ContactRecord] = {}
        self._payments: dict[str, PaymentRecord] = {}
        self._credit_notes: dict[str, CreditNoteRecord] = {}
        self._refunds: dict[str, RefundRecord] = {}
        self._dirty: dict[tuple[str, str], Record] = {}

    # --- reading -------------------------------------------------------------------------------

    def invoices(self, ids: list[str]) -> dict[str, InvoiceRecord]:
        """The records of these invoices as seen from this organisation (absent: never synced)."""
        missing = [i for i in dict.fromkeys(ids) if i not in self._invoices]
        if missing:
            for invoice_id, record in self._records.load(self.account_id, "INVOICE", missing).items():
                self._invoices[invoice_id] = record.in_organisation(self.tenant_id)
        return {i: self._invoices[i] for i in ids if i in self._invoices}

    def invoice(self, invoice_id: str) -> InvoiceRecord | None:
        return self.invoices([invoice_id]).get(invoice_id)

    def contacts(self, ids: list[str]) -> dict[str, ContactRecord]:
        missing = [i for i in dict.fromkeys(ids) if i not in self._contacts]
        if missing:
            for contact_id, record in self._records.load(self.account_id, "CONTACT", missing).items():
                if record.belongs_to(self.tenant_id):
                    self._contacts[contact_id] = record
        return {i: self._contacts[i] for i in ids if i in self._contacts}

    def payments(self, ids: list[str]) -> dict[str, PaymentRecord]:
        missing = [i for i in dict.fromkeys(ids) if i not in self._payments]
        if missing:
            for payment_id, record in self._records.load(self.account_id, "PAYMENT", missing).items():
                self._payments[payment_id] = record.in_organisation(self.tenant_id)
        return {i: self._payments[i] for i in ids if i in self._payments}

    def credit_notes(self, ids: list[str]) -> dict[str, CreditNoteRecord]:
        missing = [i for i in dict.fromkeys(ids) if i not in self._credit_notes]
        if missing:
            for credit_note_id, record in self._records.load(self.account_id, "CREDIT_NOTE", missing).items():
                self._credit_notes[credit_note_id] = record.in_organisation(self.tenant_id)
        return {i: self._credit_notes[i] for i in ids if i in self._credit_notes}

    def refunds(self, ids: list[str]) -> dict[str, RefundRecord]:
        missing = [i for i in dict.fromkeys(ids) if i not in self._refunds]
        if missing:
            for refund_id, record in self._records.load(self.account_id, "REFUND", missing).items():
                self._refunds[refund_id] = record.in_organisation(self.tenant_id)
        return {i: self._refunds[i] for i in ids if i in self._refunds}

    # --- changing ------------------------------------------------------------------------------

    def put(self, record: Record) -> None:
        record = record.model_copy(update={"tenant_id": self.tenant_id, "pending_version": None, "pending_until": None})
        if isinstance(record, InvoiceRecord):
            self._invoices[record.invoice_id] = record
            self._dirty[("INVOICE", record.invoice_id)] = record
        elif isinstance(record, ContactRecord):
            self._contacts[record.contact_id] = record
            self._dirty[("CONTACT", record.contact_id)] = record
        elif isinstance(record, CreditNoteRecord):
            self._credit_notes[record.credit_note_id] = record
            self._dirty[("CREDIT_NOTE", record.credit_note_id)] = record
        elif isinstance(record, RefundRecord):
            self._refunds[record.refund_id] = record
            self._dirty[("REFUND", record.refund_id)] = record
        else:
            self._payments[record.payment_id] = record
            self._dirty[("PAYMENT", record.payment_id)] = record

    def stage_now(self, records: list[Record]) -> None:
        """Write these records at once, before a Xero write: what a crash must not forget was sent."""
        self._records.put_all(self.account_id, [r.model_copy(update={"tenant_id": self.tenant_id}) for r in records])

    def fail_invoice(
        self, account_id: str, invoice_id: str, version: int, failure: Rejected, now: datetime, extra: dict[str, Any]
    ) -> None:
        current = self.invoice(invoice_id) or InvoiceRecord(invoice_id=invoice_id)
        self.put(current.model_copy(update={**_failed(failure, now), "failed_version": version, **_kept(extra)}))

    def fail_payment(
        self, account_id: str, payment_id: str, failure: Rejected, now: datetime, extra: dict[str, Any]
    ) -> None:
        current = self.payments([payment_id]).get(payment_id) or PaymentRecord(payment_id=payment_id)
        if current.xero_payment_id:
            return  # in Xero already: this event's failure is told, the record stays as it is
        self.put(current.model_copy(update={**_failed(failure, now), **_kept(extra)}))

    def fail_credit_note(
        self, credit_note_id: str, version: int, failure: Rejected, now: datetime, extra: dict[str, Any]
    ) -> None:
        current = self.credit_notes([credit_note_id]).get(credit_note_id) or CreditNoteRecord(
            credit_note_id=credit_note_id
        )
        self.put(current.model_copy(update={**_failed(failure, now), "failed_version": version, **_kept(extra)}))

    def fail_refund(self, refund_id: str, failure: Rejected, now: datetime, extra: dict[str, Any]) -> None:
        current = self.refunds([refund_id]).get(refund_id) or RefundRecord(refund_id=refund_id)
        if current.xero_payment_id:
            return
        self.put(current.model_copy(update={**_failed(failure, now), **_kept(extra)}))

    def write(self) -> int:
        """Store what changed; how many records."""
        if not self._dirty:
            return 0
        changed = list(self._dirty.values())
        self._records.put_all(self.account_id, changed)
        self._dirty.clear()
        return len(changed)


def _failed(failure: Rejected, now: datetime) -> dict[str, Any]:
    return {
        "state": "failed",
        "error_code": failure.code,
        "error_message": failure.message,
        "error_fix": failure.fix,
        "xero_messages": tuple(failure.xero_messages),
        "failed_at": now.isoformat(),
        "updated_at": now.isoformat(),
    }


def _kept(extra: dict[str, Any]) -> dict[str, Any]:
    """The extra values of a failure that the record models hold."""
    return {k: v for k, v in extra.items() if k in KEPT}


KEPT = frozenset({"last_event", "number", "invoice_id", "amount", "updated_at", "credit_note_id"})


def synced(**values: Any) -> dict[str, Any]:
    """What a record says once Xero holds what was sent: synced, and the earlier failure gone."""
    return {
        **values,
        "state": "synced",
        "error_code": None,
        "error_message": None,
        "error_fix": None,
        "xero_messages": (),
        "failed_at": None,
        "failed_version": None,
    }
