"""Credit notes, allocations and refunds end to end: SQS through the real handlers to the Xero sandbox."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.xero_sandbox import SandboxServer
from local.xero_sandbox.faults import FaultRule
from shared import wiring
from shared.models.records import CreditNoteRecord
from tests.support.push import configure, dead_letters, invoke, make_due, message, org, sqs_event

pytestmark = pytest.mark.usefixtures("service_env")
ACCOUNT = "acct-demo"
CREDIT = "11-credit-note-issued.json"  # CN-9001: 57.50, 40.00 of it applied to INV-5002 (252.50)
REFUND = "12-refund-recorded.json"  # 17.50 paid back out of CN-9001


@pytest.fixture
def account(service_env: dict[str, str], sandbox: SandboxServer) -> dict[str, str]:
    configure(service_env, sandbox, ACCOUNT)
    return service_env


def credit_notes(sandbox: SandboxServer) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = org(sandbox).raw["credit_notes"]
    return found


def only_credit_note(sandbox: SandboxServer) -> dict[str, Any]:
    found = credit_notes(sandbox)
    assert len(found) == 1, found
    return found[0]


def record(credit_note_id: str = "cn-9001") -> CreditNoteRecord:
    found = wiring.sync_records().load(ACCOUNT, "CREDIT_NOTE", [credit_note_id]).get(credit_note_id)
    assert isinstance(found, CreditNoteRecord)
    return found


def failure_codes(env: dict[str, str]) -> list[str]:
    return [m["MessageAttributes"]["failure_code"]["StringValue"] for m in dead_letters(env)]


def invoice_sent() -> dict[str, Any]:
    return message("06-invoice-inclusive.json")


def invoice_of(total: str, net: str, tax: str) -> dict[str, Any]:
    """INV-5002 with one line of ``total`` (tax included)."""
    body = invoice_sent()
    body["data"]["line_items"] = [{"description": "Platter", "quantity": "1", "unit_price": total, "tax_id": "gst-15"}]
    body["data"]["totals"] = {"subtotal": net, "total_tax": tax, "total": total}
    return body


def test_issue_allocate_in_part_then_refund_the_rest(account: dict[str, str], sandbox: SandboxServer) -> None:
    assert invoke(sqs_event([invoice_sent()])) == []
    assert invoke(sqs_event([message(CREDIT)])) == []
    note = only_credit_note(sandbox)
    assert (note["Type"], note["Status"], note["CreditNoteNumber"]) == ("ACCRECCREDIT", "AUTHORISED", "CN-9001")
    assert (note["Total"], note["RemainingCredit"]) == (57.5, 17.5)
    assert [a["Amount"] for a in note["Allocations"]] == [40.0]
    invoice = org(sandbox).invoice("INV-5002")
    assert (invoice["AmountCredited"], invoice["AmountDue"]) == (40.0, 212.5)
    assert record().allocated == {"inv-5002": 40}

    assert invoke(sqs_event([message(REFUND)])) == []
    note = only_credit_note(sandbox)
    assert (note["Status"], note["RemainingCredit"]) == ("PAID", 0)
    refunds = [p for p in org(sandbox).payments if p["PaymentType"] == "ARCREDITPAYMENT"]
    assert [(p["Amount"], p["Reference"]) for p in refunds] == [(17.5, "Refund to card [rf-9101]")]
    assert record().refunded == 17.5


def test_a_full_allocation_pays_the_invoice(account: dict[str, str], sandbox: SandboxServer) -> None:
    invoke(sqs_event([invoice_of("57.50", "50.00", "7.50")]))
    full = message(CREDIT, applied_to=[{"invoice_id": "inv-5002", "amount": "57.50"}])
    assert invoke(sqs_event([full])) == []
    assert org(sandbox).invoice("INV-5002")["Status"] == "PAID"
    assert only_credit_note(sandbox)["Status"] == "PAID"


def test_an_allocation_that_arrives_before_its_invoice_waits_then_lands(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    credit = sqs_event([message(CREDIT)])
    assert invoke(credit) == [credit["Records"][0]["messageId"]], "the allocation waits for its invoice"
    assert only_credit_note(sandbox)["Status"] == "AUTHORISED", "the credit note itself is in Xero already"
    assert only_credit_note(sandbox)["Allocations"] == []
    invoke(sqs_event([invoice_sent()]))
    assert make_due() == []
    assert [a["Amount"] for a in only_credit_note(sandbox)["Allocations"]] == [40.0]


def test_a_refund_before_its_credit_note_waits_then_lands(account: dict[str, str], sandbox: SandboxServer) -> None:
    refund = sqs_event([message(REFUND)])
    assert invoke(refund) == [refund["Records"][0]["messageId"]]
    invoke(sqs_event([invoice_sent(), message(CREDIT)]))
    assert make_due() == []
    assert only_credit_note(sandbox)["RemainingCredit"] == 0


def test_duplicates_and_older_versions_change_nothing(account: dict[str, str], sandbox: SandboxServer) -> None:
    newer = message(CREDIT, version=2, reference="Platter returned (updated)")
    older = message(CREDIT)
    refund = message(REFUND)
    assert invoke(sqs_event([invoice_sent(), newer, newer, refund])) == []
    assert invoke(sqs_event([json.dumps(newer), refund], receive_count=2)) == []
    assert invoke(sqs_event([older])) == []
    note = only_credit_note(sandbox)
    assert note["Reference"] == "Platter returned (updated)"
    assert len(note["Allocations"]) == 1
    assert len([p for p in org(sandbox).payments if p["PaymentType"] == "ARCREDITPAYMENT"]) == 1
    assert record().skipped_count == 1
    assert dead_letters(account) == []


def test_a_dropped_answer_does_not_duplicate_the_credit_note_its_allocation_or_refund(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    invoke(sqs_event([invoice_sent()]))
    sandbox.sandbox.faults.set(
        [
            FaultRule(kind="drop", method="PUT", path="/api.xro/2.0/CreditNotes", times=1),
            FaultRule(kind="drop", method="PUT", path="/api.xro/2.0/Payments", times=1),
        ]
    )
    credit, refund = message(CREDIT), message(REFUND)
    invoke(sqs_event([credit, refund]))
    invoke(sqs_event([credit, refund], receive_count=2))
    make_due()
    note = only_credit_note(sandbox)
    assert len(note["Allocations"]) == 1
    assert note["RemainingCredit"] == 0
    assert len([p for p in org(sandbox).payments if p["PaymentType"] == "ARCREDITPAYMENT"]) == 1


def test_void_a_draft_deletes_and_void_an_issued_one_voids(account: dict[str, str], sandbox: SandboxServer) -> None:
    draft = message(CREDIT, status="draft", applied_to=[])
    invoke(sqs_event([draft]))
    assert only_credit_note(sandbox)["Status"] == "DRAFT"
    assert invoke(sqs_event([message(CREDIT, version=2, status="void", applied_to=[])])) == []
    assert only_credit_note(sandbox)["Status"] == "DELETED"

    issued = message(CREDIT, credit_note_id="cn-9002", number="CN-9002", applied_to=[])
    invoke(sqs_event([issued]))
    voided = message(CREDIT, credit_note_id="cn-9002", number="CN-9002", version=2, status="void", applied_to=[])
    assert invoke(sqs_event([voided])) == []
    statuses = {n["CreditNoteNumber"]: n["Status"] for n in credit_notes(sandbox)}
    assert statuses == {"CN-9001": "DELETED", "CN-9002": "VOIDED"}


def test_voiding_a_used_credit_note_is_refused_with_what_to_do(account: dict[str, str], sandbox: SandboxServer) -> None:
    invoke(sqs_event([invoice_sent(), message(CREDIT)]))
    invoke(sqs_event([message(CREDIT, version=2, status="void")]))
    assert only_credit_note(sandbox)["Status"] == "AUTHORISED"
    assert failure_codes(account) == ["credit_note_used"]
    failed = record()
    assert failed.state == "failed"
    assert "NZD 40.00 allocated to invoices" in (failed.error_message or "")


def test_voiding_an_invoice_with_a_credit_note_allocated_is_refused(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    invoke(sqs_event([invoice_sent(), message(CREDIT)]))
    voided = message("08-invoice-voided.json", invoice_id="inv-5002", number="INV-5002", version=2)
    invoke(sqs_event([voided]))
    assert org(sandbox).invoice("INV-5002")["Status"] == "AUTHORISED"
    assert failure_codes(account) == ["invoice_has_payments"]
    found = wiring.sync_records().invoice(ACCOUNT, "inv-5002")
    assert found is not None
    assert "credit notes allocated" in (found.error_message or "")


def test_more_credit_than_the_invoice_has_due_is_refused_before_sending(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    invoke(sqs_event([invoice_of("23.00", "20.00", "3.00")]))
    invoke(sqs_event([message(CREDIT)]))
    assert failure_codes(account) == ["credit_exceeds_invoice_due"]
    assert credit_notes(sandbox) == [], "nothing was written to Xero"
    assert "NZD 40.00 more to invoice INV-5002, which has only NZD 23.00 due" in (record().error_message or "")


def test_a_refund_above_the_credit_left_is_refused(account: dict[str, str], sandbox: SandboxServer) -> None:
    invoke(sqs_event([invoice_sent(), message(CREDIT)]))
    invoke(sqs_event([message(REFUND, amount="17.51")]))
    assert failure_codes(account) == ["refund_exceeds_credit"]
    assert only_credit_note(sandbox)["RemainingCredit"] == 17.5


def test_reducing_what_is_applied_to_an_invoice_is_refused(account: dict[str, str], sandbox: SandboxServer) -> None:
    invoke(sqs_event([invoice_sent(), message(CREDIT)]))
    invoke(sqs_event([message(CREDIT, version=2, applied_to=[{"invoice_id": "inv-5002", "amount": "10.00"}])]))
    assert failure_codes(account) == ["credit_allocation_reduced"]
    assert [a["Amount"] for a in only_credit_note(sandbox)["Allocations"]] == [40.0]


def test_adding_an_allocation_in_a_new_version(account: dict[str, str], sandbox: SandboxServer) -> None:
    invoke(sqs_event([invoice_sent(), message(CREDIT)]))
    more = message(CREDIT, version=2, applied_to=[{"invoice_id": "inv-5002", "amount": "57.50"}])
    assert invoke(sqs_event([more])) == []
    note = only_credit_note(sandbox)
    assert [a["Amount"] for a in note["Allocations"]] == [40.0, 17.5]
    assert org(sandbox).invoice("INV-5002")["AmountDue"] == 195.0


def test_the_management_api_tells_a_credit_notes_status_and_failures(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    from tests.support.api import ManagementApi

    api = ManagementApi()
    base = f"/v1/accounts/{ACCOUNT}"
    invoke(sqs_event([invoice_sent(), message(CREDIT)]))
    status = api.get(f"{base}/credit-notes/cn-9001/sync")
    assert status.status == 200
    assert (status.body["state"], status.body["xero_status"], status.body["total"]) == ("synced", "AUTHORISED", "57.50")
    assert (status.body["allocated"], status.body["remaining_credit"]) == ({"inv-5002": "40.00"}, "17.50")
    assert api.get(f"{base}/credit-notes/cn-none/sync").code == "unknown_credit_note"

    invoke(sqs_event([message(REFUND, amount="30.00")]))
    failures = api.get(f"{base}/sync-failures").body["failures"]
    assert [(f["credit_note_id"], f["refund_id"], f["failure"]["code"]) for f in failures] == [
        ("cn-9001", "rf-9101", "refund_exceeds_credit")
    ]


def test_a_credit_note_whose_answers_were_lost_is_found_in_xero_not_created_again(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    invoke(sqs_event([invoice_sent()]))
    # The create and its replay both lose their answers: Xero made it, the push does not know.
    sandbox.sandbox.faults.set([FaultRule(kind="drop", method="PUT", path="/api.xro/2.0/CreditNotes", times=2)])
    credit = sqs_event([message(CREDIT)])
    assert invoke(credit) == [credit["Records"][0]["messageId"]]
    assert record().sending, "the record says a create was sent"
    # A newer version (another request, another Idempotency-Key) must find it rather than create a second.
    assert invoke(sqs_event([message(CREDIT, version=2, reference="second")])) == []
    make_due()
    note = only_credit_note(sandbox)
    assert note["Reference"] == "second"
    assert [a["Amount"] for a in note["Allocations"]] == [40.0]
    assert not record().sending


def test_an_allocation_whose_invoice_never_comes_ends_on_the_dlq_with_its_reason(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    invoke(sqs_event([message(CREDIT)]))
    assert make_due(attempts=7) == [], "its eighth try: to the dead-letter queue"
    letters = dead_letters(account)
    assert [m["MessageAttributes"]["failure_code"]["StringValue"] for m in letters] == ["invoice_not_synced"]
    failed = record()
    assert (failed.state, failed.error_code) == ("failed", "invoice_not_synced")
    assert failed.xero_credit_note_id, "the credit note itself stays in Xero"
