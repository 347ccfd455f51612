"""Invoices (ACCREC sales invoices and ACCPAY bills), with Xero's rules and arithmetic.

Lines and their arithmetic are in :mod:`local.xero_sandbox.lines`. ``SubTotal`` is the sum of line
amounts net of tax, ``Total = SubTotal + TotalTax``, ``AmountDue = Total - AmountPaid - AmountCredited``.

Statuses: created DRAFT (default), SUBMITTED or AUTHORISED. DRAFT → SUBMITTED → AUTHORISED;
DRAFT/SUBMITTED → DELETED; AUTHORISED → VOIDED; PAID, VOIDED and DELETED invoices cannot change.
An invoice with payments takes no new status at all, voiding included: "The status VOIDED cannot be
applied to the invoice because it has payments or credit notes allocated to it." (Xero's, as Xero
integrations list it: eileenmcnaughton/nz.co.fuzion.civixero CRM/Civixero/Invoice.php has the
SUBMITTED, AUTHORISED and DRAFT forms; LanternOps/breeze the VOIDED one), and its lines do not change
("This document cannot be edited as it has a payment or credit note allocated to it."). Authorising
needs a due date and an account on every line. Lock dates: see :mod:`local.xero_sandbox.locks`.

Messages marked *Xero's* are Xero's own words; the others are the sandbox's (Xero's were not found).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from local.xero_sandbox.contacts import (
    READ_ONLY,
    ElementResult,
    contact_summary,
    failed,
    find_contact,
    rule_errors,
    write_contact,
)
from local.xero_sandbox.formats import (
    date_string,
    iso_timestamp,
    money,
    ms_date,
    ms_timestamp,
    number,
    parse_date,
    today,
)
from local.xero_sandbox.lines import LINE_AMOUNT_TYPES, Line, build_lines, line_json
from local.xero_sandbox.locks import invoice_locked
from local.xero_sandbox.state import Organisation

TYPES = ("ACCREC", "ACCPAY")
CREATE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")
EDITABLE = ("DRAFT", "SUBMITTED", "AUTHORISED")
# (from, to) pairs Xero allows when a status is posted; staying put is always allowed while editable.
TRANSITIONS = {
    ("DRAFT", "SUBMITTED"),
    ("DRAFT", "AUTHORISED"),
    ("DRAFT", "DELETED"),
    ("SUBMITTED", "AUTHORISED"),
    ("SUBMITTED", "DELETED"),
    ("AUTHORISED", "VOIDED"),
}
ZERO = Decimal(0)
NEW_CONTACT = "new-contact:"

WHERE_FIELDS = frozenset(
    {
        "InvoiceID",
        "InvoiceNumber",
        "Type",
        "Status",
        "Reference",
        "Contact.ContactID",
        "Contact.Name",
        "Contact.ContactNumber",
        "CurrencyCode",
        "LineAmountTypes",
    }
)
# Invoice's other fields (xero_accounting.yaml): Xero filters on them, the sandbox does not.
KNOWN_FIELDS = frozenset(
    {
        "AmountCredited",
        "AmountDue",
        "AmountPaid",
        "BrandingThemeID",
        "CurrencyRate",
        "Date",
        "DueDate",
        "ExpectedPaymentDate",
        "FullyPaidOnDate",
        "HasAttachments",
        "IsDiscounted",
        "PlannedPaymentDate",
        "SentToContact",
        "SubTotal",
        "Total",
        "TotalDiscount",
        "TotalTax",
        "UpdatedDateUTC",
        "Url",
    }
)

NUMBER_TAKEN = "Invoice # must be unique."  # Xero's
NOT_VALID_STATUS = "Invoice not of valid status for modification"  # Xero's
HAS_PAYMENTS = "This document cannot be edited as it has a payment or credit note allocated to it."  # Xero's
CONTACT_REQUIRED = "A Contact must be specified for this type of transaction"  # Xero's
INVOICE_NOT_FOUND = "An existing invoice with the specified ID could not be found"  # Xero's
TYPE_REQUIRED = "Invoice Type must be ACCREC or ACCPAY."
DUE_DATE_REQUIRED = "Due Date is required to authorise an invoice."
ACCOUNT_REQUIRED = "Account code must be specified on each line to submit or authorise an invoice."
CANNOT_CREATE_STATUS = "Invoice not of valid status for creation"
INVALID_DATE = "Date must be a valid date (YYYY-MM-DD)."


def status_blocked_by_payments(status: str) -> str:  # Xero's
    return (
        f"The status {status} cannot be applied to the invoice because it has payments or credit notes allocated to it."
    )


def currency_invalid(code: str) -> str:
    return f"The currency {code} is not enabled for this organisation."


def contact_not_found(contact_id: str) -> str:
    return f"The contact with ContactID {contact_id} could not be found."


@dataclass
class Invoice:
    invoice_id: str
    type: str
    contact_id: str
    number: str
    reference: str
    date: dt.date
    due_date: dt.date | None
    status: str
    line_amount_types: str
    currency_code: str
    lines: list[Line]
    updated: float
    extra: dict[str, Any] = field(default_factory=dict)  # Url, BrandingThemeID, SentToContact, …
    amount_paid: Decimal = ZERO
    amount_credited: Decimal = ZERO
    fully_paid_on: dt.date | None = None
    payment_ids: list[str] = field(default_factory=list)
    created_by: str = ""  # the client id of the app that created it (createdByMyApp=true)

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
    def amount_due(self) -> Decimal:
        return self.total - self.amount_paid - self.amount_credited

    @property
    def total_discount(self) -> Decimal:
        return money(
            sum(
                (line.quantity * line.unit_amount - line.line_amount for line in self.lines if line.discounted),
                ZERO,
            )
        )


def write_invoice(
    org: Organisation,
    element: dict[str, Any],
    *,
    create_only: bool,
    unitdp: int,
    now: float,
    target_id: str | None = None,
    client_id: str = "",
) -> ElementResult:
    """Create or update one invoice from one element of ``{"Invoices": [...]}``, or explain why not.
    ``client_id`` is the app writing it: a new invoice remembers it (``createdByMyApp``)."""
    errors: list[str] = []
    existing = _target(org, element, create_only=create_only, target_id=target_id, errors=errors)
    if errors:
        return _failed(element, errors)
    draft = _build(org, element, existing, unitdp=unitdp, now=now, errors=errors)
    if errors or draft is None:
        return _failed(element, errors)
    draft.created_by = existing.created_by if existing else client_id
    _commit(org, draft, existing, element)
    return ElementResult(True, invoice_json(org, draft, unitdp=unitdp))


def _target(
    org: Organisation, element: dict[str, Any], *, create_only: bool, target_id: str | None, errors: list[str]
) -> Invoice | None:
    invoice_id = target_id or element.get("InvoiceID")
    if invoice_id:
        found = find_invoice(org, str(invoice_id))
        if found is None or create_only:
            # PUT never updates; an unknown ID is an error either way.
            errors.append(INVOICE_NOT_FOUND if found is None else NUMBER_TAKEN)
        return found
    number_ = element.get("InvoiceNumber")
    if isinstance(number_, str) and number_ and element.get("Type", "ACCREC") == "ACCREC":
        found_id = org.invoice_numbers.get(number_)
        if found_id is not None:
            if create_only:
                errors.append(NUMBER_TAKEN)
                return None
            return find_invoice(org, found_id)  # POST by InvoiceNumber updates that invoice, as at Xero
    return None


def _build(
    org: Organisation,
    element: dict[str, Any],
    existing: Invoice | None,
    *,
    unitdp: int,
    now: float,
    errors: list[str],
) -> Invoice | None:
    type_ = element.get("Type", existing.type if existing else None)
    if type_ not in TYPES or (existing is not None and type_ != existing.type):
        errors.append(TYPE_REQUIRED)
        return None
    status = str(element.get("Status") or (existing.status if existing else "DRAFT"))
    _status_errors(existing, status, errors)

    contact_id = _contact(org, element.get("Contact"), existing, errors)
    number_ = _number(org, type_, element, existing, errors)
    line_amount_types = str(element.get("LineAmountTypes") or (existing.line_amount_types if existing else "Exclusive"))
    if line_amount_types not in LINE_AMOUNT_TYPES:
        errors.append(f"LineAmountTypes must be one of {', '.join(LINE_AMOUNT_TYPES)}.")
        return None
    currency = str(element.get("CurrencyCode") or (existing.currency_code if existing else org.base_currency))
    if currency != org.base_currency and currency not in org.currencies:
        errors.append(currency_invalid(currency))

    invoice_date = _date(element, "Date", existing.date if existing else today(now), errors)
    due_date = _date(element, "DueDate", existing.due_date if existing else None, errors)
    errors.extend(invoice_locked(org, (existing.status, existing.date) if existing else None, status, invoice_date))
    if "LineItems" in element:
        known_ids = {line.line_item_id for line in existing.lines} if existing else set()
        lines = build_lines(org, type_, element["LineItems"], line_amount_types, unitdp, known_ids, errors)
    else:
        lines = list(existing.lines) if existing else []
    paid_or_credited = existing is not None and (existing.payment_ids or existing.amount_credited)
    if existing is not None and existing.status == "AUTHORISED" and paid_or_credited and status != "VOIDED":
        changed = [line.money_key() for line in lines] != [line.money_key() for line in existing.lines]
        if changed:
            errors.append(HAS_PAYMENTS)
    if status == "AUTHORISED" and due_date is None:
        errors.append(DUE_DATE_REQUIRED)
    if status in ("SUBMITTED", "AUTHORISED") and any(not line.account_code for line in lines if line.line_amount):
        errors.append(ACCOUNT_REQUIRED)
    if errors or contact_id is None or invoice_date is None:
        return None

    extra = dict(existing.extra) if existing else {}
    for name in ("Url", "BrandingThemeID", "SentToContact", "ExpectedPaymentDate", "PlannedPaymentDate"):
        if name in element:
            extra[name] = element[name]
    return Invoice(
        invoice_id=existing.invoice_id if existing else str(uuid.uuid4()),
        type=type_,
        contact_id=contact_id,
        number=number_,
        reference=str(element.get("Reference", existing.reference if existing else "")),
        date=invoice_date,
        due_date=due_date,
        status=status,
        line_amount_types=line_amount_types,
        currency_code=currency,
        lines=lines,
        updated=now,
        extra=extra,
        amount_paid=existing.amount_paid if existing else ZERO,
        amount_credited=existing.amount_credited if existing else ZERO,
        fully_paid_on=existing.fully_paid_on if existing else None,
        payment_ids=list(existing.payment_ids) if existing else [],
    )


def _status_errors(existing: Invoice | None, status: str, errors: list[str]) -> None:
    if existing is None:
        if status not in CREATE_STATUSES:
            errors.append(CANNOT_CREATE_STATUS)
        return
    if (existing.payment_ids or existing.amount_credited) and status != existing.status:
        # voiding included: payments and credit note allocations must be removed first
        errors.append(status_blocked_by_payments(status))
    elif existing.status not in EDITABLE or (
        status != existing.status and (existing.status, status) not in TRANSITIONS
    ):
        errors.append(NOT_VALID_STATUS)


def _contact(org: Organisation, given: Any, existing: Invoice | None, errors: list[str]) -> str | None:
    if not isinstance(given, dict) or not given:
        if existing is not None:
            return existing.contact_id
        errors.append(CONTACT_REQUIRED)
        return None
    if given.get("ContactID"):
        found = find_contact(org, str(given["ContactID"]))
        if found is None:
            errors.append(contact_not_found(str(given["ContactID"])))
            return None
        return str(found["ContactID"])
    if given.get("ContactNumber"):
        found = next((c for c in org.contacts.values() if c.get("ContactNumber") == given["ContactNumber"]), None)
        if found is not None:
            return str(found["ContactID"])
    name = str(given.get("Name") or "").strip()
    if not name:
        errors.append(CONTACT_REQUIRED)
        return None
    found = next(
        (
            c
            for c in org.contacts.values()
            if c.get("ContactStatus", "ACTIVE") == "ACTIVE" and str(c.get("Name", "")).casefold() == name.casefold()
        ),
        None,
    )
    if found is not None:
        return str(found["ContactID"])
    # As Xero does: a contact named on an invoice that matches none is created with the invoice
    # (only once the invoice itself is accepted, see _commit).
    problems = rule_errors(org, {k: v for k, v in given.items() if k not in READ_ONLY}, contact_id="")
    if problems:
        errors.extend(problems)
        return None
    return f"{NEW_CONTACT}{name}"


def _number(org: Organisation, type_: str, element: dict[str, Any], existing: Invoice | None, errors: list[str]) -> str:
    given = element.get("InvoiceNumber")
    if not isinstance(given, str) or not given:
        if existing is not None:
            return existing.number
        if type_ == "ACCPAY":
            return ""
        while f"INV-{org.next_invoice_number:04d}" in org.invoice_numbers:
            org.next_invoice_number += 1
        return f"INV-{org.next_invoice_number:04d}"
    if type_ == "ACCREC":
        holder = org.invoice_numbers.get(given)
        if holder is not None and (existing is None or holder != existing.invoice_id):
            errors.append(NUMBER_TAKEN)
    return given


def _date(element: dict[str, Any], name: str, default: dt.date | None, errors: list[str]) -> dt.date | None:
    if name not in element or element[name] in (None, ""):
        return default
    parsed = parse_date(element[name])
    if parsed is None:
        errors.append(INVALID_DATE.replace("Date", name, 1))
    return parsed


def _commit(org: Organisation, invoice: Invoice, existing: Invoice | None, element: dict[str, Any]) -> None:
    if invoice.contact_id.startswith(NEW_CONTACT):
        given = {k: v for k, v in element["Contact"].items() if k != "ContactID"}
        created = write_contact(org, given, create_only=True, now=invoice.updated)
        invoice.contact_id = str(created.body["ContactID"])
    if existing is not None and existing.number and org.invoice_numbers.get(existing.number) == existing.invoice_id:
        del org.invoice_numbers[existing.number]
    if invoice.type == "ACCREC" and invoice.number:
        org.invoice_numbers[invoice.number] = invoice.invoice_id
    org.invoices[invoice.invoice_id] = invoice
    contact = org.contacts.get(invoice.contact_id)
    if contact is not None and invoice.status not in ("DELETED",):
        contact["IsCustomer" if invoice.type == "ACCREC" else "IsSupplier"] = True


def _failed(element: dict[str, Any], errors: list[str]) -> ElementResult:
    return failed(element, errors, flag="HasErrors")


def find_invoice(org: Organisation, id_or_number: str) -> Invoice | None:
    """By InvoiceID (any case) or, as ``GET /Invoices/{InvoiceNumber}`` allows, by sales invoice number."""
    found = org.invoices.get(id_or_number) or org.invoices.get(id_or_number.lower())
    if found is None and id_or_number in org.invoice_numbers:
        found = org.invoices.get(org.invoice_numbers[id_or_number])
    return found if isinstance(found, Invoice) else None


def filter_fields(org: Organisation, invoice: Invoice) -> dict[str, Any]:
    """What ``where=`` may compare (:data:`WHERE_FIELDS`)."""
    contact = org.contacts.get(invoice.contact_id, {})
    return {
        "InvoiceID": invoice.invoice_id,
        "InvoiceNumber": invoice.number,
        "Type": invoice.type,
        "Status": invoice.status,
        "Reference": invoice.reference,
        "Contact.ContactID": invoice.contact_id,
        "Contact.Name": contact.get("Name"),
        "Contact.ContactNumber": contact.get("ContactNumber"),
        "CurrencyCode": invoice.currency_code,
        "LineAmountTypes": invoice.line_amount_types,
    }


SUMMARY_OMITS = ("Payments", "CreditNotes", "Prepayments", "Overpayments")  # and LineItems


def invoice_json(
    org: Organisation, invoice: Invoice, *, unitdp: int = 2, with_lines: bool = True, summary: bool = False
) -> dict[str, Any]:
    """The invoice as Xero answers it. ``summary`` (``summaryOnly=true``) leaves out its lines and the
    payments, credit notes, prepayments and overpayments allocated to it (:data:`SUMMARY_OMITS`)."""
    contact = org.contacts.get(invoice.contact_id, {"ContactID": invoice.contact_id})
    body: dict[str, Any] = {
        "Type": invoice.type,
        "InvoiceID": invoice.invoice_id,
        "InvoiceNumber": invoice.number,
        "Reference": invoice.reference,
        "Payments": [_payment_summary(org, pid) for pid in invoice.payment_ids if pid in org.payments],
        "CreditNotes": [],
        "Prepayments": [],
        "Overpayments": [],
        "AmountDue": number(invoice.amount_due),
        "AmountPaid": number(invoice.amount_paid),
        "AmountCredited": number(invoice.amount_credited),
        "CurrencyRate": 1.0,
        "IsDiscounted": any(line.discounted for line in invoice.lines),
        "HasAttachments": False,
        "HasErrors": False,
        "Contact": contact_summary(contact) if "Name" in contact else {"ContactID": invoice.contact_id},
        "DateString": date_string(invoice.date),
        "Date": ms_date(invoice.date),
        "Status": invoice.status,
        "LineAmountTypes": invoice.line_amount_types,
        "SubTotal": number(invoice.sub_total),
        "TotalTax": number(invoice.total_tax),
        "Total": number(invoice.total),
        "TotalDiscount": number(invoice.total_discount),
        "UpdatedDateUTC": ms_timestamp(invoice.updated),
        "UpdatedDateUTCString": iso_timestamp(invoice.updated) + "Z",
        "CurrencyCode": invoice.currency_code,
    }
    if invoice.due_date is not None:
        body["DueDateString"] = date_string(invoice.due_date)
        body["DueDate"] = ms_date(invoice.due_date)
    if invoice.fully_paid_on is not None:
        body["FullyPaidOnDate"] = ms_date(invoice.fully_paid_on)
    body.update(invoice.extra)
    if summary:
        for omitted in SUMMARY_OMITS:
            del body[omitted]
    elif with_lines:
        body["LineItems"] = [line_json(line, unitdp) for line in invoice.lines]
    return body


def _payment_summary(org: Organisation, payment_id: str) -> dict[str, Any]:
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
