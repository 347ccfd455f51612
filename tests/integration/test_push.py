"""The invoice push end to end: SQS batches through the real handler to the Xero sandbox over HTTP."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from local.xero_sandbox import SandboxServer
from local.xero_sandbox.faults import FaultRule
from local.xero_sandbox.seed import NZ_TENANT
from shared import wiring
from shared.models.records import InvoiceRecord
from tests.support.push import (
    configure,
    dead_letters,
    invoke,
    make_due,
    message,
    org,
    outbox_items,
    queued,
    sqs_event,
)

pytestmark = pytest.mark.usefixtures("service_env")
ACCOUNT = "acct-demo"


@pytest.fixture
def account(service_env: dict[str, str], sandbox: SandboxServer) -> dict[str, str]:
    configure(service_env, sandbox, ACCOUNT)
    return service_env


def xero_calls(sandbox: SandboxServer) -> int:
    return int(sandbox.sandbox.state.organisations[NZ_TENANT].stats["calls"])


def record(invoice_id: str) -> InvoiceRecord:
    found = wiring.sync_records().invoice(ACCOUNT, invoice_id)
    assert found is not None
    return found


def test_create_then_approve_then_pay_in_part_and_in_full(account: dict[str, str], sandbox: SandboxServer) -> None:
    assert invoke(sqs_event([message("01-contact-upserted.json"), message("02-invoice-draft.json")])) == []
    xero = org(sandbox)
    draft = xero.invoice("INV-5001")
    assert draft["Status"] == "DRAFT"
    assert float(draft["Total"]) == 194.93
    assert {c["ContactNumber"] for c in xero.contacts} == {"sup-2001", "cus-1001"}

    assert invoke(sqs_event([message("03-invoice-sent.json")])) == []
    assert org(sandbox).invoice("INV-5001")["Status"] == "AUTHORISED"
    assert invoke(sqs_event([message("04-payment-partial.json")])) == []
    assert float(org(sandbox).invoice("INV-5001")["AmountDue"]) == 94.93
    assert invoke(sqs_event([message("05-payment-rest.json")])) == []
    paid = org(sandbox).invoice("INV-5001")
    assert paid["Status"] == "PAID"
    assert len(org(sandbox).payments) == 2
    assert record("inv-5001").last_version == 2


def test_updates_void_and_delete(account: dict[str, str], sandbox: SandboxServer) -> None:
    invoke(sqs_event([message("07-invoice-to-void.json"), message("02-invoice-draft.json")]))
    lines = [{"description": "Coffee beans 1kg", "quantity": "6", "unit_price": "32.00", "tax_id": "gst-15"}]
    assert invoke(sqs_event([message("07-invoice-to-void.json", version=2, line_items=lines)])) == []
    assert float(org(sandbox).invoice("INV-5003")["Total"]) == 220.80
    assert invoke(sqs_event([message("08-invoice-voided.json", version=3)])) == []
    assert org(sandbox).invoice("INV-5003")["Status"] == "VOIDED"
    # A draft is deleted rather than voided, as Xero requires.
    deleted = message("08-invoice-voided.json", invoice_id="inv-5001", number="INV-5001", version=5)
    deleted["type"] = "invoice.deleted"
    assert invoke(sqs_event([deleted])) == []
    statuses = {i["InvoiceNumber"]: i["Status"] for i in org(sandbox).invoices}
    assert statuses["INV-5001"] == "DELETED"


def test_duplicate_and_shuffled_deliveries_make_one_invoice_at_its_newest_version(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    versions = [message("02-invoice-draft.json", version=v, reference=f"v{v}") for v in (1, 2, 3)]
    versions[2]["data"]["status"] = "sent"
    deliveries = versions * 3
    random.Random(7).shuffle(deliveries)
    for start in range(0, len(deliveries), 3):
        assert invoke(sqs_event(deliveries[start : start + 3])) == []
    xero = org(sandbox)
    assert len(xero.invoices) == 1
    assert xero.invoice("INV-5001")["Reference"] == "v3"
    assert xero.invoice("INV-5001")["Status"] == "AUTHORISED"
    assert len([c for c in xero.contacts if c["ContactNumber"] == "cus-1001"]) == 1


def test_an_older_version_after_a_newer_one_is_skipped_and_recorded(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    invoke(sqs_event([message("02-invoice-draft.json", version=4, reference="newest")]))
    calls_before = xero_calls(sandbox)
    assert invoke(sqs_event([message("02-invoice-draft.json", version=2, reference="stale")])) == []
    assert org(sandbox).invoice("INV-5001")["Reference"] == "newest"
    stored = record("inv-5001")
    assert stored.last_version == 4
    assert stored.last_skipped_version == 2
    assert xero_calls(sandbox) == calls_before


def test_unmapped_tax_fails_that_invoice_alone_with_its_reason(account: dict[str, str], sandbox: SandboxServer) -> None:
    assert invoke(sqs_event([message("09-invoice-unmapped-tax.json"), message("06-invoice-inclusive.json")])) == []
    assert [i["InvoiceNumber"] for i in org(sandbox).invoices] == ["INV-5002"]
    failed = record("inv-5004")
    assert failed.state == "failed"
    assert failed.error_code == "unmapped_tax"
    assert "vat-20" in (failed.error_message or "")
    letters = dead_letters(account)
    assert len(letters) == 1
    assert letters[0]["MessageAttributes"]["failure_code"]["StringValue"] == "unmapped_tax"
    assert [f["invoice_id"] for f in wiring.sync_records().failures(ACCOUNT)] == ["inv-5004"]


def test_xero_validation_errors_fail_only_their_own_invoice(account: dict[str, str], sandbox: SandboxServer) -> None:
    bad = message("06-invoice-inclusive.json", invoice_id="inv-bad", number="INV-BAD", currency="EUR", totals=None)
    good = message("02-invoice-draft.json")
    assert invoke(sqs_event([bad, good])) == []
    assert [i["InvoiceNumber"] for i in org(sandbox).invoices] == ["INV-5001"]
    failed = record("inv-bad")
    assert failed.error_code == "xero_validation"
    assert failed.xero_messages


def test_unknown_account_is_parked_not_lost(account: dict[str, str], sandbox: SandboxServer) -> None:
    assert invoke(sqs_event([message("02-invoice-draft.json", account_id="acct-nobody")])) == []
    parked = wiring.sync_records().parked("acct-nobody")
    assert len(parked) == 1
    assert parked[0]["reason"] == "unknown_account"
    assert org(sandbox).invoices == []


def test_a_batch_with_one_malformed_message_and_99_good_ones(account: dict[str, str], sandbox: SandboxServer) -> None:
    bodies: list[dict[str, Any] | str] = [
        message("02-invoice-draft.json", invoice_id=f"inv-{n}", number=f"INV-{n:04d}") for n in range(99)
    ]
    bodies.insert(42, '{"type": "invoice.upserted", "account_id": "acct-demo", "data": {"invoice_id": 7}}')
    assert invoke(sqs_event(bodies)) == []
    assert len(org(sandbox).invoices) == 99
    letters = dead_letters(account)
    assert [m["MessageAttributes"]["failure_code"]["StringValue"] for m in letters] == ["malformed_event"]
    reason = letters[0]["MessageAttributes"]["failure_reason"]["StringValue"]
    assert "data.invoice.invoice_id" in reason or "invoice_id" in reason
    # 99 invoices with one new contact: one contact create, two invoice batches.
    assert xero_calls(sandbox) <= 3


def test_metrics_are_one_value_per_batch(
    account: dict[str, str], sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    bodies: list[dict[str, Any] | str] = [
        message("02-invoice-draft.json", invoice_id=f"inv-{n}", number=f"INV-{n:04d}") for n in range(60)
    ]
    bodies.append("not json")
    capsys.readouterr()

    invoke(sqs_event(bodies))

    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    intake_doc, push_doc = documents[-2], documents[-1]  # the intake's invocation, then the organisation's flush
    assert {name: intake_doc[name] for name in ("EventsReceived", "EventsQueued", "EventsFailed")} == {
        "EventsReceived": [61.0],
        "EventsQueued": [60.0],
        "EventsFailed": [1.0],
    }
    # A new contact is created without a lookup first, and the tax rates are the mappings' own: the contact
    # and two invoice batches.
    assert {name: push_doc[name] for name in ("EventsSynced", "XeroCalls")} == {
        "EventsSynced": [60.0],
        "XeroCalls": [3.0],
    }


def test_a_timeout_after_xero_committed_creates_nothing_twice(account: dict[str, str], sandbox: SandboxServer) -> None:
    sandbox.sandbox.faults.set([FaultRule(kind="drop", method="PUT", path="/api.xro/2.0/Invoices", times=1)])
    assert invoke(sqs_event([message("02-invoice-draft.json")])) == []
    assert len(org(sandbox).invoices) == 1
    assert record("inv-5001").xero_invoice_id == org(sandbox).invoice("INV-5001")["InvoiceID"]


def test_a_429_defers_the_messages_without_spending_a_receive(account: dict[str, str], sandbox: SandboxServer) -> None:
    sandbox.sandbox.faults.set(
        [FaultRule(kind="status", status=429, path="/api.xro/2.0/Contacts", times=1, retry_after=60)]
    )
    event = sqs_event([message("02-invoice-draft.json")])
    assert invoke(event) == [event["Records"][0]["messageId"]], "it waits in the organisation's outbox"
    [waiting] = outbox_items()
    assert (waiting.get("attempts", 0), waiting.get("deferrals")) == (0, 1), "a deferral spends no try"
    assert org(sandbox).invoices == []
    # Every flush now sees the organisation blocked until Retry-After, without calling Xero.
    calls = xero_calls(sandbox)
    later = sqs_event([message("06-invoice-inclusive.json")])
    assert invoke(later) == [later["Records"][0]["messageId"]]
    assert xero_calls(sandbox) == calls


def test_organisation_offline_is_retried_with_backoff(account: dict[str, str], sandbox: SandboxServer) -> None:
    sandbox.sandbox.faults.set([FaultRule(kind="offline", path="/api.xro/2.0/")])
    event = sqs_event([message("02-invoice-draft.json")])
    assert invoke(event) == [event["Records"][0]["messageId"]], "it waits in its organisation's outbox"
    sandbox.sandbox.faults.set([])
    assert make_due() == []
    assert len(org(sandbox).invoices) == 1


def test_the_last_receive_of_a_retryable_failure_goes_to_the_dlq_with_its_reason(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    sandbox.sandbox.faults.set([FaultRule(kind="status", status=500, path="/api.xro/2.0/")])
    assert invoke(sqs_event([message("02-invoice-draft.json")])) != []
    assert make_due(attempts=7) == [], "its eighth try failed: to the dead-letter queue"
    letters = dead_letters(account)
    assert letters[0]["MessageAttributes"]["failure_code"]["StringValue"] == "xero_unavailable"
    assert record("inv-5001").state == "failed"


def test_payment_before_its_invoice_waits_then_lands(account: dict[str, str], sandbox: SandboxServer) -> None:
    payment = sqs_event([message("04-payment-partial.json")])
    assert invoke(payment) == [payment["Records"][0]["messageId"]]
    invoke(sqs_event([message("03-invoice-sent.json")]))
    assert make_due() == []
    assert len(org(sandbox).payments) == 1


def test_a_redelivered_payment_is_not_paid_twice(account: dict[str, str], sandbox: SandboxServer) -> None:
    invoke(sqs_event([message("03-invoice-sent.json")]))
    payment = message("04-payment-partial.json")
    sandbox.sandbox.faults.set([FaultRule(kind="drop", method="PUT", path="/api.xro/2.0/Payments", times=1)])
    invoke(sqs_event([payment]))
    invoke(sqs_event([payment], receive_count=2))
    invoke(sqs_event([json.dumps(payment)], receive_count=3))
    assert len(org(sandbox).payments) == 1


def test_a_contact_name_taken_in_xero_is_not_duplicated(account: dict[str, str], sandbox: SandboxServer) -> None:
    first = message("01-contact-upserted.json", contact_id="sup-1", name="Same Name Ltd")
    second = message("01-contact-upserted.json", contact_id="sup-2", name="Same Name Ltd")
    assert invoke(sqs_event([first])) == []
    assert invoke(sqs_event([second])) == []
    names = sorted(c["Name"] for c in org(sandbox).contacts)
    assert names == ["Same Name Ltd", "Same Name Ltd (sup-2)"]


def test_a_revoked_connection_parks_messages_and_asks_to_reconnect(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    for grant in list(sandbox.sandbox.state.grants):
        sandbox.sandbox.state.revoke_grant(grant)
    connections = wiring.connections()
    stored = connections.get(ACCOUNT)
    assert stored is not None
    # Force a refresh on the next call: the refresh token is now refused (invalid_grant).
    connections._update(ACCOUNT, {"access_expires_at": 0}, [], "attribute_exists(pk)", {})
    assert invoke(sqs_event([message("02-invoice-draft.json")])) == []
    assert [p["reason"] for p in wiring.sync_records().parked(ACCOUNT)] == ["not_connected"]
    after = connections.get(ACCOUNT)
    assert after is not None
    assert after.status == "needs_reconnect"
    # Reconnecting releases what was parked, back onto the queue.
    configure(account, sandbox, ACCOUNT)
    assert wiring.sync_records().parked(ACCOUNT) == []
    assert queued(account)["ApproximateNumberOfMessages"] == 1


def test_the_retry_route_requeues_a_failed_invoice(account: dict[str, str], sandbox: SandboxServer) -> None:
    invoke(sqs_event([message("09-invoice-unmapped-tax.json")]))
    assert wiring.requeue().retry_invoice(ACCOUNT, "inv-5004") == 1
    assert queued(account)["ApproximateNumberOfMessages"] == 1
    assert wiring.requeue().retry_invoice(ACCOUNT, "inv-unknown") == 0
