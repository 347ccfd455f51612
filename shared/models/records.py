"""Sync records: what the push has done for each invoice, contact and payment of an account.

Stored by :mod:`shared.adapters.sync_records`; read back as these models. Every record names the
Xero organisation (``tenant_id``) its Xero ids belong to: after an account reconnects to another
organisation, a record of the previous one is read as if nothing had been sent yet (a fresh start),
and nothing is ever sent to one organisation with an id from another.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RecordState = Literal["synced", "failed"]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    tenant_id: str | None = Field(default=None, description="The organisation the Xero ids belong to")
    state: RecordState | None = None
    pending_version: int | None = None
    pending_until: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    error_fix: str | None = None
    xero_messages: tuple[str, ...] = ()
    last_event: str | None = Field(default=None, description="The event last pushed or refused, for a retry")
    failed_at: str | None = None
    failed_version: int | None = None
    updated_at: str | None = None

    def belongs_to(self, tenant_id: str) -> bool:
        # Records written before organisations were recorded belong to the account's organisation.
        return self.tenant_id in (None, tenant_id)


class InvoiceRecord(_Record):
    invoice_id: str
    number: str | None = None
    xero_invoice_id: str | None = None
    xero_status: str | None = None
    xero_contact_id: str | None = None
    fingerprint: str | None = None
    last_version: int = 0
    numbers_sent: frozenset[str] = Field(
        default=frozenset(), description="Every invoice number an attempt sent: where to look after a crash"
    )
    currency: str | None = None
    total: Decimal | None = None
    amount_due: Decimal | None = None
    sub_total: Decimal | None = None
    total_tax: Decimal | None = None
    reference: str | None = Field(default=None, description="As Xero answered the last write (reconciliation)")
    date: str | None = None
    due_date: str | None = None
    last_skipped_version: int | None = None
    last_skipped_at: str | None = None
    skipped_count: int = 0
    last_pushed_at: str | None = None
    adopted: str | None = Field(
        default=None,
        description="A history invoice matched in Xero by its number: updated (made the platform's version) or "
        "kept (left as Xero has it: paid, voided, with payments or credit, or for another contact)",
    )
    adopted_reason: str | None = None

    @property
    def amount_paid(self) -> Decimal:
        """What Xero holds as paid (or credited) on the invoice."""
        if self.total is None or self.amount_due is None:
            return Decimal(0)
        return self.total - self.amount_due

    def in_organisation(self, tenant_id: str) -> InvoiceRecord:
        """This record as seen from ``tenant_id``: Xero ids of another organisation are not ours there."""
        if self.belongs_to(tenant_id):
            return self
        return self.model_copy(
            update={
                "tenant_id": tenant_id,
                "xero_invoice_id": None,
                "xero_status": None,
                "xero_contact_id": None,
                "fingerprint": None,
                "numbers_sent": frozenset(),
                "total": None,
                "amount_due": None,
                "sub_total": None,
                "total_tax": None,
                "last_version": 0,
                "state": None,
            }
        )


class ContactRecord(_Record):
    contact_id: str
    xero_contact_id: str | None = None
    number: str | None = Field(default=None, description="The ContactNumber this account holds in Xero")
    version: int = 0
    fingerprint: str | None = None


class PaymentRecord(_Record):
    payment_id: str
    invoice_id: str | None = None
    xero_payment_id: str | None = None
    amount: Decimal | None = None
    date: str | None = None

    def in_organisation(self, tenant_id: str) -> PaymentRecord:
        if self.belongs_to(tenant_id):
            return self
        return self.model_copy(update={"tenant_id": tenant_id, "xero_payment_id": None, "amount": None})


class CreditNoteRecord(_Record):
    """A credit note as Xero holds it for this account: its id, status, and how much of it is allocated
    to each invoice and refunded (what the next version of the credit note is compared with)."""

    credit_note_id: str
    number: str | None = None
    xero_credit_note_id: str | None = None
    xero_status: str | None = None
    xero_contact_id: str | None = None
    fingerprint: str | None = None
    money_fingerprint: str | None = Field(
        default=None, description="Of what Xero does not let change once the credit note is used: lines, contact, date"
    )
    last_version: int = 0
    currency: str | None = None
    total: Decimal | None = None
    allocated: dict[str, Decimal] = Field(
        default_factory=dict, description="Platform invoice id → the amount of this credit allocated to it in Xero"
    )
    applied: dict[str, Decimal] = Field(
        default_factory=dict, description="What the last version pushed applies to each invoice (some may wait)"
    )
    refunded: Decimal = Decimal(0)
    sending: bool = Field(
        default=False, description="A write was sent and its answer not recorded: look in Xero before writing again"
    )
    last_skipped_version: int | None = None
    skipped_count: int = 0
    last_pushed_at: str | None = None

    @property
    def remaining_credit(self) -> Decimal | None:
        if self.total is None:
            return None
        return self.total - sum(self.allocated.values(), Decimal(0)) - self.refunded

    def in_organisation(self, tenant_id: str) -> CreditNoteRecord:
        if self.belongs_to(tenant_id):
            return self
        return CreditNoteRecord(credit_note_id=self.credit_note_id, tenant_id=tenant_id, number=self.number)


class RefundRecord(_Record):
    """Cash paid back out of a credit note (a Xero payment against the credit note)."""

    refund_id: str
    credit_note_id: str | None = None
    xero_payment_id: str | None = None
    amount: Decimal | None = None
    date: str | None = None
    sending: bool = False

    def in_organisation(self, tenant_id: str) -> RefundRecord:
        if self.belongs_to(tenant_id):
            return self
        return RefundRecord(refund_id=self.refund_id, tenant_id=tenant_id, credit_note_id=self.credit_note_id)
