"""Platform events → Xero request elements, with every rule the push can check before calling Xero.

Each function returns the element exactly as Xero's official schema names it (the Xero sandbox
validates every request body against that schema), or raises :class:`Rejected` saying what is
wrong and how to fix it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from typing import Any

from shared.domain.xero_math import UNIT, Line, cents, xero_totals
from shared.errors import Rejected
from shared.models.events import AmountsAre, Contact, Invoice, InvoiceStatus, Payment
from shared.models.settings import AccountSettings, PaymentAccount

LINE_AMOUNT_TYPES = {
    AmountsAre.TAX_EXCLUSIVE: "Exclusive",
    AmountsAre.TAX_INCLUSIVE: "Inclusive",
    AmountsAre.NO_TAX: "NoTax",
}
ADDRESS_TYPES = {"billing": "POBOX", "street": "STREET"}
# Xero invoice statuses an event cannot move away from.
FINAL = frozenset({"VOIDED", "DELETED"})
EDITABLE = frozenset({"DRAFT", "SUBMITTED"})


def contact_element(contact: Contact, *, xero_contact_id: str | None, name: str) -> dict[str, Any]:
    element: dict[str, Any] = {
        "ContactID": xero_contact_id,
        "ContactNumber": contact.contact_id,
        "Name": name,
        "FirstName": contact.first_name,
        "LastName": contact.last_name,
        "EmailAddress": contact.email,
        "TaxNumber": contact.tax_number,
    }
    if contact.phone:
        element["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": contact.phone}]
    if contact.addresses:
        element["Addresses"] = [
            _without_none(
                {
                    "AddressType": ADDRESS_TYPES[a.kind],
                    "AddressLine1": a.line1,
                    "AddressLine2": a.line2,
                    "AddressLine3": a.line3,
                    "AddressLine4": a.line4,
                    "City": a.city,
                    "Region": a.region,
                    "PostalCode": a.postal_code,
                    "Country": a.country,
                    "AttentionTo": a.attention_to,
                }
            )
            for a in contact.addresses
        ]
    return _without_none(element)


def target_status(invoice: Invoice, current: str | None) -> str | None:
    """The Xero status this snapshot asks for, given the invoice's status in Xero (None: not there).

    None means nothing to send (a void invoice that never reached Xero). Raises for the moves Xero
    refuses, with what the owner can do instead.
    """
    if current in FINAL:
        if invoice.status == InvoiceStatus.VOID:
            return None
        raise Rejected(
            "invoice_closed_in_xero",
            f"Invoice {invoice.number} is {current} in Xero and can no longer change.",
            "Issue a new invoice on the platform for any further change.",
        )
    if invoice.status == InvoiceStatus.VOID:
        if current is None:
            return None
        return "DELETED" if current in EDITABLE else "VOIDED"
    if invoice.status == InvoiceStatus.DRAFT:
        if current not in (None, *EDITABLE):
            raise Rejected(
                "invalid_transition",
                f"Invoice {invoice.number} is already approved in Xero and Xero does not let it go back to draft.",
                "Void it on the platform and issue a new one, or keep it as sent.",
            )
        return current or "DRAFT"
    return "AUTHORISED"


def invoice_element(
    invoice: Invoice,
    *,
    settings: AccountSettings,
    tax_rates: dict[str, Decimal],
    xero_contact_id: str,
    xero_invoice_id: str | None,
    status: str,
) -> dict[str, Any]:
    """The invoice as Xero takes it; checks mappings, accounts and that Xero's totals equal ours."""
    amounts = LINE_AMOUNT_TYPES[invoice.amounts_are]
    lines: list[dict[str, Any]] = []
    predicted: list[Line] = []
    for index, item in enumerate(invoice.line_items, start=1):
        account_code = item.account_code or settings.sales_account_code
        if not account_code:
            raise Rejected(
                "no_sales_account",
                f"Invoice {invoice.number} line {index} has no account code and no sales account is set.",
                "Choose the Xero sales account for invoice lines in the integration settings.",
            )
        tax_type = _tax_type(invoice, item.tax_id, settings, index)
        rate = Decimal(0) if tax_type is None else tax_rates.get(tax_type)
        if rate is None:
            raise Rejected(
                "unknown_tax_rate",
                f"Xero has no active tax rate {tax_type} for invoice {invoice.number} line {index}.",
                "Map the platform tax rate to one of the organisation's active Xero tax rates.",
            )
        line = {
            "Description": item.description,
            "Quantity": _number(item.quantity),
            "UnitAmount": _number(item.unit_price.quantize(UNIT)),
            "AccountCode": account_code,
            "TaxType": tax_type,
            "DiscountRate": _number(item.discount_rate) if item.discount_rate else None,
        }
        lines.append(_without_none(line))
        predicted.append(Line(item.quantity, item.unit_price, item.discount_rate, rate))
    _check_totals(invoice, xero_totals(predicted, amounts))
    element: dict[str, Any] = {
        "InvoiceID": xero_invoice_id,
        "Type": "ACCREC",
        "InvoiceNumber": invoice.number,
        "Contact": {"ContactID": xero_contact_id},
        "Date": invoice.issue_date.isoformat(),
        # Xero needs a due date to approve an invoice: an approved one without it is due on issue.
        "DueDate": _iso(invoice.due_date or (invoice.issue_date if status != "DRAFT" else None)),
        "Reference": invoice.reference,
        "CurrencyCode": invoice.currency,
        "LineAmountTypes": amounts,
        "Status": status,
        "LineItems": lines,
    }
    return _without_none(element)


def content_fingerprint(element: dict[str, Any]) -> str:
    """What the invoice says, apart from its status: equal fingerprints need no update in Xero."""
    content = {k: v for k, v in element.items() if k not in ("Status", "InvoiceID")}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:32]


def status_element(xero_invoice_id: str, status: str) -> dict[str, Any]:
    return {"InvoiceID": xero_invoice_id, "Status": status}


def payment_element(payment: Payment, *, xero_invoice_id: str, account: PaymentAccount | None) -> dict[str, Any]:
    if payment.kind == "refund":
        raise Rejected(
            "refund_not_supported",
            f"Refund {payment.payment_id} was not synced: refunds are not sent to Xero yet.",
            "Record the refund in Xero by hand.",
        )
    if account is None:
        raise Rejected(
            "no_payment_account",
            f"Payment {payment.payment_id} was not synced: no Xero account is chosen for payments.",
            "Choose a payment account (a bank account, or one with payments enabled) in the integration settings.",
        )
    return _without_none(
        {
            "Invoice": {"InvoiceID": xero_invoice_id},
            "Account": {"AccountID": account.account_id},
            "Date": payment.date.isoformat(),
            "Amount": _number(payment.amount),
            "Reference": payment.reference,
        }
    )


def _tax_type(invoice: Invoice, tax_id: str | None, settings: AccountSettings, index: int) -> str | None:
    if invoice.amounts_are == AmountsAre.NO_TAX:
        return None
    if tax_id is None:
        if settings.default_tax_type:
            return settings.default_tax_type
        raise Rejected(
            "no_default_tax_type",
            f"Invoice {invoice.number} line {index} has no tax rate and no default tax type is set.",
            "Choose the Xero tax type for untaxed lines in the integration settings.",
        )
    mapping = settings.tax_mappings.get(tax_id)
    if mapping is None:
        raise Rejected(
            "unmapped_tax",
            f"Invoice {invoice.number} line {index} uses the platform tax rate '{tax_id}', "
            "which is not mapped to a Xero tax rate.",
            f"Map '{tax_id}' to a Xero tax rate in the integration settings, then retry the invoice.",
        )
    return mapping.tax_type


def _check_totals(invoice: Invoice, predicted: Any) -> None:
    if invoice.totals is None:
        return
    ours = (invoice.totals.subtotal, invoice.totals.total_tax, invoice.totals.total)
    xeros = (predicted.subtotal, predicted.total_tax, predicted.total)
    if tuple(cents(v) for v in ours) == xeros:
        return
    raise Rejected(
        "totals_differ",
        f"Invoice {invoice.number} would not match in Xero: Xero rounds tax on each line and would record "
        f"subtotal {xeros[0]}, tax {xeros[1]}, total {xeros[2]} where the platform has "
        f"subtotal {ours[0]}, tax {ours[1]}, total {ours[2]}.",
        "Round tax per line on the platform (as Xero does), or adjust the invoice so the totals agree, then retry.",
    )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _number(value: Decimal) -> float:
    # Amounts have at most 15 significant digits (the event contract), which a float carries exactly
    # to JSON's shortest representation.
    return float(value)


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
