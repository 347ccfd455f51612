"""Credit notes (ACCRECCREDIT sales credit notes, ACCPAYCREDIT bill credits), their allocations to
invoices and the refunds paid out of them, with Xero's rules.

A credit note is built like an invoice (lines and arithmetic of :mod:`local.xero_sandbox.lines`):
``RemainingCredit = Total - allocated - refunded``. Statuses as for invoices: created DRAFT,
SUBMITTED or AUTHORISED; DRAFT → SUBMITTED → AUTHORISED; DRAFT/SUBMITTED → DELETED; AUTHORISED →
VOIDED. An AUTHORISED credit note with nothing left to use is PAID. A credit note with allocations
or refunds takes no new status (voiding included) and its lines do not change, as for an invoice
with payments: Xero's wording for credit notes was not found, so the invoice's is used.

Allocations (``PUT /CreditNotes/{CreditNoteID}/Allocations``): each one names an invoice of the
matching type (ACCRECCREDIT → ACCREC), the same contact and currency, both AUTHORISED, an amount
above zero and at most the credit note's remaining credit and the invoice's amount due. The invoice
is PAID once nothing is due. Refunds (``PUT /Payments`` with ``CreditNote``) go only out of an
AUTHORISED credit note, at most its remaining credit, to a payable account.

Credit note numbers: Xero's documentation does not say they are unique, and the sandbox does not
enforce it; the service must (and does) never rely on a number being refused.

Messages marked *Xero's* are Xero's own words; the others are the sandbox's (Xero's were not found).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from local.xero_sandbox.contacts import ElementResult, contact_summary, failed, write_contact
from local.xero_sandbox.formats import (
    date_string,
    decimal,
    iso_timestamp,
    money,
    ms_date,
    ms_timestamp,
    number,
    parse_date,
    today,
)
from local.xero_sandbox.invoices import (
    CANNOT_CREATE_STATUS,
    EDITABLE,
    HAS_PAYMENTS,
    NEW_CONTACT,
    NOT_VALID_STATUS,
    TRANSITIONS,
    Invoice,
    currency_invalid,
    find_invoice,
)
from local.xero_sandbox.invoices import _contact as invoice_contact
from local.xero_sandbox.lines import LINE_AMOUNT_TYPES, Line, build_lines, line_json
from local.xero_sandbox.locks import date_locked, invoice_locked
from local.xero_sandbox.state import Organisation

TYPES = {"ACCRECCREDIT": "ACCREC", "ACCPAYCREDIT": "ACCPAY"}  # credit note type → the invoices it credits
CREATE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")
ZERO = Decimal(0)

WHERE_FIELDS = frozenset(
    {"CreditNoteID", "CreditNoteNumber", "Type", "Status", "Reference", "Contact.ContactID", "CurrencyCode"}
)
KNOWN_FIELDS = frozenset({"Date", "Total", "SubTotal", "TotalTax", "RemainingCredit", "UpdatedDateUTC"})

NOT_FOUND = "An existing credit note with the specified ID could not be found"
TYPE_REQUIRED = "Credit note Type must be ACCRECCREDIT or ACCPAYCREDIT."
INVALID_DATE = "Date must be a valid date (YYYY-MM-DD)."
# Xero's (waynerobinson/xeroizer#320 quotes Xero's ValidationException for an allocation):
OVER_OUTSTANDING = "Credit Note cannot be allocated as amount is greater than amount outstanding"  # Xero's
PAID_OFF = "The invoice you are trying to allocate to has already been paid off"  # Xero's
WRONG_TYPE = "Credit Note cannot be allocated to an incorrect invoice type"  # Xero's
ONLY_AUTHORISED = "Payments can only be made against Authorised documents"  # Xero's
NOT_AUTHORISED = "Credit note must be authorised before it can be allocated."
INVOICE_NOT_AUTHORISED = "The invoice must be authorised before a credit note can be allocated to it."
OVER_REMAINING = "The amount is greater than the credit note's remaining credit."
OVER_DUE = "The amount is greater than the invoice's amount due."
OTHER_CONTACT = "The credit note and the invoice must be for the same contact."
OTHER_CURRENCY = "The credit note and the invoice must be in the same currency."
AMOUNT_NOT_POSITIVE = "The amount must be greater than zero."
INVOICE_REQUIRED = "An allocation must name an invoice (Invoice.InvoiceID)."
INVOICE_NOT_FOUND = "The invoice for this allocation could not be found."


def status_blocked(status: str) -> str:
    return (
        f"The status {status} cannot be applied to the credit note because it has payments or allocations against it."
    )


@dataclass
class Allocation:
    allocation_id: str
    invoice_id: str
    amount: Decimal
    date: dt.date
    deleted: bool = False


@dataclass
class CreditNote:
    credit_note_id: str
    type: str
    contact_id: str
    number: str
    reference: str
    date: dt.date
    status: str
    line_amount_types: str
    currency_code: str
    lines: list[Line]
    updated: float
    allocations: list[Allocation] = field(default_factory=list)
    refunded: Decimal = ZERO
    refund_ids: list[str] = field(default_factory=list)

    @property
    def sub_total(self) -> Decimal:
        gross = sum((line.line_amount for line in self.lines), ZERO)
        return gross - self.total_tax if self.line_amount_types == "Inclusive" else gross

    @property
    def total_tax(self) -> Decimal:
        return sum((line.tax_amount for line in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        return self.sub_total + self.total_tax

    @property
    def allocated(self) -> Decimal:
        return sum((a.amount for a in self.allocations if not a.deleted), ZERO)

    @property
    def remaining_credit(self) -> Decimal:
        return self.total - self.allocated - self.refunded

    @property
    def used(self) -> bool:
        return any(not a.deleted for a in self.allocations) or bool(self.refund_ids)

    def settle(self) -> None:
        """AUTHORISED with nothing left is PAID; PAID with credit given back is AUTHORISED again."""
        if self.status == "AUTHORISED" and self.remaining_credit <= 0:
            self.status = "PAID"
        elif self.status == "PAID" and self.remaining_credit > 0:
            self.status = "AUTHORISED"


def credit_notes_of(org: Organisation) -> dict[str, CreditNote]:
    notes: dict[str, CreditNote] = org.extra.setdefault("credit_notes", {})
    return notes


def find_credit_note(org: Organisation, credit_note_id: str) -> CreditNote | None:
    notes = credit_notes_of(org)
    return notes.get(credit_note_id) or notes.get(credit_note_id.lower())


# --- credit notes ----------------------------------------------------------------------------


def write_credit_note(
    org: Organisation,
    element: dict[str, Any],
    *,
    create_only: bool,
    unitdp: int,
    now: float,
    target_id: str | None = None,
) -> ElementResult:
    errors: list[str] = []
    wanted = target_id or element.get("CreditNoteID")
    existing = find_credit_note(org, str(wanted)) if wanted else None
    if wanted and (existing is None or create_only):
        return _failed(element, [NOT_FOUND if existing is None else "PUT does not update a credit note."])
    note = _build(org, element, existing, unitdp=unitdp, now=now, errors=errors)
    if errors or note is None:
        return _failed(element, errors)
    if note.contact_id.startswith(NEW_CONTACT):
        given = {k: v for k, v in element["Contact"].items() if k != "ContactID"}
        note.contact_id = str(write_contact(org, given, create_only=True, now=now).body["ContactID"])
    credit_notes_of(org)[note.credit_note_id] = note
    return ElementResult(True, credit_note_json(org, note, unitdp=unitdp))


def _build(
    org: Organisation,
    element: dict[str, Any],
    existing: CreditNote | None,
    *,
    unitdp: int,
    now: float,
    errors: list[str],
) -> CreditNote | None:
    type_ = element.get("Type", existing.type if existing else None)
    if type_ not in TYPES or (existing is not None and type_ != existing.type):
        errors.append(TYPE_REQUIRED)
        return None
    status = str(element.get("Status") or (existing.status if existing else "DRAFT"))
    if existing is None:
        if status not in CREATE_STATUSES:
            errors.append(CANNOT_CREATE_STATUS)
    elif existing.used and status != existing.status:
        errors.append(status_blocked(status))
    elif existing.status not in EDITABLE or (
        status != existing.status and (existing.status, status) not in TRANSITIONS
    ):
        errors.append(NOT_VALID_STATUS)
    if existing is not None and not element.get("Contact"):
        contact_id: str | None = existing.contact_id
    else:
        contact_id = invoice_contact(org, element.get("Contact"), None, errors)
    line_amount_types = str(element.get("LineAmountTypes") or (existing.line_amount_types if existing else "Exclusive"))
    if line_amount_types not in LINE_AMOUNT_TYPES:
        errors.append(f"LineAmountTypes must be one of {', '.join(LINE_AMOUNT_TYPES)}.")
        return None
    currency = str(element.get("CurrencyCode") or (existing.currency_code if existing else org.base_currency))
    if currency != org.base_currency and currency not in org.currencies:
        errors.append(currency_invalid(currency))
    issued: dt.date | None = existing.date if existing else today(now)
    if element.get("Date"):
        issued = parse_date(element["Date"])
        if issued is None:
            errors.append(INVALID_DATE)
    errors.extend(invoice_locked(org, (existing.status, existing.date) if existing else None, status, issued))
    if "LineItems" in element:
        known_ids = {line.line_item_id for line in existing.lines} if existing else set()
        lines = build_lines(org, TYPES[type_], element["LineItems"], line_amount_types, unitdp, known_ids, errors)
    else:
        lines = list(existing.lines) if existing else []
    money_keys = [line.money_key() for line in lines]
    if existing is not None and existing.used and money_keys != [line.money_key() for line in existing.lines]:
        errors.append(HAS_PAYMENTS)
    if status in ("SUBMITTED", "AUTHORISED") and any(not line.account_code for line in lines if line.line_amount):
        errors.append("Account code must be specified on each line to submit or authorise a credit note.")
    if errors or contact_id is None or issued is None:
        return None
    note = CreditNote(
        credit_note_id=existing.credit_note_id if existing else str(uuid.uuid4()),
        type=type_,
        contact_id=contact_id,
        number=str(element.get("CreditNoteNumber") or (existing.number if existing else _next_number(org))),
        reference=str(element.get("Reference", existing.reference if existing else "")),
        date=issued,
        status=status,
        line_amount_types=line_amount_types,
        currency_code=currency,
        lines=lines,
        updated=now,
        allocations=list(existing.allocations) if existing else [],
        refunded=existing.refunded if existing else ZERO,
        refund_ids=list(existing.refund_ids) if existing else [],
    )
    if note.total < 0:
        errors.append("The total of a credit note cannot be negative.")
        return None
    note.settle()
    return note


def _next_number(org: Organisation) -> str:
    count = int(org.extra.get("next_credit_note_number", 1))
    org.extra["next_credit_note_number"] = count + 1
    return f"CN-{count:04d}"


def _failed(element: dict[str, Any], errors: list[str]) -> ElementResult:
    return failed(element, errors, flag="HasErrors")


# --- allocations ------------------------------------------------------------------------------


def allocate(org: Organisation, note: CreditNote, element: dict[str, Any], *, now: float) -> ElementResult:
    errors: list[str] = []
    given = element.get("Invoice") if isinstance(element.get("Invoice"), dict) else {}
    key = (given or {}).get("InvoiceID") or (given or {}).get("InvoiceNumber")
    invoice = find_invoice(org, str(key)) if key else None
    if not key:
        errors.append(INVOICE_REQUIRED)
    elif invoice is None:
        errors.append(INVOICE_NOT_FOUND)
    amount = decimal(element.get("Amount"))
    if amount is None or amount <= 0:
        errors.append(AMOUNT_NOT_POSITIVE)
    day = parse_date(element["Date"]) if element.get("Date") else today(now)
    if day is None:
        errors.append(INVALID_DATE)
    else:
        errors.extend(date_locked(org, day))
    if note.status != "AUTHORISED":
        errors.append(NOT_AUTHORISED)
    if invoice is not None:
        errors.extend(_invoice_problems(note, invoice))
        if amount is not None and amount > 0:
            if money(amount) > note.remaining_credit:
                errors.append(OVER_REMAINING)
            if invoice.status == "PAID" or invoice.amount_due <= 0:
                errors.append(PAID_OFF)
            elif money(amount) > invoice.amount_due:
                errors.append(OVER_OUTSTANDING)
    if errors or invoice is None or amount is None or day is None:
        return failed(element, errors)
    allocation = Allocation(str(uuid.uuid4()), invoice.invoice_id, money(amount), day)
    note.allocations.append(allocation)
    note.updated = invoice.updated = now
    invoice.amount_credited += allocation.amount
    if invoice.amount_due <= 0:
        invoice.status = "PAID"
        invoice.fully_paid_on = day
    note.settle()
    return ElementResult(True, allocation_json(org, note, allocation))


def _invoice_problems(note: CreditNote, invoice: Invoice) -> list[str]:
    problems = []
    if invoice.type != TYPES[note.type]:
        problems.append(WRONG_TYPE)
    if invoice.contact_id != note.contact_id:
        problems.append(OTHER_CONTACT)
    if invoice.currency_code != note.currency_code:
        problems.append(OTHER_CURRENCY)
    if invoice.status not in ("AUTHORISED", "PAID"):
        problems.append(INVOICE_NOT_AUTHORISED)
    return problems


# --- refunds (PUT /Payments with a CreditNote) -------------------------------------------------


def refund_problems(note: CreditNote | None, amount: Decimal | None) -> list[str]:
    """Why a refund of ``amount`` cannot be paid out of ``note`` (empty when it can)."""
    if note is None:
        return ["The credit note for this payment could not be found."]
    if note.status != "AUTHORISED":
        return [ONLY_AUTHORISED]
    if amount is not None and money(amount) > note.remaining_credit:
        return ["Payment amount exceeds the amount outstanding on this document"]  # Xero's (payments.py)
    return []


def record_refund(note: CreditNote, payment_id: str, amount: Decimal, now: float) -> None:
    note.refund_ids.append(payment_id)
    note.refunded += amount
    note.updated = now
    note.settle()


def remove_refund(note: CreditNote, payment_id: str, amount: Decimal, now: float) -> None:
    note.refund_ids.remove(payment_id)
    note.refunded -= amount
    note.updated = now
    note.settle()


# --- answers -------------------------------------------------------------------------------------


def filter_fields(note: CreditNote) -> dict[str, Any]:
    return {
        "CreditNoteID": note.credit_note_id,
        "CreditNoteNumber": note.number,
        "Type": note.type,
        "Status": note.status,
        "Reference": note.reference,
        "Contact.ContactID": note.contact_id,
        "CurrencyCode": note.currency_code,
    }


def credit_note_json(
    org: Organisation, note: CreditNote, *, unitdp: int = 2, with_lines: bool = True
) -> dict[str, Any]:
    contact = org.contacts.get(note.contact_id, {"ContactID": note.contact_id})
    body: dict[str, Any] = {
        "Type": note.type,
        "CreditNoteID": note.credit_note_id,
        "CreditNoteNumber": note.number,
        "Reference": note.reference,
        "Contact": contact_summary(contact) if "Name" in contact else {"ContactID": note.contact_id},
        "DateString": date_string(note.date),
        "Date": ms_date(note.date),
        "Status": note.status,
        "LineAmountTypes": note.line_amount_types,
        "SubTotal": number(note.sub_total),
        "TotalTax": number(note.total_tax),
        "Total": number(note.total),
        "RemainingCredit": number(note.remaining_credit),
        "CurrencyCode": note.currency_code,
        "CurrencyRate": 1.0,
        "UpdatedDateUTC": ms_timestamp(note.updated),
        "UpdatedDateUTCString": iso_timestamp(note.updated) + "Z",
        "Allocations": [_allocation_summary(org, a) for a in note.allocations if not a.deleted],
        "Payments": [_refund_summary(org, p) for p in note.refund_ids if p in org.payments],
        "HasErrors": False,
    }
    if with_lines:
        body["LineItems"] = [line_json(line, unitdp) for line in note.lines]
    return body


def _refund_summary(org: Organisation, payment_id: str) -> dict[str, Any]:
    payment = org.payments[payment_id]
    return {
        "PaymentID": payment.payment_id,
        "Date": ms_date(payment.date),
        "Amount": number(payment.amount),
        "Reference": payment.reference,
        "CurrencyRate": 1.0,
        "HasAccount": False,
        "HasValidationErrors": False,
    }


def _allocation_summary(org: Organisation, allocation: Allocation) -> dict[str, Any]:
    invoice: Invoice = org.invoices[allocation.invoice_id]
    return {
        "AllocationID": allocation.allocation_id,
        "Amount": number(allocation.amount),
        "Date": ms_date(allocation.date),
        "Invoice": {"InvoiceID": invoice.invoice_id, "InvoiceNumber": invoice.number},
    }


def allocation_json(org: Organisation, note: CreditNote, allocation: Allocation) -> dict[str, Any]:
    invoice: Invoice = org.invoices[allocation.invoice_id]
    return {
        "AllocationID": allocation.allocation_id,
        "Amount": number(allocation.amount),
        "Date": ms_date(allocation.date),
        "Invoice": {
            "InvoiceID": invoice.invoice_id,
            "InvoiceNumber": invoice.number,
            "Status": invoice.status,
            "AmountDue": number(invoice.amount_due),
            "AmountCredited": number(invoice.amount_credited),
        },
        "CreditNote": {
            "CreditNoteID": note.credit_note_id,
            "CreditNoteNumber": note.number,
            "Status": note.status,
            "RemainingCredit": number(note.remaining_credit),
        },
        "IsDeleted": False,
    }


def credited_summaries(org: Organisation, invoice_id: str) -> list[dict[str, Any]]:
    """The credit notes allocated to an invoice, as Xero lists them on it (``CreditNotes``)."""
    found = []
    for note in credit_notes_of(org).values():
        applied = sum((a.amount for a in note.allocations if not a.deleted and a.invoice_id == invoice_id), ZERO)
        if applied:
            found.append(
                {
                    "CreditNoteID": note.credit_note_id,
                    "CreditNoteNumber": note.number,
                    "AppliedAmount": number(applied),
                    "Total": number(note.total),
                }
            )
    return found
