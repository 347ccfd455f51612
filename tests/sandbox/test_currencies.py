"""Zero-decimal currencies: Xero books 2 dp in every currency; the sandbox does too and shows where yen got cents."""

from __future__ import annotations

from decimal import Decimal

from local.xero_sandbox.currencies import has_fraction, minor_units
from local.xero_sandbox.formats import from_json
from local.xero_sandbox.inspection import fractional_minor_units
from local.xero_sandbox.seed import NZ_TENANT
from tests.sandbox.conftest import Api, create_contact, create_invoice, line, pay


def test_minor_units_follow_iso_4217():
    assert (minor_units("JPY"), minor_units("KRW"), minor_units("NZD"), minor_units("KWD")) == (0, 0, 2, 3)
    assert has_fraction(Decimal("1419.10"), "JPY")
    assert not has_fraction(Decimal("1419.00"), "JPY")
    assert not has_fraction(Decimal("1419.10"), "NZD")


def test_a_whole_yen_invoice_is_booked_to_two_decimals_like_any_other(sandbox_app, xero: Api):
    customer = create_contact(xero, "Tokyo Trading")
    created = create_invoice(xero, customer, "INV-JPY", CurrencyCode="JPY", LineItems=[line("1234", 1), line("99", 3)])

    assert created["CurrencyCode"] == "JPY"
    assert [li["TaxAmount"] for li in created["LineItems"]] == [185.10, 44.55]  # 15% per line, to 2 dp
    assert created["Total"] == 1760.65  # not whole yen: Xero accepts it, and so does the sandbox


def test_inspection_names_every_amount_with_fractional_yen(sandbox_app, xero: Api):
    customer = create_contact(xero, "Osaka Goods")
    fractional = create_invoice(xero, customer, "INV-JPY1", CurrencyCode="JPY", LineItems=[line("1234", 1)])
    create_invoice(xero, customer, "INV-JPY2", CurrencyCode="JPY", LineItems=[line("1000", 1)])  # tax 150.00: whole
    create_invoice(xero, customer, "INV-NZD", LineItems=[line("12.34", 1)])  # cents are fine in NZD
    pay(xero, fractional["InvoiceID"], "100.50")

    found = fractional_minor_units(sandbox_app.state, NZ_TENANT)
    shown = from_json(sandbox_app.flask.test_client().get(f"/_sandbox/orgs/{NZ_TENANT}").get_data())

    assert [f["InvoiceNumber"] for f in found] == ["INV-JPY1"]
    assert found[0]["minor_units"] == 0
    assert found[0]["amounts"] == {
        "TotalTax": Decimal("185.10"),
        "Total": Decimal("1419.10"),  # the team's ¥1,419.10
        "AmountPaid": Decimal("100.50"),
        "AmountDue": Decimal("1318.60"),
        "LineItems[0].TaxAmount": Decimal("185.10"),
        "Payments[0].Amount": Decimal("100.50"),
    }
    assert shown["fractional_minor_units"] == found
