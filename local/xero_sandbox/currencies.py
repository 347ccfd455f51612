"""Currencies' minor units, and amounts booked with fractions of a minor unit the currency does not have.

Xero books every amount to 2 decimal places, whatever the currency: it "calculates tax on a per line
basis, rounding to two decimal places" and "all summary values such as Total, LineAmount etc will
remain at two decimal places" (developer.xero.com/documentation/guides/how-to-guides/rounding-in-xero;
help.breadwinner.com article 44001664472: "subtotals and totals are stored as two decimal places").
Nothing Xero publishes treats zero-decimal currencies differently, and the team saw a whole-yen invoice
booked at ¥1,419.10. So the sandbox computes JPY exactly like NZD and refuses nothing; tests that want
whole yen ask :func:`fractional_amounts` (or ``fractional_minor_units`` in ``GET /_sandbox/orgs/{id}``).
"""

from __future__ import annotations

from decimal import Decimal

# ISO 4217 minor units where they are not 2 (the currency's exponent).
MINOR_UNITS = {
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
}


def minor_units(currency: str) -> int:
    return MINOR_UNITS.get(currency, 2)


def has_fraction(amount: Decimal, currency: str) -> bool:
    """Whether ``amount`` holds less than the currency's smallest unit (¥1,419.10 does; ¥1,419 does not)."""
    return amount != amount.quantize(Decimal(1).scaleb(-minor_units(currency)))


def fractional_amounts(amounts: dict[str, Decimal], currency: str) -> dict[str, Decimal]:
    """Those of ``amounts`` (name -> amount) that hold fractions of the currency's minor unit."""
    return {name: amount for name, amount in amounts.items() if has_fraction(amount, currency)}
