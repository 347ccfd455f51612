"""Payments: only against AUTHORISED invoices, only to payable accounts, never above the amount due."""

from __future__ import annotations

from decimal import Decimal

import pytest

from local.xero_sandbox import payments as rules
from tests.sandbox.conftest import Api, create_contact, create_invoice, pay


@pytest.fixture
def invoice_id(xero: Api) -> str:
    contact_id = create_contact(xero, "Payer Ltd")
    return str(create_invoice(xero, contact_id, "INV-P1")["InvoiceID"])  # 100 + 15 GST = 115.00


def test_partial_then_full_payment_makes_the_invoice_paid(xero: Api, invoice_id: str):
    first = pay(xero, invoice_id, "15.00", Reference="deposit")
    assert first.status == 200
    payment = first.one("Payments")
    assert payment["Status"] == "AUTHORISED"
    assert payment["PaymentType"] == "ACCRECPAYMENT"
    assert payment["Amount"] == 15.00
    assert payment["Reference"] == "deposit"
    assert payment["Invoice"]["InvoiceID"] == invoice_id
    assert payment["Date"] == "/Date(1778371200000+0000)/"
    halfway = xero.get(f"Invoices/{invoice_id}").one("Invoices")
    assert (halfway["Status"], halfway["AmountPaid"], halfway["AmountDue"]) == ("AUTHORISED", 15.00, 100.00)

    assert pay(xero, invoice_id, "100.00").status == 200

    paid = xero.get(f"Invoices/{invoice_id}").one("Invoices")
    assert (paid["Status"], paid["AmountPaid"], paid["AmountDue"]) == ("PAID", 115.00, 0)
    assert paid["FullyPaidOnDate"] == "/Date(1778371200000+0000)/"
    assert len(paid["Payments"]) == 2


def test_never_above_the_amount_due(xero: Api, invoice_id: str):
    answer = pay(xero, invoice_id, "115.01")

    assert answer.status == 400
    assert answer.messages() == ["Payment amount exceeds the amount outstanding on this document"]
    assert xero.get(f"Invoices/{invoice_id}").one("Invoices")["AmountPaid"] == 0


@pytest.mark.parametrize("status", ["DRAFT", "SUBMITTED"])
def test_only_against_authorised_invoices(xero: Api, status: str):
    contact_id = create_contact(xero, "Early Payer")
    invoice_id = create_invoice(xero, contact_id, "INV-D", status=status)["InvoiceID"]

    answer = pay(xero, invoice_id, "1.00")

    assert answer.messages() == ["Payments can only be made against Authorised documents"]


def test_paid_invoice_takes_no_more_payments(xero: Api, invoice_id: str):
    pay(xero, invoice_id, "115.00")

    assert pay(xero, invoice_id, "1.00").messages() == [rules.ONLY_AUTHORISED]


@pytest.mark.parametrize(
    ("account", "accepted"),
    [
        ({"Code": "090"}, True),  # BANK
        ({"Code": "877"}, True),  # EnablePaymentsToAccount
        ({"Code": "200"}, False),  # revenue
        ({"Code": "878"}, False),  # payments enabled, but archived
    ],
)
def test_only_to_bank_or_payment_enabled_accounts(xero: Api, invoice_id: str, account: dict[str, str], accepted: bool):
    answer = xero.put(
        "Payments",
        {"Payments": [{"Invoice": {"InvoiceID": invoice_id}, "Account": account, "Amount": Decimal("1.00")}]},
    )

    if accepted:
        assert answer.status == 200
    else:
        assert answer.messages() == ["Account type is invalid for making a payment to/from"]


def test_account_by_id_invoice_by_number_and_missing_account(sandbox_app, xero: Api, invoice_id: str):
    savings = sandbox_app.state.organisations[xero.tenant_id].account_by_code("091")
    by_id = xero.put(
        "Payments",
        {
            "Payments": [
                {"Invoice": {"InvoiceNumber": "INV-P1"}, "Account": {"AccountID": savings["AccountID"]}, "Amount": 5}
            ]
        },
    )
    no_account = xero.put("Payments", {"Payments": [{"Invoice": {"InvoiceID": invoice_id}, "Amount": 5}]})
    no_invoice = xero.put("Payments", {"Payments": [{"Account": {"Code": "090"}, "Amount": 5}]})

    assert by_id.one("Payments")["Account"]["Code"] == "091"
    assert by_id.one("Payments")["Invoice"]["InvoiceID"] == invoice_id
    assert no_account.messages() == ["You must specify and Account code or Account ID for the payment"]
    assert no_invoice.messages() == [rules.INVOICE_REQUIRED]


def test_post_takes_a_single_payment_and_get_filters_by_invoice(xero: Api, invoice_id: str):
    other = create_invoice(xero, create_contact(xero, "Other"), "INV-P2")["InvoiceID"]
    single = xero.post("Payments", {"Invoice": {"InvoiceID": invoice_id}, "Account": {"Code": "090"}, "Amount": 10})
    pay(xero, other, "20.00")

    found = xero.get("Payments", where=f'Invoice.InvoiceID==guid("{invoice_id}")').items("Payments")
    fetched = xero.get(f"Payments/{single.one('Payments')['PaymentID']}").one("Payments")

    assert single.status == 200
    assert [p["Amount"] for p in found] == [10.00]
    assert fetched["Invoice"]["InvoiceNumber"] == "INV-P1"
    assert xero.get("Payments/00000000-0000-0000-0000-000000000000").status == 404


def test_deleting_a_payment_gives_the_amount_back_and_reopens_a_paid_invoice(xero: Api, invoice_id: str):
    payment_id = pay(xero, invoice_id, "115.00").one("Payments")["PaymentID"]

    deleted = xero.post(f"Payments/{payment_id}", {"Status": "DELETED"})
    again = xero.post(f"Payments/{payment_id}", {"Payments": [{"Status": "DELETED"}]})

    assert deleted.one("Payments")["Status"] == "DELETED"
    reopened = xero.get(f"Invoices/{invoice_id}").one("Invoices")
    assert (reopened["Status"], reopened["AmountPaid"], reopened["AmountDue"]) == ("AUTHORISED", 0, 115.00)
    assert reopened["Payments"] == []
    assert again.messages() == [rules.ALREADY_DELETED]
    assert xero.post(f"Invoices/{invoice_id}", {"Invoices": [{"Status": "VOIDED"}]}).status == 200


def test_summarize_errors_false_for_payments(xero: Api, invoice_id: str):
    good = {"Invoice": {"InvoiceID": invoice_id}, "Account": {"Code": "090"}, "Amount": 5}
    bad = good | {"Amount": 500}

    answer = xero.put("Payments", {"Payments": [good, bad]}, summarizeErrors="false")

    ok, failed = answer.items("Payments")
    assert answer.status == 200
    assert ok["StatusAttributeString"] == "OK"
    assert failed["StatusAttributeString"] == "ERROR"
    assert failed["HasValidationErrors"] is True
    assert failed["ValidationErrors"] == [{"Message": rules.EXCEEDS_DUE}]
