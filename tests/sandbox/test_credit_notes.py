"""Credit notes, their allocations to invoices and refunds out of them, with Xero's rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from local.xero_sandbox import credit_notes as rules
from tests.sandbox.conftest import Api, create_contact, create_invoice, line, pay


def credit_note(contact_id: str, number: str = "CN-1", status: str = "AUTHORISED", **fields: Any) -> dict[str, Any]:
    return {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": contact_id},
        "CreditNoteNumber": number,
        "Date": "2026-05-05",
        "Status": status,
        "LineAmountTypes": "Exclusive",
        "LineItems": [line("40.00")],  # 40 + 15 % GST = 46.00
    } | fields


def create_credit_note(api: Api, contact_id: str, **fields: Any) -> dict[str, Any]:
    answer = api.put("CreditNotes", {"CreditNotes": [credit_note(contact_id, **fields)]})
    assert answer.status == 200, answer.body
    return answer.one("CreditNotes")


def allocate(api: Api, credit_note_id: str, invoice_id: str, amount: str, **params: Any) -> Any:
    body = {"Allocations": [{"Invoice": {"InvoiceID": invoice_id}, "Amount": Decimal(amount), "Date": "2026-05-06"}]}
    return api.put(f"CreditNotes/{credit_note_id}/Allocations", body, **params)


def refund(api: Api, credit_note_id: str, amount: str, **params: Any) -> Any:
    body = {"CreditNote": {"CreditNoteID": credit_note_id}, "Account": {"Code": "090"}, "Date": "2026-05-07"}
    return api.put("Payments", {"Payments": [body | {"Amount": Decimal(amount)}]}, **params)


@pytest.fixture
def parties(xero: Api) -> tuple[str, str]:
    contact_id = create_contact(xero, "Credit Ltd")
    invoice_id = str(create_invoice(xero, contact_id, "INV-C1")["InvoiceID"])  # 115.00
    return contact_id, invoice_id


def test_credit_note_is_booked_like_an_invoice(xero: Api, parties: tuple[str, str]):
    contact_id, _ = parties
    note = create_credit_note(xero, contact_id)
    assert (note["Type"], note["Status"], note["CreditNoteNumber"]) == ("ACCRECCREDIT", "AUTHORISED", "CN-1")
    assert (note["SubTotal"], note["TotalTax"], note["Total"], note["RemainingCredit"]) == (40.0, 6.0, 46.0, 46.0)
    found = xero.get("CreditNotes", where='CreditNoteNumber=="CN-1"').items("CreditNotes")
    assert [n["CreditNoteID"] for n in found] == [note["CreditNoteID"]]


def test_allocate_in_part_then_in_full_then_refund_the_rest(xero: Api, parties: tuple[str, str]):
    contact_id, invoice_id = parties
    note_id = create_credit_note(xero, contact_id)["CreditNoteID"]

    first = allocate(xero, note_id, invoice_id, "10.00", summarizeErrors="false")
    assert first.status == 200
    assert first.one("Allocations")["Invoice"]["AmountDue"] == 105.0
    assert allocate(xero, note_id, invoice_id, "20.00").status == 200
    invoice = xero.get(f"Invoices/{invoice_id}").one("Invoices")
    assert (invoice["AmountCredited"], invoice["AmountDue"], invoice["Status"]) == (30.0, 85.0, "AUTHORISED")
    note = xero.get(f"CreditNotes/{note_id}").one("CreditNotes")
    assert note["RemainingCredit"] == 16.0
    assert [a["Amount"] for a in note["Allocations"]] == [10.0, 20.0]

    paid_back = refund(xero, note_id, "16.00")
    assert paid_back.status == 200, paid_back.body
    assert paid_back.one("Payments")["PaymentType"] == "ARCREDITPAYMENT"
    note = xero.get(f"CreditNotes/{note_id}").one("CreditNotes")
    assert (note["RemainingCredit"], note["Status"]) == (0, "PAID")


def test_full_allocation_pays_the_invoice(xero: Api):
    contact_id = create_contact(xero, "Whole Ltd")
    invoice_id = create_invoice(xero, contact_id, "INV-W", LineItems=[line("40.00")])["InvoiceID"]
    note_id = create_credit_note(xero, contact_id)["CreditNoteID"]
    assert allocate(xero, note_id, invoice_id, "46.00").status == 200
    invoice = xero.get(f"Invoices/{invoice_id}").one("Invoices")
    assert (invoice["Status"], invoice["AmountDue"]) == ("PAID", 0)
    assert xero.get(f"CreditNotes/{note_id}").one("CreditNotes")["Status"] == "PAID"


def test_allocation_never_above_remaining_credit_nor_amount_due(xero: Api, parties: tuple[str, str]):
    contact_id, invoice_id = parties
    note_id = create_credit_note(xero, contact_id)["CreditNoteID"]
    over_credit = allocate(xero, note_id, invoice_id, "46.01", summarizeErrors="false")
    assert over_credit.status == 200
    refused = over_credit.one("Allocations")
    assert refused["StatusAttributeString"] == "ERROR"
    assert [e["Message"] for e in refused["ValidationErrors"]] == [rules.OVER_REMAINING]

    small = create_contact(xero, "Small Ltd")
    small_invoice = create_invoice(xero, small, "INV-S", LineItems=[line("10.00")])["InvoiceID"]  # 11.50
    big_note = create_credit_note(xero, small, number="CN-2")["CreditNoteID"]
    over_due = allocate(xero, big_note, small_invoice, "11.51")
    assert over_due.status == 400
    assert over_due.messages() == [rules.OVER_OUTSTANDING]
    assert xero.get(f"Invoices/{small_invoice}").one("Invoices")["AmountCredited"] == 0


def test_allocation_waits_for_both_sides_to_be_authorised(xero: Api, parties: tuple[str, str]):
    contact_id, _ = parties
    draft_invoice = create_invoice(xero, contact_id, "INV-D", Status="DRAFT")["InvoiceID"]
    note_id = create_credit_note(xero, contact_id)["CreditNoteID"]
    assert rules.INVOICE_NOT_AUTHORISED in allocate(xero, note_id, draft_invoice, "1.00").messages()

    draft_note = create_credit_note(xero, contact_id, number="CN-D", status="DRAFT")["CreditNoteID"]
    _, invoice_id = parties
    assert rules.NOT_AUTHORISED in allocate(xero, draft_note, invoice_id, "1.00").messages()


def test_allocation_to_another_contacts_invoice_is_refused(xero: Api, parties: tuple[str, str]):
    _, invoice_id = parties
    other = create_contact(xero, "Other Ltd")
    note_id = create_credit_note(xero, other)["CreditNoteID"]
    assert allocate(xero, note_id, invoice_id, "1.00").messages() == [rules.OTHER_CONTACT]


def test_refund_never_above_remaining_credit_and_only_when_authorised(xero: Api, parties: tuple[str, str]):
    contact_id, _ = parties
    note_id = create_credit_note(xero, contact_id)["CreditNoteID"]
    over = refund(xero, note_id, "46.01").messages()
    assert over == ["Payment amount exceeds the amount outstanding on this document"]
    draft = create_credit_note(xero, contact_id, number="CN-D", status="DRAFT")["CreditNoteID"]
    assert refund(xero, draft, "1.00").messages() == [rules.ONLY_AUTHORISED]


def test_void_and_delete_and_what_blocks_them(xero: Api, parties: tuple[str, str]):
    contact_id, invoice_id = parties
    draft = create_credit_note(xero, contact_id, number="CN-D", status="DRAFT")["CreditNoteID"]
    deleted = xero.post(f"CreditNotes/{draft}", {"CreditNotes": [{"CreditNoteID": draft, "Status": "DELETED"}]})
    assert deleted.one("CreditNotes")["Status"] == "DELETED"

    plain = create_credit_note(xero, contact_id, number="CN-V")["CreditNoteID"]
    refused = xero.post("CreditNotes", {"CreditNotes": [{"CreditNoteID": plain, "Status": "DELETED"}]})
    assert refused.messages() == ["Invoice not of valid status for modification"]
    voided = xero.post("CreditNotes", {"CreditNotes": [{"CreditNoteID": plain, "Status": "VOIDED"}]})
    assert voided.one("CreditNotes")["Status"] == "VOIDED"

    used = create_credit_note(xero, contact_id, number="CN-U")["CreditNoteID"]
    allocate(xero, used, invoice_id, "5.00")
    blocked = xero.post("CreditNotes", {"CreditNotes": [{"CreditNoteID": used, "Status": "VOIDED"}]})
    assert blocked.messages() == [rules.status_blocked("VOIDED")]
    # Xero does not void an invoice a credit note is allocated to either.
    invoice_void = xero.post("Invoices", {"Invoices": [{"InvoiceID": invoice_id, "Status": "VOIDED"}]})
    assert "credit notes allocated" in invoice_void.messages()[0]


def test_summarize_errors_false_answers_each_element_and_keeps_the_good_ones(xero: Api, parties: tuple[str, str]):
    contact_id, _ = parties
    good, bad = credit_note(contact_id, number="CN-G"), credit_note(contact_id, number="CN-B", Status="PAID")
    answer = xero.put("CreditNotes", {"CreditNotes": [good, bad]}, summarizeErrors="false")
    assert answer.status == 200
    statuses = [n["StatusAttributeString"] for n in answer.items("CreditNotes")]
    assert statuses == ["OK", "ERROR"]
    assert len(xero.get("CreditNotes").items("CreditNotes")) == 1


def test_the_same_idempotency_key_creates_one_credit_note(xero: Api, parties: tuple[str, str]):
    contact_id, _ = parties
    body = {"CreditNotes": [credit_note(contact_id)]}
    first = xero.put("CreditNotes", body, key="cn-key-1")
    again = xero.put("CreditNotes", body, key="cn-key-1")
    assert first.one("CreditNotes")["CreditNoteID"] == again.one("CreditNotes")["CreditNoteID"]
    assert len(xero.get("CreditNotes").items("CreditNotes")) == 1


def test_deleting_a_refund_gives_the_credit_back(xero: Api, parties: tuple[str, str]):
    contact_id, _ = parties
    note_id = create_credit_note(xero, contact_id)["CreditNoteID"]
    payment_id = refund(xero, note_id, "46.00").one("Payments")["PaymentID"]
    assert xero.get(f"CreditNotes/{note_id}").one("CreditNotes")["Status"] == "PAID"
    removed = xero.post(f"Payments/{payment_id}", {"Payments": [{"Status": "DELETED"}]})
    assert removed.status == 200, removed.body
    note = xero.get(f"CreditNotes/{note_id}").one("CreditNotes")
    assert (note["Status"], note["RemainingCredit"]) == ("AUTHORISED", 46.0)


def test_payments_still_refuse_more_than_is_due_after_a_credit(xero: Api, parties: tuple[str, str]):
    contact_id, invoice_id = parties
    note_id = create_credit_note(xero, contact_id)["CreditNoteID"]
    allocate(xero, note_id, invoice_id, "46.00")
    assert pay(xero, invoice_id, "69.01").status == 400
    assert pay(xero, invoice_id, "69.00").status == 200
