"""Invoices: Xero's arithmetic, numbering, statuses, and the checks on contacts, accounts, tax and currency."""

from __future__ import annotations

from decimal import Decimal

import pytest

from local.xero_sandbox import invoices as rules
from local.xero_sandbox import lines as line_rules
from tests.sandbox.conftest import Api, create_contact, create_invoice, invoice, line, pay


@pytest.fixture
def customer(xero: Api) -> str:
    return create_contact(xero, "Acme Ltd")


def test_exclusive_totals_round_each_line_half_up_with_discount_and_tax(xero: Api, customer: str):
    lines = [
        line("10.005", 3),  # 3 x 10.01 = 30.03; tax 4.5045 -> 4.50
        line("19.99", "2.5", DiscountRate=Decimal("12.5")),  # 49.975 x 0.875 = 43.728125 -> 43.73; tax 6.5595 -> 6.56
        line("0.05", 1, tax="NONE"),
    ]
    created = create_invoice(xero, customer, LineItems=lines)

    assert [li["LineAmount"] for li in created["LineItems"]] == [30.03, 43.73, 0.05]
    assert [li["TaxAmount"] for li in created["LineItems"]] == [4.50, 6.56, 0]
    assert created["SubTotal"] == 73.81
    assert created["TotalTax"] == 11.06
    assert created["Total"] == 84.87
    assert created["AmountDue"] == 84.87
    assert created["AmountPaid"] == 0
    assert created["IsDiscounted"] is True
    assert created["TotalDiscount"] == 6.25  # 2.5 x 19.99 - 43.73 = 49.975 - 43.73 -> 6.25


def test_inclusive_tax_is_taken_out_of_each_line(xero: Api, customer: str):
    created = create_invoice(xero, customer, LineAmountTypes="Inclusive", LineItems=[line("115.00"), line("10.00")])

    assert [li["TaxAmount"] for li in created["LineItems"]] == [15.00, 1.30]  # 10 x .15/1.15 = 1.304
    assert created["SubTotal"] == 108.70
    assert created["TotalTax"] == 16.30
    assert created["Total"] == 125.00


def test_no_tax_lines_carry_none(xero: Api, customer: str):
    created = create_invoice(xero, customer, LineAmountTypes="NoTax", LineItems=[line("50.00", 2, tax="NONE")])

    assert created["TotalTax"] == 0
    assert created["Total"] == 100.00
    assert created["LineItems"][0]["TaxType"] == "NONE"


def test_unit_amounts_keep_four_places_only_with_unitdp_4(xero: Api, customer: str):
    body = {"Invoices": [invoice(customer, "INV-4DP", LineItems=[line("1.23456", 10)])]}
    four = xero.put("Invoices", body, unitdp=4).one("Invoices")
    two = create_invoice(xero, customer, "INV-2DP", LineItems=[line("1.23456", 10)])

    assert four["LineItems"][0]["UnitAmount"] == 1.2346
    assert four["LineItems"][0]["LineAmount"] == 12.35
    assert two["LineItems"][0]["UnitAmount"] == 1.23
    assert two["LineItems"][0]["LineAmount"] == 12.30
    assert xero.get(f"Invoices/{four['InvoiceID']}").one("Invoices")["LineItems"][0]["UnitAmount"] == 1.23
    assert xero.get(f"Invoices/{four['InvoiceID']}", unitdp=4).one("Invoices")["LineItems"][0]["UnitAmount"] == 1.2346


def test_dates_are_answered_in_xeros_format(xero: Api, customer: str):
    created = create_invoice(xero, customer, Date="2026-05-01", DueDate="/Date(1780185600000+0000)/")

    assert created["Date"] == "/Date(1777593600000+0000)/"
    assert created["DateString"] == "2026-05-01T00:00:00"
    assert created["DueDateString"] == "2026-05-31T00:00:00"
    assert created["DueDate"] == "/Date(1780185600000+0000)/"
    assert created["UpdatedDateUTC"].startswith("/Date(")


def test_sales_invoice_numbers_are_unique_and_missing_ones_are_generated(xero: Api, customer: str):
    create_invoice(xero, customer, "INV-100")

    again = xero.put("Invoices", {"Invoices": [invoice(customer, "INV-100")]})
    generated = [create_invoice(xero, customer, None)["InvoiceNumber"] for _ in range(2)]
    bill = invoice(customer, "INV-100", Type="ACCPAY", LineItems=[line(account="400", tax="INPUT2")])

    assert again.status == 400
    assert again.messages() == ["Invoice # must be unique."]
    assert generated == ["INV-0001", "INV-0002"]
    assert xero.put("Invoices", {"Invoices": [bill]}).status == 200  # bills' numbers need not be unique


def test_post_by_invoice_number_updates_rather_than_duplicates(xero: Api, customer: str):
    created = create_invoice(xero, customer, "INV-7", status="DRAFT")

    posted = xero.post("Invoices", {"Invoices": [invoice(customer, "INV-7", status="DRAFT", Reference="PO 9")]})

    assert posted.one("Invoices")["InvoiceID"] == created["InvoiceID"]
    assert posted.one("Invoices")["Reference"] == "PO 9"
    assert len(xero.get("Invoices").items("Invoices")) == 1


def test_post_updates_by_invoice_id_in_the_body_or_the_path(xero: Api, customer: str):
    invoice_id = create_invoice(xero, customer, status="DRAFT")["InvoiceID"]

    by_body = xero.post("Invoices", {"Invoices": [{"InvoiceID": invoice_id, "Reference": "first"}]})
    by_path = xero.post(f"Invoices/{invoice_id}", {"Invoices": [{"Reference": "second", "LineItems": [line("5")]}]})
    unknown = xero.post("Invoices", {"Invoices": [{"InvoiceID": "00000000-0000-0000-0000-0000000000aa"}]})

    assert by_body.one("Invoices")["Reference"] == "first"
    assert by_path.one("Invoices")["Reference"] == "second"
    assert by_path.one("Invoices")["Total"] == 5.75
    assert unknown.messages() == [rules.INVOICE_NOT_FOUND]
    assert xero.post("Invoices/00000000-0000-0000-0000-0000000000aa", {"Invoices": [{}]}).status == 404


def test_put_never_updates(xero: Api, customer: str):
    invoice_id = create_invoice(xero, customer)["InvoiceID"]

    answer = xero.put("Invoices", {"Invoices": [{"InvoiceID": invoice_id, "Reference": "x"}]})

    assert answer.status == 400
    assert xero.get(f"Invoices/{invoice_id}").one("Invoices")["Reference"] == ""


ALLOWED = [
    ("DRAFT", "SUBMITTED"),
    ("DRAFT", "AUTHORISED"),
    ("DRAFT", "DELETED"),
    ("SUBMITTED", "AUTHORISED"),
    ("SUBMITTED", "DELETED"),
    ("AUTHORISED", "VOIDED"),
]
REFUSED = [
    ("DRAFT", "VOIDED"),
    ("AUTHORISED", "DELETED"),
    ("AUTHORISED", "DRAFT"),
    ("SUBMITTED", "DRAFT"),
]


@pytest.mark.parametrize(("start", "end"), ALLOWED)
def test_allowed_status_changes(xero: Api, customer: str, start: str, end: str):
    invoice_id = create_invoice(xero, customer, status=start)["InvoiceID"]

    answer = xero.post(f"Invoices/{invoice_id}", {"Invoices": [{"Status": end}]})

    assert answer.status == 200, answer.body
    assert answer.one("Invoices")["Status"] == end


@pytest.mark.parametrize(("start", "end"), REFUSED)
def test_refused_status_changes(xero: Api, customer: str, start: str, end: str):
    invoice_id = create_invoice(xero, customer, status=start)["InvoiceID"]

    answer = xero.post(f"Invoices/{invoice_id}", {"Invoices": [{"Status": end}]})

    assert answer.status == 400
    assert answer.messages() == ["Invoice not of valid status for modification"]
    assert xero.get(f"Invoices/{invoice_id}").one("Invoices")["Status"] == start


@pytest.mark.parametrize("final", ["VOIDED", "DELETED", "PAID"])
def test_paid_voided_and_deleted_invoices_cannot_be_edited(xero: Api, customer: str, final: str):
    created = create_invoice(xero, customer, status="DRAFT" if final == "DELETED" else "AUTHORISED")
    invoice_id = created["InvoiceID"]
    if final == "PAID":
        assert pay(xero, invoice_id, "115.00").status == 200
    else:
        xero.post(f"Invoices/{invoice_id}", {"Invoices": [{"Status": final}]})

    answer = xero.post(f"Invoices/{invoice_id}", {"Invoices": [{"Reference": "too late"}]})

    assert answer.status == 400
    assert answer.messages() == ["Invoice not of valid status for modification"]


def test_creating_in_a_final_status_is_refused(xero: Api, customer: str):
    answer = xero.put("Invoices", {"Invoices": [invoice(customer, status="PAID")]})

    assert answer.messages() == [rules.CANNOT_CREATE_STATUS]


def test_authorised_invoice_lines_change_only_while_unpaid_and_voiding_needs_no_payments(xero: Api, customer: str):
    invoice_id = create_invoice(xero, customer, LineItems=[line("100.00"), line("100.00")])["InvoiceID"]
    edited = xero.post(f"Invoices/{invoice_id}", {"Invoices": [{"LineItems": [line("200.00")]}]})
    assert edited.status == 200
    assert edited.one("Invoices")["Total"] == 230.00

    assert pay(xero, invoice_id, "30.00").status == 200
    relined = xero.post(f"Invoices/{invoice_id}", {"Invoices": [{"LineItems": [line("300.00")]}]})
    referenced = xero.post(f"Invoices/{invoice_id}", {"Invoices": [{"Reference": "still fine"}]})
    voided = xero.post(f"Invoices/{invoice_id}", {"Invoices": [{"Status": "VOIDED"}]})

    assert relined.messages() == [rules.HAS_PAYMENTS]
    assert referenced.status == 200
    assert voided.status == 400
    assert voided.messages() == [rules.status_blocked_by_payments("VOIDED")]
    assert xero.get(f"Invoices/{invoice_id}").one("Invoices")["Status"] == "AUTHORISED"


def test_authorising_needs_a_due_date(xero: Api, customer: str):
    body = invoice(customer)
    del body["DueDate"]

    answer = xero.put("Invoices", {"Invoices": [body]})
    draft = xero.put("Invoices", {"Invoices": [body | {"Status": "DRAFT"}]})

    assert answer.messages() == [rules.DUE_DATE_REQUIRED]
    assert draft.status == 200


@pytest.mark.parametrize(
    ("tax", "message"),
    [
        ("NOPE", line_rules.tax_type_invalid("NOPE")),
        ("OUTPUT", line_rules.tax_type_invalid("OUTPUT")),  # archived
        ("INPUT2", line_rules.tax_type_invalid("INPUT2")),  # expenses only, on a sales invoice
    ],
)
def test_tax_type_must_exist_be_active_and_apply_to_revenue(xero: Api, customer: str, tax: str, message: str):
    answer = xero.put("Invoices", {"Invoices": [invoice(customer, LineItems=[line(tax=tax)])]})

    assert answer.messages() == [message]
    assert message.startswith("The TaxType code ")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("999", line_rules.account_invalid("999")),
        ("090", line_rules.account_invalid("090")),  # a bank account
        ("299", line_rules.account_archived("299")),
    ],
)
def test_account_code_must_exist_be_active_and_not_a_bank_account(xero: Api, customer: str, code: str, message: str):
    answer = xero.put("Invoices", {"Invoices": [invoice(customer, LineItems=[line(account=code)])]})

    assert answer.messages() == [message]


def test_a_line_without_a_tax_type_takes_the_accounts_default(xero: Api, customer: str):
    bare = line()
    del bare["TaxType"]

    created = create_invoice(xero, customer, LineItems=[bare])

    assert created["LineItems"][0]["TaxType"] == "OUTPUT2"
    assert created["TotalTax"] == 15.00


def test_currency_must_be_the_base_or_one_of_the_organisations(xero: Api, customer: str):
    assert create_invoice(xero, customer, "INV-NZD", CurrencyCode="NZD")["CurrencyCode"] == "NZD"
    assert create_invoice(xero, customer, "INV-AUD", CurrencyCode="AUD")["CurrencyCode"] == "AUD"

    answer = xero.put("Invoices", {"Invoices": [invoice(customer, "INV-GBP", CurrencyCode="GBP")]})

    assert answer.messages() == [rules.currency_invalid("GBP")]


def test_contact_by_id_number_or_name_and_a_new_name_creates_the_contact(xero: Api, customer: str):
    create_contact(xero, "Numbered", ContactNumber="C-77")

    by_number = create_invoice(xero, customer, "INV-1", Contact={"ContactNumber": "C-77"})
    by_name = create_invoice(xero, customer, "INV-2", Contact={"Name": "acme ltd"})
    new = create_invoice(xero, customer, "INV-3", Contact={"Name": "Walk-in Customer"})
    missing = xero.put("Invoices", {"Invoices": [invoice(customer, "INV-4", Contact={})]})
    unknown = xero.put(
        "Invoices",
        {"Invoices": [invoice(customer, "INV-5", Contact={"ContactID": "00000000-0000-0000-0000-0000000000bb"})]},
    )

    assert by_number["Contact"]["Name"] == "Numbered"
    assert by_name["Contact"]["ContactID"] == customer
    assert new["Contact"]["Name"] == "Walk-in Customer"
    walk_in = xero.get(f"Contacts/{new['Contact']['ContactID']}").one("Contacts")
    assert walk_in["IsCustomer"] is True
    assert missing.messages() == ["A Contact must be specified for this type of transaction"]
    assert unknown.messages() == [rules.contact_not_found("00000000-0000-0000-0000-0000000000bb")]
    assert len(xero.get("Contacts").items("Contacts")) == 3


def test_a_refused_invoice_creates_no_contact(xero: Api, customer: str):
    answer = xero.put(
        "Invoices", {"Invoices": [invoice(customer, Contact={"Name": "Ghost"}, LineItems=[line(tax="NOPE")])]}
    )

    assert answer.status == 400
    assert [c["Name"] for c in xero.get("Contacts").items("Contacts")] == ["Acme Ltd"]


def test_line_amount_that_disagrees_with_quantity_and_price_is_refused(xero: Api, customer: str):
    answer = xero.put("Invoices", {"Invoices": [invoice(customer, LineItems=[line("10.00", 2, LineAmount=25)])]})

    assert answer.messages() == [line_rules.line_total_mismatch(Decimal("25.00"), Decimal("20.00"))]


def test_discounts_only_on_sales_invoices(xero: Api, customer: str):
    bill = invoice(customer, Type="ACCPAY", LineItems=[line(account="400", tax="INPUT2", DiscountRate=10)])

    assert xero.put("Invoices", {"Invoices": [bill]}).messages() == [line_rules.DISCOUNT_NOT_ALLOWED]


def test_batch_of_fifty_with_summarize_errors_false(xero: Api, customer: str):
    batch = [invoice(customer, f"B-{n}") for n in range(49)] + [invoice(customer, "B-1")]

    answer = xero.put("Invoices", {"Invoices": batch}, summarizeErrors="false")

    assert answer.status == 200
    results = answer.items("Invoices")
    assert len(results) == 50
    assert all(r["StatusAttributeString"] == "OK" for r in results[:49])
    assert results[49]["StatusAttributeString"] == "ERROR"
    assert results[49]["HasErrors"] is True
    assert results[49]["ValidationErrors"] == [{"Message": "Invoice # must be unique."}]


def test_reads_filter_by_ids_numbers_where_and_carry_lines_only_when_paged(xero: Api, customer: str):
    made = [create_invoice(xero, customer, f"R-{n}") for n in range(3)]

    by_ids = xero.get("Invoices", IDs=f"{made[0]['InvoiceID']},{made[1]['InvoiceID']}").items("Invoices")
    by_numbers = xero.get("Invoices", InvoiceNumbers="R-1,R-2").items("Invoices")
    by_where = xero.get("Invoices", where='InvoiceNumber=="R-0" OR InvoiceNumber=="R-2"').items("Invoices")
    paged = xero.get("Invoices", page=1)
    single = xero.get(f"Invoices/{made[0]['InvoiceID']}").one("Invoices")
    by_number = xero.get("Invoices/R-2").one("Invoices")

    assert {i["InvoiceNumber"] for i in by_ids} == {"R-0", "R-1"}
    assert {i["InvoiceNumber"] for i in by_numbers} == {"R-1", "R-2"}
    assert {i["InvoiceNumber"] for i in by_where} == {"R-0", "R-2"}
    assert all("LineItems" not in i for i in by_ids)
    assert all(len(i["LineItems"]) == 1 for i in paged.items("Invoices"))
    assert paged.body["pagination"]["itemCount"] == 3
    assert len(single["LineItems"]) == 1
    assert by_number["InvoiceID"] == made[2]["InvoiceID"]
    assert xero.get("Invoices/00000000-0000-0000-0000-000000000000").status == 404


def test_older_accounting_transactions_scope_reaches_invoices(sandbox_app, xero: Api, customer: str):
    legacy = xero.with_token(sandbox_app.state.grant_access(["accounting.transactions"]))
    contacts_only = xero.with_token(sandbox_app.state.grant_access(["accounting.contacts"]))

    assert legacy.put("Invoices", {"Invoices": [invoice(customer)]}).status == 200
    assert contacts_only.put("Invoices", {"Invoices": [invoice(customer, "INV-2")]}).status == 403
    assert contacts_only.get("Invoices").status == 403
