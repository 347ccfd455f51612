"""How Xero turns line items into totals, so the push can predict them before sending.

Xero rounds every line to the cent, computes tax per line (not on the invoice total) and rounds it to
the cent, then adds the lines up. A platform that computes tax on the total can differ by a cent or
two; the push refuses such an invoice with an explanation rather than let Xero record a different
total. Rounding is half away from zero (``ROUND_HALF_UP`` in ``decimal`` terms).

This is written independently of the Xero sandbox's own arithmetic on purpose: the sandbox stands
for Xero, this code predicts it, and a test comparing the two is only worth something if they do not
share a bug.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
UNIT = Decimal("0.0001")
HUNDRED = Decimal(100)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Line:
    quantity: Decimal
    unit_amount: Decimal
    discount_rate: Decimal | None
    tax_rate: Decimal  # percent, e.g. 15 for 15 %


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    total_tax: Decimal
    total: Decimal
    line_amounts: tuple[Decimal, ...]
    line_taxes: tuple[Decimal, ...]


def line_amount(line: Line) -> Decimal:
    gross = line.quantity * line.unit_amount.quantize(UNIT, rounding=ROUND_HALF_UP)
    if line.discount_rate:
        gross = gross * (HUNDRED - line.discount_rate) / HUNDRED
    return cents(gross)


def xero_totals(lines: Iterable[Line], amounts_are: str) -> Totals:
    """Totals as Xero computes them; ``amounts_are`` is Exclusive, Inclusive or NoTax."""
    amounts: list[Decimal] = []
    taxes: list[Decimal] = []
    for line in lines:
        amount = line_amount(line)
        if amounts_are == "Exclusive":
            tax = cents(amount * line.tax_rate / HUNDRED)
        elif amounts_are == "Inclusive":
            tax = cents(amount * line.tax_rate / (HUNDRED + line.tax_rate))
        else:
            tax = Decimal("0.00")
        amounts.append(amount)
        taxes.append(tax)
    total_tax = sum(taxes, Decimal("0.00"))
    if amounts_are == "Inclusive":
        total = sum(amounts, Decimal("0.00"))
        subtotal = total - total_tax
    else:
        subtotal = sum(amounts, Decimal("0.00"))
        total = subtotal + total_tax
    return Totals(subtotal, total_tax, total, tuple(amounts), tuple(taxes))
