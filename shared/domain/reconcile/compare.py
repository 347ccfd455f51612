"""One invoice compared: Xero's summary (``summaryOnly=true``) against the push's sync record.

Pure: no I/O. What differs becomes one :class:`~shared.models.reconcile.Difference` per invoice,
named by the most serious kind found (deleted, voided, missing, totals, payments, edited), with every
field that differs in ``details`` and what the owner should do. A summary carries the status, the
contact, the reference, the dates, SubTotal/TotalTax/Total, AmountDue/AmountPaid and UpdatedDateUTC
but no lines: a line edited in Xero that leaves the totals as they were shows as an UpdatedDateUTC
after the service's last write.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.models.reconcile import Action, Difference, DifferenceKind
from shared.models.records import InvoiceRecord

# Xero's clock and ours, and the moments between its answer and our record: an UpdatedDateUTC this
# close to the service's last write is the service's own.
EDIT_MARGIN_SECONDS = 300
RESEND_GRACE_SECONDS = 3600
SEVERITY: tuple[DifferenceKind, ...] = (
    "deleted_in_xero",
    "voided_in_xero",
    "missing_in_xero",
    "totals_differ",
    "payments_differ",
    "edited_in_xero",
)
ACTIONS: dict[DifferenceKind, list[Action]] = {
    "missing_in_xero": ["resend", "accept"],
    "deleted_in_xero": ["accept"],
    "voided_in_xero": ["accept"],
    "totals_differ": ["resend", "accept"],
    "payments_differ": ["accept"],
    "edited_in_xero": ["resend", "accept"],
}
_MS_DATE = re.compile(r"/Date\((-?\d+)")


def what_to_do(kind: DifferenceKind, number: str) -> str:
    """The owner's next step for a difference, in plain words."""
    if kind == "missing_in_xero":
        return (
            f"Xero no longer has invoice {number}. Resend it to create it again from the platform's version, "
            "or accept if it should not be in Xero."
        )
    if kind == "deleted_in_xero":
        return (
            f"Someone deleted invoice {number} in Xero, and Xero cannot restore it. If it should go, delete it "
            "on the platform too and accept; if not, issue it again on the platform under a new number, then accept."
        )
    if kind == "voided_in_xero":
        return (
            f"Someone voided invoice {number} in Xero, and Xero cannot un-void it. If the void was right, void it "
            "on the platform too and accept; if not, issue it again on the platform under a new number, then accept."
        )
    if kind == "totals_differ":
        return (
            f"Invoice {number} was changed in Xero and its amounts no longer match the platform. Resend to put the "
            "platform's version back in Xero, or change the invoice on the platform to match Xero and accept."
        )
    if kind == "payments_differ":
        return (
            f"Xero shows other payments on invoice {number} than the platform sent (a payment added or removed in "
            "Xero by hand). Record the payment on the platform and accept, or remove it in Xero."
        )
    return (
        f"Invoice {number} was edited in Xero. Resend to put the platform's version back in Xero, or accept "
        "Xero's version (and change the invoice on the platform to match)."
    )


def money(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def updated_at(invoice: dict[str, Any]) -> float | None:
    """Xero's ``UpdatedDateUTC`` (``/Date(1552327126117+0000)/``) as Unix seconds."""
    match = _MS_DATE.match(str(invoice.get("UpdatedDateUTC") or ""))
    return int(match.group(1)) / 1000 if match else None


def _day(value: Any) -> str | None:
    return value[:10] if isinstance(value, str) and len(value) >= 10 else None


def _instant(value: str | None) -> float | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def fingerprint(invoice: dict[str, Any] | None) -> str:
    """What Xero holds of an invoice, as the summary shows it (``missing`` when it holds none)."""
    if invoice is None:
        return "missing"
    contact = invoice.get("Contact") or {}
    parts = [
        str(invoice.get("Status")),
        *(str(money(invoice.get(k))) for k in ("SubTotal", "TotalTax", "Total", "AmountDue", "AmountPaid")),
        str(contact.get("ContactID", "")).lower(),
        str(invoice.get("Reference") or ""),
        str(_day(invoice.get("DateString"))),
        str(_day(invoice.get("DueDateString"))),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _text(amount: Decimal | None, currency: str | None) -> str:
    return "none" if amount is None else f"{currency or ''} {amount:,.2f}".strip()


Found = dict[DifferenceKind, list[str]]


def compare(record: InvoiceRecord, invoice: dict[str, Any]) -> tuple[DifferenceKind, list[str]] | None:
    """How Xero's ``invoice`` differs from ``record``: the most serious kind and every detail; None
    when it matches."""
    found: Found = {}
    currency = invoice.get("CurrencyCode") or record.currency
    _status(record, invoice, found)
    _totals(record, invoice, currency, found)
    _payments(record, invoice, currency, found)
    _fields(record, invoice, found)
    if not found:
        changed, last_write = updated_at(invoice), _instant(record.updated_at or record.last_pushed_at)
        if changed is not None and last_write is not None and changed > last_write + EDIT_MARGIN_SECONDS:
            _add(
                found,
                "edited_in_xero",
                "Changed in Xero after the platform's last version was sent (lines or other fields)",
            )
    if not found:
        return None
    kind = next(k for k in SEVERITY if k in found)
    return kind, [detail for k in SEVERITY for detail in found.get(k, [])]


def _add(found: Found, kind: DifferenceKind, detail: str) -> None:
    found.setdefault(kind, []).append(detail)


def _status(record: InvoiceRecord, invoice: dict[str, Any], found: Found) -> None:
    status, recorded = str(invoice.get("Status") or ""), record.xero_status or ""
    if status == recorded:
        return
    detail = f"Status: recorded {recorded or 'none'}, Xero {status or 'none'}"
    if status == "DELETED":
        _add(found, "deleted_in_xero", detail)
    elif status == "VOIDED":
        _add(found, "voided_in_xero", detail)
    elif {status, recorded} <= {"AUTHORISED", "PAID"}:
        _add(found, "payments_differ", detail)  # paid in full, or a payment taken off, in Xero
    else:
        _add(found, "edited_in_xero", detail)


def _totals(record: InvoiceRecord, invoice: dict[str, Any], currency: str | None, found: Found) -> None:
    for field, name, recorded in (
        ("Total", "Total", record.total),
        ("SubTotal", "Subtotal", record.sub_total),
        ("TotalTax", "Tax", record.total_tax),
    ):
        in_xero = money(invoice.get(field))
        if recorded is not None and in_xero is not None and money(recorded) != in_xero:
            detail = f"{name}: recorded {_text(money(recorded), currency)}, Xero {_text(in_xero, currency)}"
            _add(found, "totals_differ", detail)


def _payments(record: InvoiceRecord, invoice: dict[str, Any], currency: str | None, found: Found) -> None:
    due, paid = money(invoice.get("AmountDue")), money(invoice.get("AmountPaid"))
    credited = money(invoice.get("AmountCredited")) or Decimal(0)
    if record.amount_due is None or due is None or money(record.amount_due) == due:
        return
    detail = f"Amount due: recorded {_text(money(record.amount_due), currency)}, Xero {_text(due, currency)}"
    if "totals_differ" in found:  # the amounts changed: the amount due with them
        _add(found, "totals_differ", detail)
        return
    _add(found, "payments_differ", detail)
    # What the service knows as paid includes credit notes it allocated (total less amount due).
    recorded_paid, xero_paid = money(record.amount_paid), None if paid is None else paid + credited
    if xero_paid is not None and record.total is not None and recorded_paid != xero_paid:
        detail = f"Paid or credited: recorded {_text(recorded_paid, currency)}, Xero {_text(xero_paid, currency)}"
        _add(found, "payments_differ", detail)


def _fields(record: InvoiceRecord, invoice: dict[str, Any], found: Found) -> None:
    contact = str((invoice.get("Contact") or {}).get("ContactID") or "").lower()
    if record.xero_contact_id and contact and contact != record.xero_contact_id.lower():
        _add(found, "edited_in_xero", "Contact: another contact in Xero than the one the platform sent")
    for field, name, recorded, in_xero in (
        ("Reference", "Reference", record.reference, invoice.get("Reference")),
        ("DateString", "Date", record.date, _day(invoice.get("DateString"))),
        ("DueDateString", "Due date", record.due_date, _day(invoice.get("DueDateString"))),
    ):
        if recorded is not None and field in invoice and (recorded or "") != (in_xero or ""):
            _add(found, "edited_in_xero", f"{name}: recorded {recorded or 'none'}, Xero {in_xero or 'none'}")


def difference(
    record: InvoiceRecord,
    invoice: dict[str, Any] | None,
    *,
    run_id: str,
    now: str,
    previous: Difference | None = None,
) -> Difference | None:
    """The difference to keep for ``record`` (``invoice`` None: Xero has none), or None when it matches.
    A difference the owner accepted stays accepted while Xero holds what was accepted; one resent stays
    resent for an hour (the push's time to send it), then opens again if Xero still differs."""
    if invoice is None:
        kind: DifferenceKind = "missing_in_xero"
        details = ["Xero has no invoice with the InvoiceID the service recorded"]
    else:
        compared = compare(record, invoice)
        if compared is None:
            return None
        kind, details = compared
    number = record.number or (invoice or {}).get("InvoiceNumber") or record.invoice_id
    print_ = fingerprint(invoice)
    kept = previous if previous is not None and previous.xero_fingerprint == print_ else None
    if kept is not None and kept.state == "resent":
        # A resend has an hour to reach Xero; found unchanged after that, it did not mend it: open again.
        resent, found = _instant(kept.resent_at), _instant(now)
        if resent is None or found is None or found - resent > RESEND_GRACE_SECONDS:
            kept = kept.model_copy(update={"state": "open", "found_at": now, "resent_at": None})
    return Difference(
        invoice_id=record.invoice_id,
        number=str(number),
        kind=kind,
        details=details,
        what_to_do=what_to_do(kind, str(number)),
        actions=list(ACTIONS[kind]),
        xero_invoice_id=record.xero_invoice_id,
        xero_status=(invoice or {}).get("Status"),
        xero_fingerprint=print_,
        found_at=kept.found_at if kept else now,
        run_id=run_id,
        state=kept.state if kept else "open",
        accepted_at=kept.accepted_at if kept else None,
        resent_at=kept.resent_at if kept else None,
    )
