"""What the sandbox holds, as JSON (``/_sandbox/orgs``) and as a page (``/_sandbox/``).

The same functions serve tests that read the state directly: ``org_snapshot(state, tenant_id)``.
"""

from __future__ import annotations

from html import escape
from typing import Any

from local.xero_sandbox.contacts import contact_json
from local.xero_sandbox.credit_notes import credit_note_json, credit_notes_of
from local.xero_sandbox.currencies import fractional_amounts, minor_units
from local.xero_sandbox.formats import iso_timestamp
from local.xero_sandbox.invoices import invoice_json
from local.xero_sandbox.payments import payment_json
from local.xero_sandbox.state import Organisation, SandboxState


def org_summary(state: SandboxState, org: Organisation) -> dict[str, Any]:
    return {
        "tenant_id": org.tenant_id,
        "name": org.name,
        "base_currency": org.base_currency,
        "tier": state.limiter.tier_of(org.tenant_id),
        "lock_dates": {
            "PeriodLockDate": org.period_lock_date.isoformat() if org.period_lock_date else None,
            "EndOfYearLockDate": org.end_of_year_lock_date.isoformat() if org.end_of_year_lock_date else None,
        },
        "contacts": len(org.contacts),
        "invoices": len(org.invoices),
        "payments": len(org.payments),
        "stats": dict(org.stats),
    }


def org_snapshot(state: SandboxState, tenant_id: str) -> dict[str, Any] | None:
    """Everything one organisation holds: contacts, invoices (lines, totals), payments, call counts."""
    with state.lock:
        org = state.organisations.get(tenant_id)
        if org is None:
            return None
        usage = state.limiter.describe(state.clock.now())["tenants"].get(tenant_id, {})
        return org_summary(state, org) | {
            "contacts": [contact_json(c) for c in org.contacts.values()],
            "invoices": [invoice_json(org, i, unitdp=4) for i in org.invoices.values()],
            "payments": [payment_json(org, p) for p in org.payments.values()],
            "credit_notes": [credit_note_json(org, n, unitdp=4) for n in credit_notes_of(org).values()],
            "limits": usage,
            "fractional_minor_units": fractional_minor_units(state, tenant_id),
        }


def fractional_minor_units(state: SandboxState, tenant_id: str) -> list[dict[str, Any]]:
    """Invoices (and their payments) booked with fractions of their currency's minor unit, e.g. a JPY
    invoice whose per-line tax left it at ¥1,419.10: Xero books 2 dp in every currency and says nothing,
    so this is how a test asserts whole yen. Each: InvoiceID, InvoiceNumber, CurrencyCode, and the
    offending ``amounts`` by name (``LineItems[0].TaxAmount``, ``Total``, ``Payments[0].Amount``, ...)."""
    with state.lock:
        org = state.organisations[tenant_id]
        found = []
        for invoice in org.invoices.values():
            amounts = {
                "SubTotal": invoice.sub_total,
                "TotalTax": invoice.total_tax,
                "Total": invoice.total,
                "AmountPaid": invoice.amount_paid,
                "AmountDue": invoice.amount_due,
            }
            for n, line in enumerate(invoice.lines):
                amounts[f"LineItems[{n}].LineAmount"] = line.line_amount
                amounts[f"LineItems[{n}].TaxAmount"] = line.tax_amount
            for n, payment_id in enumerate(invoice.payment_ids):
                amounts[f"Payments[{n}].Amount"] = org.payments[payment_id].amount
            fractions = fractional_amounts(amounts, invoice.currency_code)
            if fractions:
                found.append(
                    {
                        "InvoiceID": invoice.invoice_id,
                        "InvoiceNumber": invoice.number,
                        "CurrencyCode": invoice.currency_code,
                        "minor_units": minor_units(invoice.currency_code),
                        "amounts": fractions,
                    }
                )
        return found


def overview(state: SandboxState) -> list[dict[str, Any]]:
    with state.lock:
        return [org_summary(state, org) for org in state.organisations.values()]


def html_page(state: SandboxState, violations: list[dict[str, Any]]) -> str:
    with state.lock:
        now = state.clock.now()
        parts = [
            "<!doctype html><meta charset='utf-8'><title>Xero sandbox</title>",
            "<style>body{font:14px system-ui;margin:2em}table{border-collapse:collapse;margin:.5em 0 1.5em}"
            "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}.n{text-align:right}</style>",
            f"<h1>Xero sandbox</h1><p>Clock: {escape(iso_timestamp(now))}Z, speed x{state.clock.speed:g}. "
            f"Spec violations recorded: {len(violations)}.</p>",
        ]
        for org in state.organisations.values():
            parts.append(f"<h2>{escape(org.name)} <small>{escape(org.tenant_id)}</small></h2>")
            stats = ", ".join(f"{escape(k)}: {v}" for k, v in sorted(org.stats.items()))
            parts.append(f"<p>{stats or 'no calls yet'}</p>")
            parts.append(_table(["Contact", "Number", "Status", "Email"], _contact_rows(org)))
            parts.append(
                _table(["Invoice", "Type", "Status", "Contact", "Lines", "Total", "Paid", "Due"], _invoice_rows(org))
            )
            parts.append(_table(["Payment", "Invoice", "Status", "Amount", "Reference"], _payment_rows(org)))
        return "".join(parts)


def _contact_rows(org: Organisation) -> list[list[str]]:
    return [
        [
            str(c.get("Name", "")),
            str(c.get("ContactNumber", "")),
            str(c.get("ContactStatus", "")),
            str(c.get("EmailAddress", "")),
        ]
        for c in org.contacts.values()
    ]


def _invoice_rows(org: Organisation) -> list[list[str]]:
    rows = []
    for invoice in org.invoices.values():
        contact = org.contacts.get(invoice.contact_id, {})
        rows.append(
            [
                invoice.number or invoice.invoice_id,
                invoice.type,
                invoice.status,
                str(contact.get("Name", "")),
                str(len(invoice.lines)),
                f"{invoice.total:.2f} {invoice.currency_code}",
                f"{invoice.amount_paid:.2f}",
                f"{invoice.amount_due:.2f}",
            ]
        )
    return rows


def _payment_rows(org: Organisation) -> list[list[str]]:
    rows = []
    for payment in org.payments.values():
        invoice = org.invoices.get(payment.invoice_id)
        number = invoice.number if invoice is not None else payment.invoice_id or payment.credit_note_id
        rows.append([payment.payment_id, number, payment.status, f"{payment.amount:.2f}", payment.reference])
    return rows


def _table(headings: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headings)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body or f'<tr><td colspan={len(headings)}>none</td></tr>'}</table>"
