"""Invoice lines: Xero's per-line arithmetic and the checks on accounts, tax rates and discounts.

Per line, half away from zero: ``LineAmount = round(Quantity x UnitAmount x (1 - DiscountRate/100), 2)``
or, with a ``DiscountAmount``, ``round(Quantity x UnitAmount - DiscountAmount, 2)`` (xero_accounting.yaml,
LineItem.LineAmount). Tax from the rate: exclusive ``round(LineAmount x r, 2)``, inclusive
``round(LineAmount x r / (1 + r), 2)``, none when ``NoTax``; a sent ``TaxAmount`` replaces it. Unit
amounts are kept to 4 places with ``unitdp=4``, else rounded to 2; quantities to 4.

Discounts, on sales invoices (ACCREC) only:
- ``DiscountRate`` is kept to 2 decimals, half away from zero (Xero "rounds the DiscountRate to the
  nearest hundredth", community.xero.com/developer/discussion/144129369; help.breadwinner.com
  article 44001664472), and the line amount follows the 2-dp rate: 7.2641 is stored and computed as 7.26.
- ``DiscountAmount`` is kept to cents; more than ``Quantity x UnitAmount`` is Xero's "The discount rate
  '27.83' is invalid. Discount must not be greater than the line total." (XeroAPI/xero-php-oauth2#288,
  also for 0 on a negative line, XeroAPI/Xero-OpenAPI#429).
- Both on one line: refused with the sandbox's own message. Xero's documentation allows one of the
  two per line; observed, a rate wins over an amount silently (waynerobinson/xeroizer#483). The
  sandbox refuses so the mistake shows.

Items and tracking (``ItemCode``, ``Tracking``: an unknown option silently dropped, as at Xero) are in
:mod:`local.xero_sandbox.catalogue`.

Messages marked *Xero's* are Xero's own words; the others are the sandbox's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from local.xero_sandbox.catalogue import line_tracking, with_item_defaults
from local.xero_sandbox.formats import decimal, four_dp, money, number
from local.xero_sandbox.state import Organisation

ZERO = Decimal(0)
HUNDRED = Decimal(100)
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
DISCOUNT_NOT_ALLOWED = "Discounts are only supported on sales invoices (ACCREC)."
DISCOUNT_RATE_AND_AMOUNT = "A line item takes a DiscountRate or a DiscountAmount, not both."


def tax_type_invalid(tax_type: str) -> str:  # Xero's
    return f"The TaxType code {tax_type} does not exist or cannot be used for this type of transaction."


def account_invalid(code: str) -> str:  # Xero's
    return f"Account code '{code}' is not a valid code for this document."


def account_archived(code: str) -> str:  # Xero's
    return (
        f"Account code '{code}' has been archived or has been deleted. Each line item must reference a valid account."
    )


def discount_too_large(amount: Decimal) -> str:  # Xero's (its wording says "rate" for an amount too)
    return f"The discount rate '{amount}' is invalid. Discount must not be greater than the line total."


def line_total_mismatch(given: Decimal, expected: Decimal) -> str:
    return f"The line total {given} does not match the expected line total {expected}"


@dataclass
class Line:
    line_item_id: str
    description: str | None
    quantity: Decimal
    unit_amount: Decimal
    account_code: str | None
    tax_type: str | None
    discount_rate: Decimal | None
    line_amount: Decimal
    tax_amount: Decimal
    item_code: str | None = None
    tracking: list[Any] = field(default_factory=list)
    discount_amount: Decimal | None = None

    @property
    def discounted(self) -> bool:
        return bool(self.discount_rate or self.discount_amount)

    def money_key(self) -> tuple[Any, ...]:
        return (
            self.description,
            self.quantity,
            self.unit_amount,
            self.account_code,
            self.tax_type,
            self.discount_rate,
            self.discount_amount,
            self.line_amount,
            self.tax_amount,
        )


def build_lines(
    org: Organisation,
    type_: str,
    given: Any,
    line_amount_types: str,
    unitdp: int,
    known_ids: set[str],
    errors: list[str],
) -> list[Line]:
    """The lines of ``given`` (an element's LineItems); a ``LineItemID`` in ``known_ids`` is kept."""
    lines = []
    for raw in given if isinstance(given, list) else []:
        line = _build_line(org, type_, raw, line_amount_types, unitdp, known_ids, errors)
        if line is not None:
            lines.append(line)
    return lines


def _build_line(
    org: Organisation,
    type_: str,
    raw: dict[str, Any],
    line_amount_types: str,
    unitdp: int,
    known_ids: set[str],
    errors: list[str],
) -> Line | None:
    raw = with_item_defaults(org, type_, raw, errors)  # what the line leaves out comes from its item
    quantity = decimal(raw.get("Quantity"))
    unit = decimal(raw.get("UnitAmount"))
    given_amount = decimal(raw.get("LineAmount"))
    discount, discount_amount = _discount(type_, raw, errors)
    if quantity is None and (unit is not None or given_amount is not None):
        quantity = Decimal(1)
    quantity = four_dp(quantity or ZERO)
    factor = (HUNDRED - (discount or ZERO)) / HUNDRED
    if unit is None and given_amount is not None and quantity:
        if discount_amount is not None:
            unit = (given_amount + discount_amount) / quantity
        elif factor:
            unit = given_amount / (quantity * factor)
    unit = four_dp(unit or ZERO) if unitdp == 4 else money(unit or ZERO)
    if discount_amount is not None:
        line_amount = money(quantity * unit - discount_amount)
        if discount_amount > money(quantity * unit):
            errors.append(discount_too_large(discount_amount))
    else:
        line_amount = money(quantity * unit * factor)
    if given_amount is not None and raw.get("UnitAmount") is not None and money(given_amount) != line_amount:
        errors.append(line_total_mismatch(money(given_amount), line_amount))

    account_code = raw.get("AccountCode") or None
    account = None
    if account_code:
        account = org.account_by_code(str(account_code))
        if account is None or account.get("Type") == "BANK":
            errors.append(account_invalid(str(account_code)))
        elif account.get("Status") != "ACTIVE":
            errors.append(account_archived(str(account_code)))
    tax_type = raw.get("TaxType") or (account.get("TaxType") if account else None)
    if line_amount_types == "NoTax":
        tax_type = "NONE" if raw.get("TaxType") in (None, "", "NONE") else tax_type
    rate = Decimal(0)
    if tax_type:
        found = org.tax_rate(str(tax_type))
        usable = found is not None and found.get("Status") == "ACTIVE"
        usable = usable and bool(
            found and found.get("CanApplyToRevenue" if type_ == "ACCREC" else "CanApplyToExpenses")
        )
        if not usable or found is None:
            errors.append(tax_type_invalid(str(tax_type)))
        else:
            rate = Decimal(str(found.get("EffectiveRate", 0))) / HUNDRED
    tax = _tax(line_amount, rate, line_amount_types, decimal(raw.get("TaxAmount")))
    line_id = str(raw.get("LineItemID") or "")
    return Line(
        line_item_id=line_id if line_id in known_ids else str(uuid.uuid4()),
        description=raw.get("Description"),
        quantity=quantity,
        unit_amount=unit,
        account_code=str(account_code) if account_code else None,
        tax_type=str(tax_type) if tax_type else None,
        discount_rate=discount,
        discount_amount=discount_amount,
        line_amount=line_amount,
        tax_amount=tax,
        item_code=raw.get("ItemCode"),
        tracking=line_tracking(org, raw.get("Tracking"), errors),
    )


def _discount(type_: str, raw: dict[str, Any], errors: list[str]) -> tuple[Decimal | None, Decimal | None]:
    """The line's DiscountRate (kept to 2 dp, half up, as Xero keeps it) or DiscountAmount (to cents)."""
    rate, amount = decimal(raw.get("DiscountRate")), decimal(raw.get("DiscountAmount"))
    if (rate is not None or amount is not None) and type_ != "ACCREC":
        errors.append(DISCOUNT_NOT_ALLOWED)
        return None, None
    if rate is not None and amount is not None:
        errors.append(DISCOUNT_RATE_AND_AMOUNT)
        return None, None
    return (money(rate) if rate is not None else None), (money(amount) if amount is not None else None)


def _tax(line_amount: Decimal, rate: Decimal, line_amount_types: str, override: Decimal | None) -> Decimal:
    if line_amount_types == "NoTax":
        return ZERO
    if override is not None:  # Xero takes a supplied TaxAmount in place of its own calculation
        return money(override)
    if line_amount_types == "Inclusive":
        return money(line_amount * rate / (1 + rate))
    return money(line_amount * rate)


def line_json(line: Line, unitdp: int) -> dict[str, Any]:
    body: dict[str, Any] = {"LineItemID": line.line_item_id}
    if line.description is not None:
        body["Description"] = line.description
    body |= {
        "Quantity": number(line.quantity),
        "UnitAmount": number(line.unit_amount if unitdp == 4 else money(line.unit_amount)),
        "TaxAmount": number(line.tax_amount),
        "LineAmount": number(line.line_amount),
        "Tracking": line.tracking,
    }
    if line.item_code:
        body["ItemCode"] = line.item_code
    if line.account_code:
        body["AccountCode"] = line.account_code
    if line.tax_type:
        body["TaxType"] = line.tax_type
    if line.discount_rate is not None:
        body["DiscountRate"] = number(line.discount_rate)
    if line.discount_amount is not None:
        body["DiscountAmount"] = number(line.discount_amount)
    return body
