"""Money is exact end to end: Decimals in, exact JSON numbers out, never a float on the way."""

from __future__ import annotations

from decimal import Decimal

from local.xero_sandbox.formats import from_json, to_json
from local.xero_sandbox.inspection import org_snapshot
from local.xero_sandbox.seed import NZ_TENANT
from tests.sandbox.conftest import Api, create_contact, invoice, line

HUGE = "100000000000000.01"  # 1e14 and a cent: a float keeps neither the cent nor its neighbour apart


def test_the_json_writer_writes_decimals_as_exact_unquoted_numbers():
    written = to_json({"Amount": Decimal(HUGE), "Zero": Decimal("0.00"), "Rate": 1.0, "N": 3, "S": 'a"b'})

    assert written == '{"Amount": 100000000000000.01, "Zero": 0.00, "Rate": 1.0, "N": 3, "S": "a\\"b"}'
    assert from_json(written)["Amount"] == Decimal(HUGE)


def test_an_invoice_of_about_1e14_keeps_its_cents_in_every_answer(sandbox_app, xero: Api):
    customer = create_contact(xero, "Big Spender")
    body = {"Invoices": [invoice(customer, "INV-BIG", LineItems=[line(HUGE, 1, tax="NONE")])]}

    created = xero.put("Invoices", body).exact["Invoices"][0]
    read = xero.get(f"Invoices/{created['InvoiceID']}").exact["Invoices"][0]
    snapshot = org_snapshot(sandbox_app.state, NZ_TENANT)
    assert snapshot is not None
    inspected = from_json(sandbox_app.flask.test_client().get(f"/_sandbox/orgs/{NZ_TENANT}").get_data())

    for answer in (created, read, snapshot["invoices"][0], inspected["invoices"][0]):
        assert answer["LineItems"][0]["LineAmount"] == Decimal(HUGE)
        assert answer["Total"] == answer["AmountDue"] == Decimal(HUGE)
    assert b"100000000000000.01" in xero.get(f"Invoices/{created['InvoiceID']}").raw


def test_tax_on_a_huge_line_is_computed_in_decimals(xero: Api):
    customer = create_contact(xero, "Taxed Big")
    body = {"Invoices": [invoice(customer, "INV-BIGTAX", LineItems=[line("99999999999999.99", 1)])]}

    created = xero.put("Invoices", body).exact["Invoices"][0]

    assert created["TotalTax"] == Decimal("15000000000000.00")  # 14,999,999,999,999.9985 rounded
    assert created["Total"] == Decimal("114999999999999.99")


def test_an_idempotency_key_tells_bodies_a_cent_apart_at_1e14_from_each_other(xero: Api):
    customer = create_contact(xero, "Cent Apart")
    first = {"Invoices": [invoice(customer, "INV-C1", LineItems=[line("100000000000000.01", 1, tax="NONE")])]}
    second = {"Invoices": [invoice(customer, "INV-C1", LineItems=[line("100000000000000.02", 1, tax="NONE")])]}

    assert xero.put("Invoices", first, key="cent-apart").status == 200
    assert xero.put("Invoices", second, key="cent-apart").status == 409


def test_the_same_number_spelt_differently_is_the_same_request(xero: Api):
    customer = create_contact(xero, "Spelling")
    body = {"Invoices": [invoice(customer, "INV-SP", LineItems=[line("10.10", 1)])]}
    respelt = {"Invoices": [invoice(customer, "INV-SP", LineItems=[line("10.1", 1)])]}

    first = xero.put("Invoices", body, key="spelt")
    again = xero.put("Invoices", respelt, key="spelt")

    assert again.status == 200
    assert again.raw == first.raw
