"""Payments against invoices, with Xero's rules.

A payment names its invoice (``Invoice.InvoiceID``, ``Invoice.InvoiceNumber`` or ``InvoiceNumber``)
and its account (``Account.AccountID``, ``Account.Code`` or ``Code``). It is refused unless the
invoice is AUTHORISED, the account is a BANK account or has ``EnablePaymentsToAccount``, and the
amount is positive and at most the amount due. Paying the whole amount due makes the invoice PAID.
Deleting a payment (posting ``Status: DELETED``) gives the amount back to the invoice, which returns
to AUTHORISED if it was PAID.

Messages marked *Xero's* are Xero's own words; the others are the sandbox's (Xero's were not found).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from local.xero_sandbox import credit_notes
from local.xero_sandbox.contacts import ElementResult, contact_summary, failed
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
from local.xero_sandbox.invoices import Invoice, find_invoice
from local.xero_sandbox.locks import date_locked, edit_locked
from local.xero_sandbox.state import Organisation

WHERE_FIELDS = frozenset(
    {"PaymentID", "Invoice.InvoiceID", "CreditNote.CreditNoteID", "Status", "Reference", "PaymentType"}
)
# Payment's other fields (xero_accounting.yaml): Xero filters on them, the sandbox does not.
KNOWN_FIELDS = frozenset({"Amount", "BankAmount", "Date", "IsReconciled", "UpdatedDateUTC", "Invoice.InvoiceNumber"})

ONLY_AUTHORISED = "Payments can only be made against Authorised documents"  # Xero's
EXCEEDS_DUE = "Payment amount exceeds the amount outstanding on this document"  # Xero's
ACCOUNT_REQUIRED = "You must specify and Account code or Account ID for the payment"  # Xero's (sic)
ACCOUNT_TYPE_INVALID = "Account type is invalid for making a payment to/from"  # Xero's
INVOICE_REQUIRED = "You must specify an Invoice ID or Invoice Number for the payment."
INVOICE_NOT_FOUND = "The invoice for this payment could not be found."
ACCOUNT_NOT_FOUND = "The account for this payment could not be found."
AMOUNT_NOT_POSITIVE = "Payment amount must be greater than zero."
PAYMENT_NOT_FOUND = "The payment could not be found."
ALREADY_DELETED = "This payment has already been deleted."
ONLY_DELETE = "A payment can only be changed by setting its Status to DELETED."
INVALID_DATE = "Date must be a valid date (YYYY-MM-DD)."


@dataclass
class Payment:
    payment_id: str
    invoice_id: str
    account_id: str
    date: dt.date
    amount: Decimal
    reference: str
    status: str
    updated: float
    payment_type: str
    credit_note_id: str = ""  # a refund out of a credit note (invoice_id is then empty)


def create_payment(org: Organisation, element: dict[str, Any], *, now: float) -> ElementResult:
    if isinstance(element.get("CreditNote"), dict) and not element.get("Invoice"):
        return _refund(org, element, now=now)
    errors: list[str] = []
    invoice = _invoice(org, element, errors)
    account = _account(org, element, errors)
    amount = decimal(element.get("Amount"))
    paid_on: dt.date | None = parse_date(element["Date"]) if element.get("Date") else today(now)
    if paid_on is None:
        errors.append(INVALID_DATE)
    else:
        errors.extend(date_locked(org, paid_on))
    if amount is None or amount <= 0:
        errors.append(AMOUNT_NOT_POSITIVE)
    if invoice is not None:
        if invoice.status != "AUTHORISED":
            errors.append(ONLY_AUTHORISED)
        elif amount is not None and money(amount) > invoice.amount_due:
            errors.append(EXCEEDS_DUE)
    if errors or invoice is None or account is None or amount is None or paid_on is None:
        return failed(element, errors)
    payment = Payment(
        payment_id=str(uuid.uuid4()),
        invoice_id=invoice.invoice_id,
        account_id=account["AccountID"],
        date=paid_on,
        amount=money(amount),
        reference=str(element.get("Reference", "")),
        status="AUTHORISED",
        updated=now,
        payment_type="ACCRECPAYMENT" if invoice.type == "ACCREC" else "ACCPAYPAYMENT",
    )
    org.payments[payment.payment_id] = payment
    invoice.payment_ids.append(payment.payment_id)
    invoice.amount_paid += payment.amount
    invoice.updated = now
    if invoice.amount_due <= 0:
        invoice.status = "PAID"
        invoice.fully_paid_on = paid_on
    return ElementResult(True, payment_json(org, payment))


def _refund(org: Organisation, element: dict[str, Any], *, now: float) -> ElementResult:
    """Cash paid back out of a credit note's remaining credit (Xero's ARCREDITPAYMENT)."""
    given: dict[str, Any] = element["CreditNote"]
    key = given.get("CreditNoteID") or given.get("CreditNoteNumber")
    note = credit_notes.find_credit_note(org, str(key)) if key else None
    errors: list[str] = []
    account = _account(org, element, errors)
    amount = decimal(element.get("Amount"))
    paid_on: dt.date | None = parse_date(element["Date"]) if element.get("Date") else today(now)
    if paid_on is None:
        errors.append(INVALID_DATE)
    else:
        errors.extend(date_locked(org, paid_on))
    if amount is None or amount <= 0:
        errors.append(AMOUNT_NOT_POSITIVE)
    errors.extend(credit_notes.refund_problems(note, amount))
    if errors or note is None or account is None or amount is None or paid_on is None:
        return failed(element, errors)
    payment = Payment(
        payment_id=str(uuid.uuid4()),
        invoice_id="",
        account_id=account["AccountID"],
        date=paid_on,
        amount=money(amount),
        reference=str(element.get("Reference", "")),
        status="AUTHORISED",
        updated=now,
        payment_type="ARCREDITPAYMENT" if note.type == "ACCRECCREDIT" else "APCREDITPAYMENT",
        credit_note_id=note.credit_note_id,
    )
    org.payments[payment.payment_id] = payment
    credit_notes.record_refund(note, payment.payment_id, payment.amount, now)
    return ElementResult(True, payment_json(org, payment))


def delete_payment(org: Organisation, payment_id: str, element: dict[str, Any], *, now: float) -> ElementResult:
    payment = find_payment(org, payment_id)
    if payment is None:
        return failed(element, [PAYMENT_NOT_FOUND])
    if element.get("Status") != "DELETED":
        return failed(element, [ONLY_DELETE])
    if payment.status == "DELETED":
        return failed(element, [ALREADY_DELETED])
    locked = edit_locked(org, payment.date)
    if locked:
        return failed(element, locked)
    payment.status = "DELETED"
    payment.updated = now
    if payment.credit_note_id:
        note = credit_notes.find_credit_note(org, payment.credit_note_id)
        assert note is not None
        credit_notes.remove_refund(note, payment.payment_id, payment.amount, now)
        return ElementResult(True, payment_json(org, payment))
    invoice: Invoice = org.invoices[payment.invoice_id]
    invoice.payment_ids.remove(payment.payment_id)
    invoice.amount_paid -= payment.amount
    invoice.updated = now
    if invoice.status == "PAID" and invoice.amount_due > 0:
        invoice.status = "AUTHORISED"
        invoice.fully_paid_on = None
    return ElementResult(True, payment_json(org, payment))


def _invoice(org: Organisation, element: dict[str, Any], errors: list[str]) -> Invoice | None:
    given: dict[str, Any] = element["Invoice"] if isinstance(element.get("Invoice"), dict) else {}
    key = given.get("InvoiceID") or given.get("InvoiceNumber") or element.get("InvoiceNumber")
    if not key:
        errors.append(INVOICE_REQUIRED)
        return None
    found = find_invoice(org, str(key))
    if found is None:
        errors.append(INVOICE_NOT_FOUND)
    return found


def _account(org: Organisation, element: dict[str, Any], errors: list[str]) -> dict[str, Any] | None:
    given: dict[str, Any] = element["Account"] if isinstance(element.get("Account"), dict) else {}
    account_id, code = given.get("AccountID"), given.get("Code") or element.get("Code")
    if not account_id and not code:
        errors.append(ACCOUNT_REQUIRED)
        return None
    account = org.account_by_id(str(account_id)) if account_id else org.account_by_code(str(code))
    if account is None:
        errors.append(ACCOUNT_NOT_FOUND)
        return None
    payable = account.get("Type") == "BANK" or bool(account.get("EnablePaymentsToAccount"))
    if not payable or account.get("Status") != "ACTIVE":
        errors.append(ACCOUNT_TYPE_INVALID)
        return None
    return account


def find_payment(org: Organisation, payment_id: str) -> Payment | None:
    found = org.payments.get(payment_id) or org.payments.get(payment_id.lower())
    return found if isinstance(found, Payment) else None


def filter_fields(payment: Payment) -> dict[str, Any]:
    return {
        "PaymentID": payment.payment_id,
        "Invoice.InvoiceID": payment.invoice_id,
        "CreditNote.CreditNoteID": payment.credit_note_id,
        "Status": payment.status,
        "Reference": payment.reference,
        "PaymentType": payment.payment_type,
    }


def payment_json(org: Organisation, payment: Payment) -> dict[str, Any]:
    account = org.account_by_id(payment.account_id) or {}
    if payment.credit_note_id:
        return _refund_json(org, payment, account)
    invoice: Invoice = org.invoices[payment.invoice_id]
    contact = org.contacts.get(invoice.contact_id, {"ContactID": invoice.contact_id, "Name": ""})
    return {
        "PaymentID": payment.payment_id,
        "Date": ms_date(payment.date),
        "BankAmount": number(payment.amount),
        "Amount": number(payment.amount),
        "Reference": payment.reference,
        "CurrencyRate": 1.0,
        "PaymentType": payment.payment_type,
        "Status": payment.status,
        "UpdatedDateUTC": ms_timestamp(payment.updated),
        "UpdatedDateUTCString": iso_timestamp(payment.updated) + "Z",
        "HasAccount": True,
        "IsReconciled": False,
        "Account": {"AccountID": account.get("AccountID"), "Code": account.get("Code"), "Name": account.get("Name")},
        "Invoice": {
            "Type": invoice.type,
            "InvoiceID": invoice.invoice_id,
            "InvoiceNumber": invoice.number,
            "Reference": invoice.reference,
            "AmountDue": number(invoice.amount_due),
            "AmountPaid": number(invoice.amount_paid),
            "Status": invoice.status,
            "DateString": date_string(invoice.date),
            "Date": ms_date(invoice.date),
            "Contact": contact_summary(contact),
            "CurrencyCode": invoice.currency_code,
        },
        "HasValidationErrors": False,
    }


def _refund_json(org: Organisation, payment: Payment, account: dict[str, Any]) -> dict[str, Any]:
    note = credit_notes.find_credit_note(org, payment.credit_note_id)
    assert note is not None
    contact = org.contacts.get(note.contact_id, {"ContactID": note.contact_id, "Name": ""})
    return {
        "PaymentID": payment.payment_id,
        "Date": ms_date(payment.date),
        "BankAmount": number(payment.amount),
        "Amount": number(payment.amount),
        "Reference": payment.reference,
        "CurrencyRate": 1.0,
        "PaymentType": payment.payment_type,
        "Status": payment.status,
        "UpdatedDateUTC": ms_timestamp(payment.updated),
        "UpdatedDateUTCString": iso_timestamp(payment.updated) + "Z",
        "HasAccount": True,
        "IsReconciled": False,
        "Account": {"AccountID": account.get("AccountID"), "Code": account.get("Code"), "Name": account.get("Name")},
        "CreditNote": {
            "CreditNoteID": note.credit_note_id,
            "CreditNoteNumber": note.number,
            "Status": note.status,
            "RemainingCredit": number(note.remaining_credit),
            "Total": number(note.total),
            "Contact": contact_summary(contact),
            "CurrencyCode": note.currency_code,
        },
        "HasValidationErrors": False,
    }
