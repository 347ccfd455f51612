"""Platform events → Xero request elements, with every rule the push can check before calling Xero.

Each function returns the element exactly as Xero's official schema names it (the Xero sandbox
validates every request body against that schema), or raises :class:`Rejected` saying what is
wrong and how to fix it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from shared.domain.money import LineInput, LinePlan, LineRefused, Totals, cents, explain_difference, plan_line, totals
from shared.domain.products import NOTHING_READ, Catalogue, dropped_tracking, line_target
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
REFERENCE_LENGTH = 255  # Xero's payment reference field


def contact_element(
    contact: Contact, *, xero_contact_id: str | None, name: str, number: str | None = None
) -> dict[str, Any]:
    """``number`` is the ContactNumber this account holds in the organisation: the platform's contact
    id, unless another account connected to the same organisation holds that one."""
    element: dict[str, Any] = {
        "ContactID": xero_contact_id,
        "ContactNumber": number or contact.contact_id,
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


@dataclass(frozen=True)
class PreparedInvoice:
    """An invoice checked against the account's settings and Xero's arithmetic, before anything is
    written for it: its Xero lines, the totals Xero will book, and the header fields."""

    lines: tuple[dict[str, Any], ...]
    totals: Totals
    header: dict[str, Any]
    left_off: tuple[str, ...] = ()  # dimensions sent without tracking ("line 2: salesperson=Ana"), by setting


def prepare_invoice(
    invoice: Invoice,
    *,
    settings: AccountSettings,
    tax_rates: dict[str, Decimal],
    invoice_url: str | None = None,
    catalogue: Catalogue = NOTHING_READ,
) -> PreparedInvoice:
    """Check mappings, accounts and money; raises :class:`Rejected` naming the line at fault. ``catalogue``
    is what Xero holds now of the items and tracking categories the lines' mappings name
    (:mod:`shared.domain.products`)."""
    amounts = LINE_AMOUNT_TYPES[invoice.amounts_are]
    lines: list[dict[str, Any]] = []
    plans: list[LinePlan] = []
    left_off: list[str] = []
    for index, item in enumerate(invoice.line_items, start=1):
        target = line_target(invoice, index, item, settings, catalogue)
        left_off += [f"line {index}: {dimension}" for dimension in target.left_off]
        tax_type = _tax_type(invoice, item.tax_id, settings, index)
        rate = Decimal(0) if tax_type is None else tax_rates.get(tax_type)
        if rate is None:
            raise Rejected(
                "unknown_tax_rate",
                f"Xero has no active tax rate {tax_type} for invoice {invoice.number} line {index}.",
                "Map the platform tax rate to one of the organisation's active Xero tax rates.",
            )
        try:
            plan = plan_line(
                index,
                LineInput(item.quantity, item.unit_price, item.discount_rate, rate),
                amounts_are=amounts,
                currency=invoice.currency,
            )
        except LineRefused as refused:
            raise Rejected("line_not_exact", f"Invoice {invoice.number} {refused.problem}.", refused.fix) from None
        line = {
            "Description": item.description,
            "Quantity": plan.quantity,
            "UnitAmount": plan.unit_amount,  # always the line's own: never the item's price
            **target.fields,
            "TaxType": tax_type,
            "DiscountRate": plan.discount_rate,
            "DiscountAmount": plan.discount_amount,
            "TaxAmount": plan.tax_override,
        }
        lines.append(_without_none(line))
        plans.append(plan)
    predicted = totals(plans, amounts)
    _check_totals(invoice, plans, predicted)
    header: dict[str, Any] = {
        "Type": "ACCREC",
        "InvoiceNumber": invoice.number,
        "Date": invoice.issue_date.isoformat(),
        "DueDate": _iso(invoice.due_date),
        "Reference": invoice.reference,
        "CurrencyCode": invoice.currency,
        "LineAmountTypes": amounts,
        "Url": invoice_url,
    }
    return PreparedInvoice(tuple(lines), predicted, _without_none(header), tuple(left_off))


def invoice_element(
    prepared: PreparedInvoice, *, xero_contact_id: str, xero_invoice_id: str | None, status: str
) -> dict[str, Any]:
    """The invoice as Xero takes it, once its contact is known and its status decided."""
    element: dict[str, Any] = {
        "InvoiceID": xero_invoice_id,
        **prepared.header,
        "Contact": {"ContactID": xero_contact_id},
        "Status": status,
        "LineItems": list(prepared.lines),
    }
    if "DueDate" not in element and status != "DRAFT":
        # Xero needs a due date to approve an invoice: an approved one without it is due on issue.
        element["DueDate"] = element["Date"]
    return _without_none(element)


def check_booked(prepared: PreparedInvoice, answer: dict[str, Any], number: str | None) -> Rejected | None:
    """After Xero answers: a refusal to raise loudly if Xero booked other totals than predicted, or left
    off tracking that was sent (an option archived or renamed in Xero in the minutes since it was checked)."""
    booked = tuple(_decimal(answer.get(k)) for k in ("SubTotal", "TotalTax", "Total"))
    if None in booked:
        return None
    predicted = (prepared.totals.subtotal, prepared.totals.total_tax, prepared.totals.total)
    if tuple(cents(v) for v in booked if v is not None) == predicted:
        return _tracking_kept(prepared, answer, number)
    return Rejected(
        "xero_totals_differ",
        f"Xero booked invoice {number} with subtotal {booked[0]}, tax {booked[1]}, total {booked[2]} where "
        f"{predicted[0]}, {predicted[1]}, {predicted[2]} were expected. The invoice is in Xero with these totals.",
        "Check the invoice in Xero against the platform. If a tax rate changed in Xero, map the platform's tax "
        "rate again in the integration settings (each mapping keeps the rate it had when saved), then retry.",
    )


def _tracking_kept(prepared: PreparedInvoice, answer: dict[str, Any], number: str | None) -> Rejected | None:
    dropped = dropped_tracking(prepared.lines, answer.get("LineItems"))
    if not dropped:
        return None
    shown = "; ".join(f"line {index}: {tracking}" for index, tracking in dropped)
    return Rejected(
        "xero_dropped_tracking",
        f"Xero saved invoice {number} without tracking that was sent ({shown}). Xero drops an option it does not "
        "have active without a word: it was archived or renamed in Xero moments ago. The invoice is in Xero "
        "without it.",
        "Check the tracking category in Xero, map the value again in the integration settings, and add the tracking "
        "to the invoice in Xero.",
        [f"Not kept by Xero: {shown}"],
    )


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
            f"Refund {payment.payment_id} was not synced: a refund is sent to Xero as a credit note and the cash "
            "paid back out of it, not as a payment of the invoice.",
            "Publish a credit_note.upserted for the refund (applied to the invoice if it is still due) and a "
            "refund.recorded for the cash paid back.",
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
            "Amount": payment.amount,
            "Reference": payment_reference(payment),
        }
    )


def payment_reference(payment: Payment) -> str:
    """The payment's reference in Xero carries the platform's payment id, the one identity a payment
    found in Xero is matched by (two equal instalments with the same reference stay apart)."""
    marker = f"[{payment.payment_id}]"
    if not payment.reference:
        return marker
    return f"{payment.reference[: REFERENCE_LENGTH - len(marker) - 1]} {marker}"


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


def _check_totals(invoice: Invoice, plans: list[LinePlan], predicted: Totals) -> None:
    if predicted.total < 0:
        raise Rejected(
            "negative_total",
            f"Invoice {invoice.number} comes to {predicted.total}: Xero does not take an invoice whose total is "
            "negative (its lines may be, as long as the total is not).",
            "Issue a credit note on the platform for money owed back to the customer.",
        )
    if invoice.totals is None:
        return
    ours = Totals(*(cents(v) for v in (invoice.totals.subtotal, invoice.totals.total_tax, invoice.totals.total)))
    if ours == predicted:
        return
    raise Rejected(
        "totals_differ",
        f"Invoice {invoice.number} would not match in Xero: Xero would record subtotal {predicted.subtotal}, "
        f"tax {predicted.total_tax}, total {predicted.total} where the platform has subtotal {ours.subtotal}, "
        f"tax {ours.total_tax}, total {ours.total}. " + explain_difference(plans, predicted, ours, invoice.currency),
        "Round tax per line on the platform (as Xero does), or adjust the line named, then retry.",
    )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
