"""The four alert emails' words. Each builder takes plain values and returns a rendered email.

Links are the platform's own pages (``PLATFORM_SETTINGS_URL``, ``PLATFORM_INVOICE_URL``): an email
never carries a signed connect link, a token or anything secret. Without a configured page the
email says where to go instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from urllib.parse import quote

from shared.adapters.mailer import OutgoingEmail
from shared.emails.layout import Block, Bullets, Button, Facts, Message, Paragraph, render, safe_url
from shared.emails.xero_messages import Explained, explain
from shared.models.alerts import DigestItem


@dataclass(frozen=True)
class EmailContext:
    """What every email needs from the deployment's settings."""

    brand: str
    settings_url: str = ""
    invoice_url: str = ""
    inactivity_days: int = 60

    def invoice_link(self, invoice_id: str) -> str | None:
        if not self.invoice_url:
            return None
        return safe_url(self.invoice_url.replace("{invoice_id}", quote(invoice_id, safe="")))

    def reconnect_block(self, label: str) -> Block:
        url = safe_url(self.settings_url)
        if url:
            return Button(label, url)
        return Paragraph(f"Open the Xero settings in {self.brand} and choose {label}.")

    def footer(self) -> str:
        return (
            f"You receive this email because your {self.brand} account is connected to Xero. "
            f"To change who receives these alerts, open the Xero settings in {self.brand}."
        )


def long_date(value: date) -> str:
    return f"{value:%A} {value.day} {value:%B %Y}"


def _organisation(name: str | None) -> str:
    return f"the Xero organisation {name}" if name else "your Xero organisation"


def inactivity_warning(
    ctx: EmailContext, *, organisation: str | None, last_active: date, disconnect_on: date
) -> OutgoingEmail:
    when = long_date(disconnect_on)
    return render(
        Message(
            brand=ctx.brand,
            subject=f"{ctx.brand} will disconnect from Xero on {when}",
            heading=f"Your Xero connection will be disconnected on {when}",
            blocks=(
                Paragraph(
                    f"{ctx.brand} has not sent anything to {_organisation(organisation)} since "
                    f"{long_date(last_active)}. Xero stops honouring a connection that goes unused for "
                    f"{ctx.inactivity_days} days, so on {when} {ctx.brand} will disconnect it."
                ),
                Paragraph("To keep it connected, do any one of these before then:"),
                Bullets(
                    (
                        f"send an invoice, contact or payment from {ctx.brand} to Xero;",
                        f"change your Xero settings in {ctx.brand};",
                        "reconnect to Xero.",
                    )
                ),
                ctx.reconnect_block("Reconnect to Xero"),
                Paragraph(
                    "If it is disconnected, nothing is lost: your settings and tax mappings are kept, and "
                    "reconnecting later picks up where you left off."
                ),
            ),
            footer=ctx.footer(),
        )
    )


def disconnected(
    ctx: EmailContext, *, organisation: str | None, last_active: date | None, revoked_at_xero: bool
) -> OutgoingEmail:
    idle = f"since {long_date(last_active)}" if last_active else f"for {ctx.inactivity_days} days"
    at_xero = (
        f"{ctx.brand}'s access has been removed at Xero."
        if revoked_at_xero
        else (
            f"Xero could not be reached to remove {ctx.brand}'s access there, so {ctx.brand} may still be listed "
            "under Connected apps in Xero. It will not be used again; you can remove it yourself in Xero "
            "(Settings > Connected apps)."
        )
    )
    return render(
        Message(
            brand=ctx.brand,
            subject=f"{ctx.brand} has disconnected from Xero",
            heading=f"{ctx.brand} is no longer connected to Xero",
            blocks=(
                Paragraph(
                    f"Nothing had been sent from {ctx.brand} to {_organisation(organisation)} {idle}, so the "
                    f"connection was disconnected after {ctx.inactivity_days} days without activity. {at_xero}"
                ),
                Paragraph(
                    "New invoices, contacts and payments are not sent to Xero until you reconnect. Your settings "
                    "and tax mappings are kept, so reconnecting takes a minute."
                ),
                ctx.reconnect_block("Reconnect to Xero"),
            ),
            footer=ctx.footer(),
        )
    )


@dataclass(frozen=True)
class _Subject:
    """What a sync-failed email is about, in its words."""

    label: str  # "Invoice INV-0042", "A payment of NZD 100.00 on invoice INV-0042", "Contact Harbour Cafe"
    facts: tuple[tuple[str, str], ...]
    retry_label: str
    closing: str


def _subject(
    *,
    kind: str,
    invoice_id: str,
    invoice_number: str | None,
    payment_id: str | None,
    amount: Decimal | None,
    currency: str | None,
    contact_id: str | None,
    contact_name: str | None,
    credit_note_id: str | None = None,
    credit_note_number: str | None = None,
) -> _Subject:
    if kind in ("credit_note", "refund"):
        return _credit_subject(kind, payment_id, amount, currency, credit_note_id, credit_note_number)
    if kind == "payment":
        money = money_text(amount, currency)
        on_invoice = f" on invoice {invoice_number}" if invoice_number else ""
        label = f"A payment of {money}{on_invoice}" if money else f"A payment{on_invoice}"
        facts = [("Payment", money or "(amount not known)"), ("Invoice", invoice_number or "(number not known)")]
        facts += [("Payment reference", payment_id)] if payment_id else []
        facts += [("Invoice reference", invoice_id)] if invoice_id else []
        closing = "Other invoices and payments keep syncing; only this payment is waiting for you."
        return _Subject(label, tuple(facts), "Retry from the invoice", closing)
    if kind == "contact":
        label = f"Contact {contact_name}" if contact_name else "A contact"
        facts = [("Contact", contact_name or "(no name)")] + ([("Reference", contact_id)] if contact_id else [])
        closing = "Other contacts and invoices keep syncing; only this contact is waiting for you."
        return _Subject(label, tuple(facts), "", closing)
    label = f"Invoice {invoice_number}" if invoice_number else "An invoice"
    facts = [("Invoice", invoice_number or "(no number yet)"), ("Reference", invoice_id)]
    closing = "Other invoices keep syncing; only this one is waiting for you."
    return _Subject(label, tuple(facts), "Retry this invoice", closing)


def _credit_subject(
    kind: str,
    refund_id: str | None,
    amount: Decimal | None,
    currency: str | None,
    credit_note_id: str | None,
    credit_note_number: str | None,
) -> _Subject:
    note = credit_note_number or credit_note_id or "(number not known)"
    facts = [("Credit note", note)] + ([("Credit note reference", credit_note_id)] if credit_note_id else [])
    if kind == "refund":
        money = money_text(amount, currency)
        label = f"A refund of {money} from credit note {note}" if money else f"A refund from credit note {note}"
        facts = [("Refund", money or "(amount not known)"), *facts]
        facts += [("Refund reference", refund_id)] if refund_id else []
        closing = "Other invoices, credit notes and refunds keep syncing; only this refund is waiting for you."
        return _Subject(label, tuple(facts), "", closing)
    closing = "Other invoices and credit notes keep syncing; only this credit note is waiting for you."
    return _Subject(f"Credit note {note}", tuple(facts), "", closing)


def money_text(amount: Decimal | None, currency: str | None) -> str:
    """``NZD 1,234.50``; empty when the amount is not known."""
    if amount is None:
        return ""
    figure = f"{amount:,.2f}"
    return f"{currency} {figure}" if currency else figure


def sync_failed(
    ctx: EmailContext,
    *,
    invoice_id: str,
    invoice_number: str | None,
    code: str,
    message: str,
    fix: str,
    xero_messages: Sequence[str] = (),
    subject_kind: str = "invoice",
    payment_id: str | None = None,
    amount: Decimal | None = None,
    currency: str | None = None,
    contact_id: str | None = None,
    contact_name: str | None = None,
    credit_note_id: str | None = None,
    credit_note_number: str | None = None,
) -> OutgoingEmail:
    """What could not be sent to Xero (an invoice, a payment on an invoice, a contact), why, and the fix."""
    subject = _subject(
        kind=subject_kind,
        invoice_id=invoice_id,
        invoice_number=invoice_number,
        payment_id=payment_id,
        amount=amount,
        currency=currency,
        contact_id=contact_id,
        contact_name=contact_name,
        credit_note_id=credit_note_id,
        credit_note_number=credit_note_number,
    )
    explained = [explain(m, brand=ctx.brand) for m in xero_messages]
    fixes = [fix] + [e.fix for e in explained if e.fix and e.fix != fix]
    blocks: list[Block] = [
        Paragraph(f"{subject.label} could not be sent to Xero. {message}"),
        Facts((*subject.facts, ("Error code", code))),
    ]
    if explained:
        blocks.append(Paragraph("What Xero said:"))
        blocks.append(
            Bullets(
                tuple(
                    f"{e.plain} (Xero's words: \u201c{e.original}\u201d)" if e.known else e.original for e in explained
                )
            )
        )
    blocks.append(Paragraph("How to fix it:"))
    blocks.append(Bullets(tuple(fixes)))
    if subject_kind == "contact":
        blocks.append(Paragraph(f"Then save the contact again in {ctx.brand} to send it."))
    elif subject_kind in ("credit_note", "refund"):
        blocks.append(Paragraph(f"Then save the credit note again in {ctx.brand} to send it (its refunds go with it)."))
    else:
        # A payment is retried from its invoice's page: the retry sends the invoice's failed payments too.
        link = ctx.invoice_link(invoice_id) if invoice_id else None
        if link:
            blocks.append(Button(subject.retry_label, link))
        else:
            where = "the invoice's page" if subject_kind == "invoice" else "its invoice's page"
            blocks.append(Paragraph(f"Then retry it from {where} in {ctx.brand}."))
    blocks.append(Paragraph(subject.closing))
    return render(
        Message(
            brand=ctx.brand,
            subject=f"{subject.label} was not sent to Xero",
            heading=f"{subject.label} was not sent to Xero",
            blocks=tuple(blocks),
            footer=ctx.footer(),
        )
    )


def _said(explained: Explained) -> str:
    if explained.known:
        return f"{explained.plain} (Xero's words: \u201c{explained.original}\u201d)"
    return explained.original


def reconnect_needed(ctx: EmailContext, *, organisation: str | None, reason: str) -> OutgoingEmail:
    return render(
        Message(
            brand=ctx.brand,
            subject=f"Reconnect Xero to keep {ctx.brand} syncing",
            heading="Xero needs you to reconnect",
            blocks=(
                Paragraph(
                    f"{ctx.brand} can no longer send invoices to {_organisation(organisation)}: Xero no longer "
                    f"accepts its access. {reason}".strip()
                ),
                Paragraph(
                    "Until you reconnect, new invoices, contacts and payments cannot reach Xero; invoices that "
                    "fail meanwhile can be retried afterwards. Your settings and tax mappings are kept."
                ),
                ctx.reconnect_block("Reconnect to Xero"),
            ),
            footer=ctx.footer(),
        )
    )


DIFFERENCE_TITLES = {
    "missing_in_xero": "Missing in Xero",
    "deleted_in_xero": "Deleted in Xero",
    "voided_in_xero": "Voided in Xero",
    "totals_differ": "Amounts differ",
    "payments_differ": "Payments differ",
    "edited_in_xero": "Edited in Xero",
}


def reconciliation_digest(
    ctx: EmailContext, *, organisation: str | None, compared: int, total: int, items: Sequence[DigestItem]
) -> OutgoingEmail:
    """The weekly reconciliation digest: each invoice that differs in Xero, and what to do about it."""
    plural = "invoice differs" if total == 1 else "invoices differ"
    blocks: list[Block] = [
        Paragraph(
            f"This week's check compared {compared:,} invoices {ctx.brand} sent to {_organisation(organisation)} "
            f"with what Xero holds now. {total:,} {plural}: someone changed them in Xero. Nothing has been "
            "changed in Xero by this check; each one waits for you to accept Xero's version or resend the "
            f"platform's, in the Xero settings in {ctx.brand}."
        )
    ]
    for item in items:
        rows = [("Invoice", item.number), ("Found", DIFFERENCE_TITLES.get(item.kind, item.kind))]
        for detail in item.details:
            label, _, value = detail.partition(": ")
            rows.append((label, value) if value else ("Detail", label))
        rows.append(("What to do", item.what_to_do))
        blocks.append(Facts(tuple(rows)))
    if total > len(items):
        blocks.append(Paragraph(f"And {total - len(items):,} more: see the Xero settings in {ctx.brand}."))
    blocks.append(ctx.reconnect_block("Review the differences"))
    return render(
        Message(
            brand=ctx.brand,
            subject=f"Xero check: {total:,} {plural} from {ctx.brand}",
            heading=f"{total:,} {plural} in Xero",
            blocks=tuple(blocks),
            footer=ctx.footer(),
        )
    )
