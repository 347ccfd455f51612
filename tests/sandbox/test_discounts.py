"""Line discounts: DiscountRate kept to 2 decimals, DiscountAmount as the OpenAPI describes it, never both."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from local.xero_sandbox import lines as rules
from tests.sandbox.conftest import Api, create_contact, invoice, line


@pytest.fixture
def customer(xero: Api) -> str:
    return create_contact(xero, "Discounted Ltd")


def put_one(xero: Api, customer: str, *lines: dict[str, Any]) -> dict[str, Any]:
    answer = xero.put("Invoices", {"Invoices": [invoice(customer, LineItems=list(lines))]})
    assert answer.status == 200, answer.body
    created: dict[str, Any] = answer.exact["Invoices"][0]
    return created


def test_a_discount_rate_is_kept_to_two_decimals_and_the_line_follows_it(xero: Api, customer: str):
    created = put_one(xero, customer, line("1000.00", 1, tax="NONE", DiscountRate=Decimal("7.2641")))

    only = created["LineItems"][0]
    assert only["DiscountRate"] == Decimal("7.26")
    assert only["LineAmount"] == Decimal("927.40")  # not 927.36, what the unrounded rate gives
    assert created["TotalDiscount"] == Decimal("72.60")


def test_a_line_amount_computed_from_the_unrounded_rate_does_not_match(xero: Api, customer: str):
    body = invoice(
        customer, LineItems=[line("1000.00", 1, DiscountRate=Decimal("7.2641"), LineAmount=Decimal("927.36"))]
    )

    answer = xero.put("Invoices", {"Invoices": [body]})

    assert answer.messages() == [rules.line_total_mismatch(Decimal("927.36"), Decimal("927.40"))]


def test_the_rate_rounds_half_away_from_zero(xero: Api, customer: str):
    created = put_one(xero, customer, line("100.00", 1, DiscountRate=Decimal("12.345")))

    assert created["LineItems"][0]["DiscountRate"] == Decimal("12.35")


def test_a_discount_amount_comes_off_quantity_times_price_to_the_cent(xero: Api, customer: str):
    created = put_one(xero, customer, line("10.00", 3, DiscountAmount=Decimal("5.555")))

    only = created["LineItems"][0]
    assert only["DiscountAmount"] == Decimal("5.56")
    assert "DiscountRate" not in only
    assert only["LineAmount"] == Decimal("24.44")
    assert only["TaxAmount"] == Decimal("3.67")  # 15% of 24.44 = 3.666
    assert created["TotalDiscount"] == Decimal("5.56")
    assert created["IsDiscounted"] is True
    assert created["Total"] == Decimal("28.11")


def test_a_discount_amount_with_a_line_amount_and_no_price_gives_the_price(xero: Api, customer: str):
    given = {"Description": "Consulting", "Quantity": 2, "LineAmount": Decimal("90.00")}
    created = put_one(xero, customer, given | {"AccountCode": "200", "DiscountAmount": Decimal("10.00")})

    only = created["LineItems"][0]
    assert only["UnitAmount"] == Decimal("50.00")
    assert only["LineAmount"] == Decimal("90.00")


@pytest.mark.parametrize(
    ("unit", "amount", "says"),
    [
        ("20.00", "20.01", "20.01"),
        ("-10.00", "0", "0.00"),  # on a negative line even a zero amount is refused (XeroAPI/Xero-OpenAPI#429)
    ],
)
def test_a_discount_amount_greater_than_the_line_total_is_refused(
    xero: Api, customer: str, unit: str, amount: str, says: str
):
    body = invoice(customer, LineItems=[line("50.00", 1), line(unit, 1, DiscountAmount=Decimal(amount))])

    answer = xero.put("Invoices", {"Invoices": [body]})

    assert answer.messages() == [rules.discount_too_large(Decimal(says))]


def test_a_rate_and_an_amount_on_one_line_are_refused(xero: Api, customer: str):
    both = line("10.00", 1, DiscountRate=Decimal("10"), DiscountAmount=Decimal("1.00"))

    answer = xero.put("Invoices", {"Invoices": [invoice(customer, LineItems=[both])]})

    assert answer.messages() == [rules.DISCOUNT_RATE_AND_AMOUNT]


def test_a_discount_amount_on_a_bill_is_refused(xero: Api, customer: str):
    bill = invoice(customer, Type="ACCPAY", LineItems=[line(account="400", tax="INPUT2", DiscountAmount=1)])

    assert xero.put("Invoices", {"Invoices": [bill]}).messages() == [rules.DISCOUNT_NOT_ALLOWED]
