"""Xero's invoice arithmetic, written from Xero's documentation alone, to check the push against.

Sources: the OpenAPI ``LineItem`` descriptions in XeroAPI/Xero-OpenAPI (``LineAmount = Quantity *
UnitAmount * ((100 - DiscountRate)/100)`` or ``(Quantity * UnitAmount) - DiscountAmount``; a sent
``TaxAmount`` overrides the calculated one), the "Rounding in Xero" guide (tax per line, to 2 dp,
half away from zero), and the community answer that ``DiscountRate`` is kept to 2 dp. It works in
exact fractions and its own rounding, sharing no code with ``shared.domain.money`` on purpose: a
test comparing the two is only worth something if they cannot share a bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any


def _fraction(value: Any) -> Fraction:
    return Fraction(Decimal(str(value)))


def round_away(value: Fraction, places: int) -> Fraction:
    """Round to ``places`` decimals, halves away from zero."""
    scale = 10**places
    scaled = abs(value) * scale
    whole = int(scaled)
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    return Fraction(whole if value >= 0 else -whole, scale)


@dataclass(frozen=True)
class Booked:
    subtotal: Fraction
    total_tax: Fraction
    total: Fraction
    lines: tuple[tuple[Fraction, Fraction], ...]  # (line amount, tax) per line

    def as_decimals(self) -> tuple[Decimal, Decimal, Decimal]:
        return tuple(Decimal(v.numerator) / Decimal(v.denominator) for v in (self.subtotal, self.total_tax, self.total))  # type: ignore[return-value]


def book(element: dict[str, Any], rates: dict[str, Decimal]) -> Booked:
    """What Xero records for an invoice element as the push sends it (``unitdp=4``)."""
    kind = element.get("LineAmountTypes", "Exclusive")
    lines = []
    for line in element["LineItems"]:
        quantity = round_away(_fraction(line.get("Quantity", 1)), 4)
        unit = round_away(_fraction(line.get("UnitAmount", 0)), 4)
        if "DiscountAmount" in line:
            amount = round_away(quantity * unit - _fraction(line["DiscountAmount"]), 2)
        else:
            rate = round_away(_fraction(line.get("DiscountRate", 0)), 2)
            amount = round_away(quantity * unit * (100 - rate) / 100, 2)
        percent = _fraction(rates.get(line.get("TaxType", ""), 0)) if kind != "NoTax" else Fraction(0)
        if kind == "NoTax":
            tax = Fraction(0)
        elif "TaxAmount" in line:
            tax = round_away(_fraction(line["TaxAmount"]), 2)
        elif kind == "Inclusive":
            tax = round_away(amount * percent / (100 + percent), 2)
        else:
            tax = round_away(amount * percent / 100, 2)
        lines.append((amount, tax))
    amounts = sum((a for a, _ in lines), Fraction(0))
    taxes = sum((t for _, t in lines), Fraction(0))
    if kind == "Inclusive":
        return Booked(amounts - taxes, taxes, amounts, tuple(lines))
    return Booked(amounts, taxes, amounts + taxes, tuple(lines))
