"""The amount rules of credit notes, checked before anything is sent to Xero (pure: no I/O).

Xero allocates a credit note to an invoice only up to the credit note's remaining credit and the
invoice's amount due, and refunds only up to the remaining credit (Xero's "Credit Note cannot be
allocated as amount is greater than amount outstanding"). The service checks the same before it
writes, so the owner reads which amounts disagree instead of Xero's sentence:

- what a credit note applies to invoices, plus what was refunded out of it, is at most its total;
- what it applies to an invoice only grows: an allocation in Xero is never reduced or removed by the
  sync (that would put a debt back on the customer without the platform saying so);
- what it adds to an invoice is at most what that invoice has due in Xero, in the same currency;
- a refund is at most the credit left once every invoice has what the credit note applies to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from shared.errors import Rejected

ZERO = Decimal(0)


@dataclass(frozen=True)
class InvoiceDue:
    """What Xero holds of an invoice the credit note applies to."""

    number: str
    currency: str | None
    amount_due: Decimal | None  # None: not known yet (the invoice has not reached Xero)


def money(amount: Decimal, currency: str | None) -> str:
    return f"{currency} {amount:,.2f}" if currency else f"{amount:,.2f}"


def check_applied(
    number: str,
    currency: str,
    total: Decimal,
    applied: Mapping[str, Decimal],
    allocated: Mapping[str, Decimal],
    refunded: Decimal,
) -> None:
    """The credit note's own amounts; raises :class:`Rejected` naming them."""
    for invoice_id, already in sorted(allocated.items()):
        wanted = applied.get(invoice_id, ZERO)
        if wanted < already:
            raise Rejected(
                "credit_allocation_reduced",
                f"Credit note {number} now applies {money(wanted, currency)} to invoice {invoice_id}, but "
                f"{money(already, currency)} of it is already allocated to that invoice in Xero. The sync never "
                "reduces or removes an allocation in Xero.",
                "Keep the amount applied to the invoice (issue a new invoice for the difference), or remove the "
                "allocation in Xero by hand and publish the credit note again.",
            )
    used = sum(applied.values(), ZERO) + refunded
    if used > total:
        refunds = f" and {money(refunded, currency)} refunded" if refunded else ""
        raise Rejected(
            "credit_exceeds_total",
            f"Credit note {number} applies {money(sum(applied.values(), ZERO), currency)} to invoices{refunds}: "
            f"{money(used, currency)} in all, more than its total of {money(total, currency)}.",
            "Apply at most the credit note's total to its invoices (less what was refunded), then save it again.",
        )


def check_invoice(number: str, currency: str, adding: Decimal, invoice: InvoiceDue) -> None:
    """Adding ``adding`` of the credit note to ``invoice``; raises :class:`Rejected` naming the amounts."""
    if invoice.currency is not None and invoice.currency != currency:
        raise Rejected(
            "credit_currency_differs",
            f"Credit note {number} is in {currency}, and invoice {invoice.number} is in {invoice.currency}: Xero "
            "allocates a credit note only to invoices in its own currency.",
            "Issue the credit note in the invoice's currency, then save it again.",
        )
    if invoice.amount_due is not None and adding > invoice.amount_due:
        raise Rejected(
            "credit_exceeds_invoice_due",
            f"Credit note {number} applies {money(adding, currency)} more to invoice {invoice.number}, which has "
            f"only {money(invoice.amount_due, currency)} due in Xero.",
            "Apply at most the invoice's amount due (refund the rest, or keep it as credit), then save the credit "
            "note again.",
        )


def check_refund(refund_id: str, number: str, currency: str | None, amount: Decimal, remaining: Decimal) -> None:
    """A refund of ``amount`` out of what is left of the credit note."""
    if amount > remaining:
        raise Rejected(
            "refund_exceeds_credit",
            f"Refund {refund_id} pays back {money(amount, currency)} out of credit note {number}, which has only "
            f"{money(remaining, currency)} of credit left once its invoices have what it applies to them.",
            "Refund at most the credit left (or apply less of the credit note to invoices), then publish the refund "
            "again.",
        )


def left_for_refunds(
    total: Decimal, applied: Mapping[str, Decimal], allocated: Mapping[str, Decimal], refunded: Decimal
) -> Decimal:
    """The credit a new refund may take: what the invoices are to get is kept for them."""
    kept = sum((max(applied.get(i, ZERO), allocated.get(i, ZERO)) for i in {*applied, *allocated}), ZERO)
    return total - kept - refunded
