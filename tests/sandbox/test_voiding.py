"""An invoice with payments cannot be voided (nor take any other status) by any path, in Xero's words."""

from __future__ import annotations

import pytest

from local.xero_sandbox import invoices as rules
from tests.sandbox.conftest import Api, create_contact, create_invoice, invoice, pay

VOID_REFUSED = (
    "The status VOIDED cannot be applied to the invoice because it has payments or credit notes allocated to it."
)


@pytest.fixture
def paid_in_part(xero: Api) -> dict[str, str]:
    customer = create_contact(xero, "Part Payer")
    created = create_invoice(xero, customer, "INV-PART")
    payment = pay(xero, created["InvoiceID"], "10.00")
    assert payment.status == 200
    return {"InvoiceID": created["InvoiceID"], "PaymentID": payment.one("Payments")["PaymentID"], "contact": customer}


def status_of(xero: Api, invoice_id: str) -> str:
    return str(xero.get(f"Invoices/{invoice_id}").one("Invoices")["Status"])


def test_the_wording_is_xeros():
    assert rules.status_blocked_by_payments("VOIDED") == VOID_REFUSED


def test_voiding_by_id_in_a_batch_is_refused_and_the_rest_of_the_batch_goes_through(xero: Api, paid_in_part):
    batch = [{"InvoiceID": paid_in_part["InvoiceID"], "Status": "VOIDED"}, invoice(paid_in_part["contact"], "INV-NEXT")]

    answer = xero.post("Invoices", {"Invoices": batch}, summarizeErrors="false")

    refused, created = answer.items("Invoices")
    assert refused["ValidationErrors"] == [{"Message": VOID_REFUSED}]
    assert created["StatusAttributeString"] == "OK"
    assert status_of(xero, paid_in_part["InvoiceID"]) == "AUTHORISED"


def test_voiding_through_the_invoice_path_is_refused(xero: Api, paid_in_part):
    answer = xero.post(f"Invoices/{paid_in_part['InvoiceID']}", {"Invoices": [{"Status": "VOIDED"}]})

    assert answer.status == 400
    assert answer.messages() == [VOID_REFUSED]


def test_voiding_by_invoice_number_is_refused(xero: Api, paid_in_part):
    answer = xero.post("Invoices", {"Invoices": [{"InvoiceNumber": "INV-PART", "Type": "ACCREC", "Status": "VOIDED"}]})

    assert answer.messages() == [VOID_REFUSED]


def test_put_never_voids(xero: Api, paid_in_part):
    answer = xero.put("Invoices", {"Invoices": [{"InvoiceID": paid_in_part["InvoiceID"], "Status": "VOIDED"}]})

    assert answer.status == 400
    assert status_of(xero, paid_in_part["InvoiceID"]) == "AUTHORISED"


def test_a_paid_invoice_takes_no_status_either(xero: Api, paid_in_part):
    assert pay(xero, paid_in_part["InvoiceID"], "105.00").status == 200  # 115.00 in all
    assert status_of(xero, paid_in_part["InvoiceID"]) == "PAID"

    voided = xero.post(f"Invoices/{paid_in_part['InvoiceID']}", {"Invoices": [{"Status": "VOIDED"}]})
    reopened = xero.post(f"Invoices/{paid_in_part['InvoiceID']}", {"Invoices": [{"Status": "AUTHORISED"}]})

    assert voided.messages() == [VOID_REFUSED]
    assert reopened.messages() == [rules.status_blocked_by_payments("AUTHORISED")]


def test_once_the_payments_are_deleted_the_invoice_can_be_voided(xero: Api, paid_in_part):
    assert xero.post(f"Payments/{paid_in_part['PaymentID']}", {"Payments": [{"Status": "DELETED"}]}).status == 200

    voided = xero.post(f"Invoices/{paid_in_part['InvoiceID']}", {"Invoices": [{"Status": "VOIDED"}]})

    assert voided.status == 200
    assert status_of(xero, paid_in_part["InvoiceID"]) == "VOIDED"
