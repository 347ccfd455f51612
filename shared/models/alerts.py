"""What an alert email is about: the one definition of a sync failure, and of a queued alert request.

:class:`SyncFailure` says what could not be sent to Xero (an invoice, a payment, a contact) in the
owner's words; the sync-failed email is written from it. :data:`AlertRequest` is the body of a
message on the alert queue (:mod:`shared.adapters.alert_queue`): a sync failure, or a connection
that needs reconnecting, for one account, as of when it happened.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

# What failed.
SubjectKind = Literal["invoice", "payment", "contact", "credit_note", "refund"]


class SyncFailure(BaseModel):
    """One thing that could not be sent to Xero and why. Only ``code``, ``message`` and ``fix`` are
    needed; the rest says what failed: an invoice (``invoice_id``, ``invoice_number``), a payment
    (``payment_id``, ``amount``, ``currency``, and its invoice's id and number), a contact
    (``contact_id``, ``contact_name``), a credit note (``credit_note_id``, ``credit_note_number``) or a
    refund out of one (``payment_id`` is the refund's id, with ``amount``, ``currency`` and its credit note)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    invoice_id: str = Field(default="", max_length=300, description="The platform's invoice id (a payment's invoice)")
    invoice_number: str | None = Field(default=None, max_length=300)
    code: str = Field(max_length=100, description='Stable code, e.g. "unmapped_tax", "xero_validation"')
    message: str = Field(max_length=4000, description="What is wrong, in plain words")
    fix: str = Field(max_length=4000, description="What the owner should do")
    xero_messages: tuple[str, ...] = Field(default=(), max_length=50)
    subject_kind: SubjectKind = "invoice"
    payment_id: str | None = Field(default=None, max_length=300)
    amount: Decimal | None = Field(default=None, max_digits=15, decimal_places=2)
    currency: str | None = Field(default=None, max_length=3)
    contact_id: str | None = Field(default=None, max_length=300)
    contact_name: str | None = Field(default=None, max_length=300)
    credit_note_id: str | None = Field(default=None, max_length=300)
    credit_note_number: str | None = Field(default=None, max_length=300)

    @property
    def subject_key(self) -> str:
        """What one email is about, for its dedupe key: the invoice, the payment or the contact."""
        if self.subject_kind == "payment" and self.payment_id:
            return f"payment:{self.payment_id}"
        if self.subject_kind == "contact" and self.contact_id:
            return f"contact:{self.contact_id}"
        if self.subject_kind == "credit_note" and self.credit_note_id:
            return f"credit_note:{self.credit_note_id}"
        if self.subject_kind == "refund" and self.payment_id:
            return f"refund:{self.payment_id}"
        return self.invoice_id  # invoices keep the key they always had


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str = Field(min_length=1, max_length=128)
    occurred_at: AwareDatetime = Field(description="When it happened: the email's once-a-day dedupe counts from it")


class SyncFailedAlert(_Request):
    kind: Literal["sync_failed"] = "sync_failed"
    failure: SyncFailure


class ReconnectNeededAlert(_Request):
    kind: Literal["reconnect_needed"] = "reconnect_needed"
    reason: str = Field(max_length=4000)


class DigestItem(BaseModel):
    """One reconciliation difference as the weekly digest tells it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    invoice_id: str = Field(max_length=300)
    number: str = Field(max_length=300)
    kind: str = Field(max_length=50)
    details: tuple[str, ...] = Field(default=(), max_length=20)
    what_to_do: str = Field(max_length=2000)


class ReconciliationDigestAlert(_Request):
    """The weekly reconciliation digest: what differs between Xero and the platform (at most 50 listed)."""

    kind: Literal["reconciliation_digest"] = "reconciliation_digest"
    run_id: str = Field(max_length=100)
    compared: int = Field(ge=0)
    total: int = Field(ge=0, description="Open differences in all; ``items`` lists the first 50")
    items: tuple[DigestItem, ...] = Field(max_length=50)


AlertRequest = Annotated[
    SyncFailedAlert | ReconnectNeededAlert | ReconciliationDigestAlert, Field(discriminator="kind")
]
ALERT_REQUEST: TypeAdapter[AlertRequest] = TypeAdapter(AlertRequest)


def parse_alert_request(body: str) -> AlertRequest:
    """An alert queue message's body; pydantic's ValidationError says what is wrong with it."""
    request: AlertRequest = ALERT_REQUEST.validate_json(body)
    return request
