"""The platform's amounts, expressed so that Xero books them to the cent, or refused naming the line.

What Xero does (its "Rounding in Xero" guide and the OpenAPI ``LineItem`` descriptions):

- ``UnitAmount`` and ``Quantity`` are kept to 4 decimal places (the push asks for ``unitdp=4``);
- ``DiscountRate`` is kept to 2 decimal places (community.xero.com/developer/discussion/144129369),
  so a platform discount of 7.2641 % cannot be sent as a rate: the push sends the discount as a
  ``DiscountAmount`` instead, where ``LineAmount = Quantity x UnitAmount - DiscountAmount``;
- every line is rounded to the cent, half away from zero, and tax is computed and rounded per line,
  never on the invoice total: exclusive ``LineAmount x rate``, inclusive
  ``LineAmount x rate / (1 + rate)``;
- money is kept to 2 decimal places whatever the currency. For currencies without minor units
  (JPY, KRW, ...; ISO 4217 exponent 0) per-line tax at 2 dp would book fractional yen, so the push
  sends each line's ``TaxAmount`` (which Xero takes in place of its own calculation) rounded to the
  whole unit, and refuses a line whose amount is not a whole number of units.

The platform's own intent for a line is ``Quantity x UnitPrice x (1 - discount)`` rounded to the
currency's minor unit, half away from zero. A line whose amount Xero cannot be made to book exactly
is refused; so is an invoice whose totals differ from the platform's (with the line at fault named)
and one whose total is negative (a credit note's job). Written apart from the Xero sandbox's own
arithmetic on purpose: the sandbox stands for Xero, this predicts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
UNIT = Decimal("0.0001")
WHOLE = Decimal(1)
HUNDRED = Decimal(100)
ZERO = Decimal("0.00")
# ISO 4217 currencies whose exponent is 0: amounts are whole units.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "UYI",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)


def round_to(value: Decimal, step: Decimal) -> Decimal:
    return value.quantize(step, rounding=ROUND_HALF_UP)


def cents(value: Decimal) -> Decimal:
    return round_to(value, CENT)


def minor_unit(currency: str) -> Decimal:
    """The smallest amount the currency counts in (1 for JPY, 0.01 for NZD)."""
    return WHOLE if currency.upper() in ZERO_DECIMAL_CURRENCIES else CENT


class LineRefused(ValueError):
    """A line Xero cannot be made to book as the platform has it."""

    def __init__(self, index: int, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.index = index
        self.problem = problem
        self.fix = fix


@dataclass(frozen=True)
class LineInput:
    quantity: Decimal
    unit_price: Decimal
    discount_rate: Decimal | None
    tax_rate: Decimal  # percent, e.g. 15 for 15 %


@dataclass(frozen=True)
class LinePlan:
    """What to send for one line, and what Xero will book for it."""

    index: int  # 1-based, as the owner counts lines
    quantity: Decimal
    unit_amount: Decimal
    discount_rate: Decimal | None  # sent as DiscountRate (at most 2 dp)
    discount_amount: Decimal | None  # sent as DiscountAmount
    tax_override: Decimal | None  # sent as TaxAmount
    line_amount: Decimal  # Xero's LineAmount
    tax: Decimal  # Xero's TaxAmount
    exact_amount: Decimal  # before any rounding
    exact_tax: Decimal


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    total_tax: Decimal
    total: Decimal


def plan_line(index: int, line: LineInput, *, amounts_are: str, currency: str) -> LinePlan:
    """How line ``index`` goes to Xero (``amounts_are``: Exclusive, Inclusive or NoTax)."""
    unit = minor_unit(currency)
    quantity = round_to(line.quantity, UNIT)
    unit_amount = round_to(line.unit_price, UNIT)
    gross = quantity * unit_amount
    rate = line.discount_rate or Decimal(0)
    exact = gross * (HUNDRED - rate) / HUNDRED
    wanted = round_to(exact, unit)
    discount_rate: Decimal | None = None
    discount_amount: Decimal | None = None
    if not rate:
        booked = cents(gross)
    elif rate == round_to(rate, CENT) and unit == CENT:
        discount_rate = rate
        booked = cents(exact)
    else:
        # Xero keeps DiscountRate to 2 dp: say the discount as an amount, so Xero books our line amount.
        discount_amount = cents(gross) - wanted
        if gross < 0 or discount_amount < 0:
            raise LineRefused(
                index,
                f"line {index} has a {_plain(rate)} % discount on a negative amount, which Xero cannot book exactly",
                "Put the discounted amount in the line's unit price instead of a discount.",
            )
        booked = cents(gross - discount_amount)
    if booked != wanted:
        raise LineRefused(
            index,
            f"line {index}: {_plain(quantity)} x {_plain(unit_amount)} comes to {_plain(exact)}, which is not a "
            f"whole number of {currency.upper()} ({_plain(unit)})",
            f"Use a quantity and price whose amount is a whole number of {currency.upper()}.",
        )
    exact_tax = _tax(booked, line.tax_rate, amounts_are)
    tax_override: Decimal | None = None
    if unit == CENT:
        tax = cents(exact_tax)
    else:
        tax = round_to(exact_tax, unit)
        tax_override = tax if amounts_are != "NoTax" else None
    return LinePlan(
        index=index,
        quantity=quantity,
        unit_amount=unit_amount,
        discount_rate=discount_rate,
        discount_amount=discount_amount,
        tax_override=tax_override,
        line_amount=booked,
        tax=tax,
        exact_amount=exact,
        exact_tax=exact_tax,
    )


def _tax(amount: Decimal, rate: Decimal, amounts_are: str) -> Decimal:
    if amounts_are == "Exclusive":
        return amount * rate / HUNDRED
    if amounts_are == "Inclusive":
        return amount * rate / (HUNDRED + rate)
    return Decimal(0)


def totals(plans: Sequence[LinePlan], amounts_are: str) -> Totals:
    """The invoice totals Xero computes from its lines."""
    amounts = sum((p.line_amount for p in plans), ZERO)
    tax = sum((p.tax for p in plans), ZERO)
    if amounts_are == "Inclusive":
        return Totals(amounts - tax, tax, amounts)
    return Totals(amounts, tax, amounts + tax)


def explain_difference(plans: Sequence[LinePlan], xero: Totals, platform: Totals, currency: str) -> str:
    """Which line makes Xero's totals differ from the platform's, in the owner's words."""
    parts = []
    if xero.total_tax != platform.total_tax:
        parts.append(_blame(plans, "tax", xero.total_tax - platform.total_tax, currency))
    if xero.subtotal != platform.subtotal or (xero.total != platform.total and not parts):
        parts.append(_blame(plans, "amount", xero.subtotal - platform.subtotal, currency))
    return " ".join(parts)


def _blame(plans: Sequence[LinePlan], what: str, difference: Decimal, currency: str) -> str:
    def residual(p: LinePlan) -> Decimal:
        return (p.tax - p.exact_tax) if what == "tax" else (p.line_amount - p.exact_amount)

    def booked(p: LinePlan) -> Decimal:
        return p.tax if what == "tax" else p.line_amount

    def exact(p: LinePlan) -> Decimal:
        return p.exact_tax if what == "tax" else p.exact_amount

    moved = sorted((p for p in plans if residual(p) and residual(p) * difference > 0), key=lambda p: -abs(residual(p)))
    if moved:
        named = "; ".join(
            f"line {p.index}: {what} {_plain(exact(p))} is rounded to {_amount(booked(p))}" for p in moved[:3]
        )
        return (
            f"Xero rounds each line's {what} to the {'cent' if minor_unit(currency) == CENT else 'unit'}, which "
            f"moves the {what} by {_amount(difference)}: {named}."
        )
    equal = [p for p in plans if abs(booked(p)) == abs(difference)]
    if equal:
        return (
            f"The {what} differs by {_amount(difference)}, exactly line {equal[0].index}'s {what}: is that line "
            "missing from the platform's totals, or counted twice?"
        )
    listed = "; ".join(f"line {p.index}: {what} {_amount(booked(p))}" for p in plans[:10])
    return f"The {what} differs by {_amount(difference)} and no line's rounding explains it. Xero would book {listed}."


def _plain(value: Decimal) -> str:
    """A figure as the owner reads it: at most 4 decimals, no trailing zeros (7.2641, 98.365, 15)."""
    return format(round_to(value, UNIT).normalize(), "f")


def _amount(value: Decimal) -> str:
    """Money as booked: 14.70 stays 14.70."""
    return format(value, "f")
