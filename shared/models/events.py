"""The events the platform publishes to the invoice queue: the one definition of the contract.

Every message body is one JSON object with an envelope (``type``, ``schema_version``, ``event_id``,
``account_id``, ``occurred_at``) and a ``data`` object whose shape the type decides. Amounts are
decimal strings or numbers, dates ``YYYY-MM-DD``. ``python -m shared.models.events`` writes the JSON
Schemas to ``events/schema/``.

Ordering: every invoice and contact snapshot carries a ``version`` that grows with each change on
the platform; the service never lets an older version overwrite a newer one, so the platform may
publish in any order and SQS may deliver in any order or more than once.

History: an event with ``"origin": "history"`` is part of an account's past being imported (a
backfill). The service queues it on its organisation's backfill lane, ordered by the date of what
it is about (an invoice's issue date, a payment's date), and pushes it only with the calls live
events leave (see the README's "Backfill").

Bounds: every number is bounded by what DynamoDB and Xero hold, so one absurd value fails its own
event at parsing (as malformed, with the reason) instead of failing a write later. Versions are
signed 64-bit integers (DynamoDB numbers hold 38 digits); amounts have at most 15 digits; a message
body is at most :data:`MAX_EVENT_BYTES`, SQS's own limit (the sync record keeps the last event
compressed; one that even compressed would not fit a 400 KB DynamoDB item is refused by the push
before anything is sent to Xero). Text is normalised as :mod:`shared.models.text` describes: NFC, no invisible
characters, one space for any run of whitespace (line descriptions keep their line breaks); NUL and
other control characters are refused, and so is a name or number that is blank once normalised.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared.models.fields import DimensionName, DimensionValue, Identifier
from shared.models.text import normalise_line, optional_line, required_line, required_multiline

Money = Annotated[Decimal, Field(max_digits=15, decimal_places=2)]
PositiveMoney = Annotated[Decimal, Field(gt=0, max_digits=15, decimal_places=2)]
# Xero's ContactNumber holds at most 50 characters: the platform's contact id goes there.
ContactIdentifier = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*$")]
# DynamoDB numbers hold 38 digits and boto3 refuses to round one (decimal.Rounded fails the write):
# versions are kept to a signed 64-bit integer, which every platform's counter or timestamp fits.
VERSION_MAX = 2**63 - 1
Version = Annotated[
    int,
    Field(
        ge=1,
        le=VERSION_MAX,
        description="Grows with every change on the platform; an integer from 1 to 2^63 - 1 (signed 64-bit)",
    ),
]
# The body of one message, UTF-8: SQS carries at most 1 MiB a message.
MAX_EVENT_BYTES = 1024 * 1024
# Text that reaches Xero, normalised (shared.models.text): a name or number must not be blank.
Line = Annotated[str, BeforeValidator(optional_line)]
RequiredLine = Annotated[str, BeforeValidator(required_line)]
Description = Annotated[str, BeforeValidator(required_multiline)]
MAX_DIMENSIONS = 5
Email = Annotated[
    str, StringConstraints(max_length=255, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), BeforeValidator(optional_line)
]


def _currency(value: str) -> str:
    if len(value) != 3 or not value.isalpha():
        raise ValueError("must be an ISO 4217 code such as NZD")
    return value.upper()


CurrencyCode = Annotated[str, AfterValidator(_currency)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Address(_Model):
    kind: Literal["billing", "street"] = Field(default="billing", description="billing → Xero POBOX, street → STREET")
    line1: Line | None = Field(default=None, max_length=500)
    line2: Line | None = Field(default=None, max_length=500)
    line3: Line | None = Field(default=None, max_length=500)
    line4: Line | None = Field(default=None, max_length=500)
    city: Line | None = Field(default=None, max_length=255)
    region: Line | None = Field(default=None, max_length=255)
    postal_code: Line | None = Field(default=None, max_length=50)
    country: Line | None = Field(default=None, max_length=50)
    attention_to: Line | None = Field(default=None, max_length=255)


class Contact(_Model):
    """A customer or supplier, as a full snapshot. ``contact_id`` becomes Xero's ContactNumber.

    Text fields are normalised (NFC, invisible characters removed, any run of whitespace one space);
    a value holding NUL or another control character is refused, and so is a blank name.
    """

    contact_id: ContactIdentifier
    name: RequiredLine = Field(min_length=1, max_length=255)
    first_name: Line | None = Field(default=None, max_length=255)
    last_name: Line | None = Field(default=None, max_length=255)
    email: Email | None = None
    phone: Line | None = Field(default=None, max_length=50)
    tax_number: Line | None = Field(default=None, max_length=50)
    addresses: tuple[Address, ...] = Field(default=(), max_length=2)
    is_supplier: bool = False
    is_customer: bool = True


class LineItem(_Model):
    description: Description = Field(
        min_length=1, max_length=4000, description="May span several lines (LF between them)"
    )
    quantity: Annotated[Decimal, Field(max_digits=15, decimal_places=4)]
    unit_price: Annotated[Decimal, Field(max_digits=15, decimal_places=4)] = Field(
        description="May be negative (a coupon, a credit on the invoice): Xero takes negative lines as long as "
        "the invoice's total is not negative"
    )
    discount_rate: Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)] | None = Field(
        default=None, description="Percent off the line, e.g. 10 for 10 %"
    )
    tax_id: str | None = Field(
        default=None, max_length=128, description="The platform's tax rate id; mapped to a Xero TaxType per account"
    )
    item_code: Line | None = Field(
        default=None,
        max_length=30,
        description="Kept for compatibility and never sent to Xero: the Xero item comes from product_id's mapping",
    )
    account_code: Line | None = Field(
        default=None, max_length=10, description="Overrides every other account for this line (mapping, sales account)"
    )
    product_id: Identifier | None = Field(
        default=None,
        description="The platform's product id; mapped per account to a Xero item and/or account code. An unmapped "
        "product goes to the sales account",
    )
    tracking: dict[DimensionName, DimensionValue] = Field(
        default_factory=dict,
        max_length=MAX_DIMENSIONS,
        description="The platform's dimensions of this line (e.g. location, department) and their values; mapped per "
        "account to Xero tracking categories and options",
    )

    @field_validator("tracking", mode="before")
    @classmethod
    def _distinct_dimensions(cls, value: Any) -> Any:
        """Two dimension names that are one once normalised would lose a value without a word: refused."""
        if not isinstance(value, dict):
            return value
        seen: dict[str, str] = {}
        for name in value:
            if not isinstance(name, str):
                continue
            normalised = normalise_line(name)
            if normalised in seen:
                raise ValueError(f"the dimensions {seen[normalised]!r} and {name!r} are one name once normalised")
            seen[normalised] = name
        return value


class AmountsAre(StrEnum):
    TAX_EXCLUSIVE = "tax_exclusive"
    TAX_INCLUSIVE = "tax_inclusive"
    NO_TAX = "no_tax"


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    PAID = "paid"
    VOID = "void"


class Totals(_Model):
    """The platform's own totals; the push refuses to send an invoice whose Xero totals would differ."""

    subtotal: Money
    total_tax: Money
    total: Money


class Invoice(_Model):
    """An invoice, as a full snapshot. Text is normalised as in a contact; a blank number is refused."""

    invoice_id: Identifier
    number: RequiredLine = Field(min_length=1, max_length=255)
    version: Version
    status: InvoiceStatus
    currency: CurrencyCode
    issue_date: date
    due_date: date | None = None
    reference: Line | None = Field(default=None, max_length=255)
    amounts_are: AmountsAre = AmountsAre.TAX_EXCLUSIVE
    contact: Contact
    line_items: tuple[LineItem, ...] = Field(min_length=1, max_length=500)
    totals: Totals | None = None

    @model_validator(mode="after")
    def _due_after_issue(self) -> Invoice:
        if self.due_date is not None and self.due_date < self.issue_date:
            raise ValueError("due_date is before issue_date")
        return self


class InvoiceRemoved(_Model):
    invoice_id: Identifier
    version: Version
    number: Line | None = Field(default=None, max_length=255)


class Payment(_Model):
    payment_id: Identifier
    invoice_id: Identifier
    amount: PositiveMoney
    date: date
    reference: Line | None = Field(default=None, max_length=255)
    kind: Literal["payment", "refund"] = Field(
        default="payment",
        description="Refunds of an invoice's payment are refused with a clear reason: a refund is a credit note "
        "(credit_note.upserted) and its refund.recorded",
    )


class CreditNoteStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    VOID = "void"


class CreditApplied(_Model):
    """Part of a credit note applied to one invoice (a Xero allocation)."""

    invoice_id: Identifier
    amount: PositiveMoney


class CreditNote(_Model):
    """A credit note, as a full snapshot: its lines, and the invoices it applies to with how much.

    ``applied_to`` is the whole truth each time: an invoice left out, or a smaller amount, is a change
    Xero cannot take from the sync (an allocation in Xero is never reduced by it) and is refused.
    """

    credit_note_id: Identifier
    number: RequiredLine = Field(min_length=1, max_length=255)
    version: Version
    status: CreditNoteStatus
    currency: CurrencyCode
    issue_date: date
    reference: Line | None = Field(default=None, max_length=255)
    amounts_are: AmountsAre = AmountsAre.TAX_EXCLUSIVE
    contact: Contact
    line_items: tuple[LineItem, ...] = Field(min_length=1, max_length=500)
    totals: Totals | None = None
    applied_to: tuple[CreditApplied, ...] = Field(
        default=(), max_length=50, description="The invoices this credit is applied to, and how much to each"
    )

    @field_validator("applied_to")
    @classmethod
    def _one_entry_per_invoice(cls, value: tuple[CreditApplied, ...]) -> tuple[CreditApplied, ...]:
        seen = [a.invoice_id for a in value]
        twice = sorted({i for i in seen if seen.count(i) > 1})
        if twice:
            raise ValueError(f"each invoice appears once; {', '.join(twice)} appear more than once")
        return value


class Refund(_Model):
    """Cash paid back to the customer out of a credit note's remaining credit."""

    refund_id: Identifier
    credit_note_id: Identifier
    amount: PositiveMoney
    date: date
    reference: Line | None = Field(default=None, max_length=255)


class VersionedContact(Contact):
    version: Version


class Origin(StrEnum):
    LIVE = "live"
    HISTORY = "history"


class _Envelope(_Model):
    schema_version: Literal[1] = 1
    event_id: Identifier = Field(description="Unique per event; the same event published twice is done once")
    account_id: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$")]
    occurred_at: datetime
    origin: Origin = Field(
        default=Origin.LIVE,
        description="live (the default): something that just happened on the platform; history: part of the "
        "account's history being imported (a backfill), synced oldest first on the budget live events leave, and "
        "an invoice whose number Xero already has is matched instead of refused",
    )

    @property
    def history(self) -> bool:
        return self.origin == Origin.HISTORY


class InvoiceUpserted(_Envelope):
    type: Literal["invoice.upserted"]
    data: Invoice


class InvoiceVoided(_Envelope):
    type: Literal["invoice.voided"]
    data: InvoiceRemoved


class InvoiceDeleted(_Envelope):
    type: Literal["invoice.deleted"]
    data: InvoiceRemoved


class PaymentRecorded(_Envelope):
    type: Literal["payment.recorded"]
    data: Payment


class ContactUpserted(_Envelope):
    type: Literal["contact.upserted"]
    data: VersionedContact


class CreditNoteUpserted(_Envelope):
    type: Literal["credit_note.upserted"]
    data: CreditNote


class RefundRecorded(_Envelope):
    type: Literal["refund.recorded"]
    data: Refund


InvoiceEvent = InvoiceUpserted | InvoiceVoided | InvoiceDeleted
"""The events of one invoice's life (its version orders them); a union ``isinstance`` takes."""

Event = Annotated[
    InvoiceUpserted
    | InvoiceVoided
    | InvoiceDeleted
    | PaymentRecorded
    | ContactUpserted
    | CreditNoteUpserted
    | RefundRecorded,
    Field(discriminator="type"),
]
EVENT: TypeAdapter[Event] = TypeAdapter(Event)
EVENT_TYPES: dict[str, type[_Envelope]] = {
    "invoice.upserted": InvoiceUpserted,
    "invoice.voided": InvoiceVoided,
    "invoice.deleted": InvoiceDeleted,
    "payment.recorded": PaymentRecorded,
    "contact.upserted": ContactUpserted,
    "credit_note.upserted": CreditNoteUpserted,
    "refund.recorded": RefundRecorded,
}


def parse_event(body: str | bytes) -> Event:
    """The event in an SQS message body; pydantic's ValidationError says exactly what is wrong."""
    size = len(body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body)
    if size > MAX_EVENT_BYTES:
        raise ValidationError.from_exception_data(
            "Event",
            [
                InitErrorDetails(
                    type=PydanticCustomError(
                        "event_too_large",
                        "the message body is {size} bytes; an event is at most {limit} bytes",
                        {"size": size, "limit": MAX_EVENT_BYTES},
                    ),
                    loc=(),
                    input=None,
                )
            ],
        )
    event: Event = EVENT.validate_json(body)
    return event


def json_schemas() -> dict[str, dict[str, Any]]:
    schemas = {name: model.model_json_schema(mode="validation") for name, model in EVENT_TYPES.items()}
    schemas["event"] = EVENT.json_schema(mode="validation")
    return schemas


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in json_schemas().items():
        path = folder / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - `python -m shared.models.events [folder]`
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "events" / "schema"
    for path in write_schemas(target):
        print(path)
