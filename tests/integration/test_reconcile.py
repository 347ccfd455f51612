"""Reconciliation end to end: invoices synced through the real push, then the sandbox's organisation
edited behind the service's back, then the reconcile handler run against the sandbox over HTTP."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from local.xero_sandbox import SandboxServer
from local.xero_sandbox.seed import NZ_TENANT
from shared import wiring
from shared.models.reconcile import Difference
from tests.support.push import configure, flush_all, invoke, org
from tests.support.reconcile import Accountant, drain, reads, run_now, sync_invoices

pytestmark = pytest.mark.usefixtures("service_env")
ACCOUNT = "acct-demo"


@pytest.fixture
def account(service_env: dict[str, str], sandbox: SandboxServer) -> dict[str, str]:
    configure(service_env, sandbox, ACCOUNT)
    return service_env


def report(account_id: str = ACCOUNT) -> tuple[Any, dict[str, Difference]]:
    run, differences = wiring.reconciler().report(account_id)
    return run, {d.number or "": d for d in differences}


def fresh_token(account_id: str = ACCOUNT) -> None:
    """Refresh the account's access token now (the sandbox's clock moved under it), so the run's
    first accounting call is not a 401 and the reads counted are the run's own."""
    connection = wiring.connections().get(account_id)
    assert connection is not None
    wiring.token_manager().access(account_id, stale_version=connection.token_version)


def edited_an_hour_ago(sandbox: SandboxServer) -> None:
    sandbox.sandbox.state.clock.advance(-3600)


def back_to_now(sandbox: SandboxServer) -> None:
    sandbox.sandbox.state.clock.advance(3600)
    fresh_token()


def test_each_edit_behind_the_back_is_reported_with_the_reads_counted(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    # Given seven invoices synced (the last a draft), then edited in Xero by hand
    edited_an_hour_ago(sandbox)
    sync_invoices(ACCOUNT, 7, draft=(7,))
    accountant = Accountant(sandbox)
    accountant.void("INV-R1")
    accountant.edit(
        "INV-R2",
        LineItems=[
            {
                "Description": "More loaves",
                "Quantity": "30",
                "UnitAmount": "6.50",
                "AccountCode": "200",
                "TaxType": "OUTPUT2",
            }
        ],
    )
    accountant.pay("INV-R3", "50.00")
    accountant.edit("INV-R4", Reference="changed by the accountant")
    accountant.remove("INV-R5")
    accountant.delete("INV-R7")
    back_to_now(sandbox)
    before = reads(sandbox)

    # When the account is reconciled
    answer = run_now(ACCOUNT)

    # Then each edit is reported, with what to do, and the untouched invoice is not
    assert answer == {"batchItemFailures": []}
    run, found = report()
    assert {n: d.kind for n, d in found.items()} == {
        "INV-R1": "voided_in_xero",
        "INV-R2": "totals_differ",
        "INV-R3": "payments_differ",
        "INV-R4": "edited_in_xero",
        "INV-R5": "missing_in_xero",
        "INV-R7": "deleted_in_xero",
    }
    assert "Total: recorded NZD 194.93, Xero NZD 224.25" in found["INV-R2"].details
    assert "Amount due: recorded NZD 194.93, Xero NZD 144.93" in found["INV-R3"].details
    assert "Reference: recorded PO 778, Xero changed by the accountant" in found["INV-R4"].details
    assert found["INV-R1"].actions == ["accept"]
    assert "un-void" in found["INV-R1"].what_to_do
    assert found["INV-R2"].actions == ["resend", "accept"]
    assert all(d.state == "open" for d in found.values())
    # And the reads: one page of the app's invoices, summaries only, counted as the sandbox counted them
    after = reads(sandbox)
    assert run.state == "complete"
    assert run.kind == "full"
    assert run.calls == after.calls - before.calls == 1
    assert run.bytes_read == after.bytes_read - before.bytes_read > 0
    assert run.compared == 6  # the removed one is not in Xero to compare
    assert run.differences == 6


def test_a_recent_run_reads_only_what_changed_since_the_last_run(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    edited_an_hour_ago(sandbox)
    sync_invoices(ACCOUNT, 6)
    back_to_now(sandbox)
    run_now(ACCOUNT, run_id="full-1")
    full, found = report()
    assert found == {}
    assert full.compared == 6

    Accountant(sandbox).pay("INV-R6", "10.00")
    before = reads(sandbox)
    run_now(ACCOUNT, kind="recent", run_id="recent-1")

    recent, found = report()
    after = reads(sandbox)
    assert recent.kind == "recent"
    assert recent.modified_since is not None
    assert {n: d.kind for n, d in found.items()} == {"INV-R6": "payments_differ"}
    assert recent.calls == after.calls - before.calls == 1
    assert recent.compared == 1
    assert recent.bytes_read == after.bytes_read - before.bytes_read
    assert recent.bytes_read < full.bytes_read / 3
    assert sandbox.sandbox.state.organisations[NZ_TENANT].invoices  # nothing was written to Xero meanwhile


def test_accept_keeps_xero_and_resend_restores_the_platforms_version(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    edited_an_hour_ago(sandbox)
    sync_invoices(ACCOUNT, 3)
    accountant = Accountant(sandbox)
    accountant.edit("INV-R1", Reference="accountant's reference")
    accountant.edit(
        "INV-R2",
        LineItems=[
            {
                "Description": "Fewer loaves",
                "Quantity": "2",
                "UnitAmount": "6.50",
                "AccountCode": "200",
                "TaxType": "OUTPUT2",
            }
        ],
    )
    back_to_now(sandbox)
    run_now(ACCOUNT, run_id="full-1")
    writes_before = _writes(sandbox)

    accepted = wiring.reconciler().accept(ACCOUNT, "inv-r1")
    resent = wiring.reconciler().resend(ACCOUNT, "inv-r2")

    assert accepted is not None
    assert accepted.state == "accepted"
    assert resent is not None
    assert resent.state == "resent"
    assert _writes(sandbox) == writes_before  # accepting and resending wrote nothing to Xero themselves
    # The resend goes through the push, as any event: the platform's version is back in Xero
    _drain_invoice_queue()
    assert org(sandbox).invoice("INV-R2")["Total"] == 194.93
    assert org(sandbox).invoice("INV-R1")["Reference"] == "accountant's reference"

    run_now(ACCOUNT, run_id="full-2")
    _, found = report()
    # The resent invoice matches again (its difference is gone); the accepted one stays accepted
    assert {n: d.state for n, d in found.items()} == {"INV-R1": "accepted"}
    run, _ = report()
    assert run.differences == 0


def test_another_accounts_invoices_on_a_shared_organisation_are_never_reported(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    configure(account, sandbox, "acct-other")
    edited_an_hour_ago(sandbox)
    sync_invoices(ACCOUNT, 2, prefix="a")
    sync_invoices("acct-other", 2, prefix="b")
    accountant = Accountant(sandbox)
    accountant.void("INV-A1")
    accountant.void("INV-B1")
    back_to_now(sandbox)
    fresh_token("acct-other")

    run_now(ACCOUNT, run_id="full-a")
    run, found = report(ACCOUNT)

    assert {n: d.kind for n, d in found.items()} == {"INV-A1": "voided_in_xero"}
    assert run.compared == 2  # the other account's two invoices were read, and left alone
    assert report("acct-other")[1] == {}


def test_out_of_day_budget_defers_the_run_and_leaves_the_calls_to_the_push(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    sync_invoices(ACCOUNT, 2)
    tenant = NZ_TENANT
    # The organisation has 30 calls left today and 1,000 events waiting for the push (40 calls)
    _spend_day_budget(tenant, left=30)
    _fill_outbox(tenant, 1000)
    before = reads(sandbox)

    request = wiring.reconciler().request(ACCOUNT)
    answers = drain()

    assert request is not None
    assert [a["batchItemFailures"] != [] for a in answers] == [True]  # handed back, hidden until tomorrow
    run, _ = report()
    assert run.state == "deferred"
    assert "1000 events waiting" in (run.deferred_reason or "")
    assert reads(sandbox).calls == before.calls  # not one read


def test_the_weekly_schedule_queues_one_run_per_connected_account(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    from functions.reconcile import handler
    from tests.support.events import FakeContext, sample

    configure(account, sandbox, "acct-other")
    answer = handler.lambda_handler(sample("reconcile_schedule_weekly.json"), FakeContext())
    assert answer == {"queued": 2}
    again = handler.lambda_handler(sample("reconcile_schedule_weekly.json"), FakeContext())
    assert again == {"queued": 2}  # the same day's schedule delivered twice: SQS keeps one of each
    drain()
    assert report(ACCOUNT)[0].state == "complete"
    assert report("acct-other")[0].state == "complete"


# --- helpers -------------------------------------------------------------------------------------


def _writes(sandbox: SandboxServer) -> int:
    stats = sandbox.sandbox.state.organisations[NZ_TENANT].stats
    return sum(int(v) for k, v in stats.items() if k.startswith(("PUT", "POST", "DELETE")))


def _drain_invoice_queue() -> None:
    from tests.support.push import sqs_event

    sqs = boto3.client("sqs")
    url = wiring.settings().queue_url
    bodies = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        for m in got:
            bodies.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert invoke(sqs_event(bodies)) == []
    flush_all()


def _spend_day_budget(tenant_id: str, *, left: int) -> None:
    budget = wiring.call_budget()
    per_day = budget.state(tenant_id).per_day
    client = boto3.client("dynamodb")
    client.update_item(
        TableName=wiring.settings().table_name,
        Key={"pk": {"S": f"TENANT#{tenant_id}"}, "sk": {"S": "BUDGET"}},
        UpdateExpression="SET day_count = :used",
        ExpressionAttributeValues={":used": {"N": str(per_day - left)}},
    )


def _fill_outbox(tenant_id: str, count: int) -> None:
    client = boto3.client("dynamodb")
    table = wiring.settings().table_name
    for start in range(0, count, 25):
        client.batch_write_item(
            RequestItems={
                table: [
                    {
                        "PutRequest": {
                            "Item": {
                                "pk": {"S": f"OUTBOX#{tenant_id}"},
                                "sk": {"S": f"E#0#{i:013d}#m{i}"},
                                "account_id": {"S": "acct-someone"},
                                "not_before": {"N": "9999999999"},
                            }
                        }
                    }
                    for i in range(start, min(count, start + 25))
                ]
            }
        )


def test_the_management_api_queues_a_run_shows_the_report_and_acts_on_differences(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    from tests.support.api import ManagementApi

    api = ManagementApi()
    base = f"/v1/accounts/{ACCOUNT}/reconciliation"
    edited_an_hour_ago(sandbox)
    sync_invoices(ACCOUNT, 2)
    Accountant(sandbox).void("INV-R1")
    Accountant(sandbox).edit("INV-R2", Reference="theirs")
    back_to_now(sandbox)
    assert api.get(base).body == {"last_run": None, "differences": []}

    queued = api.call("POST", base)
    drain()
    report_ = api.get(base)

    assert queued.status == 202
    assert queued.body["kind"] == "full"
    assert report_.status == 200
    assert report_.body["last_run"]["state"] == "complete"
    assert report_.body["last_run"]["xero_calls"] == 1
    kinds = {d["number"]: (d["kind"], d["actions"]) for d in report_.body["differences"]}
    assert kinds == {"INV-R1": ("voided_in_xero", ["accept"]), "INV-R2": ("edited_in_xero", ["resend", "accept"])}
    refused = api.call("POST", f"{base}/differences/inv-r1/resend")
    assert refused.status == 409
    assert refused.code == "not_resendable"
    accepted = api.call("POST", f"{base}/differences/inv-r1/accept")
    assert accepted.status == 200
    assert accepted.body["state"] == "accepted"
    resent = api.call("POST", f"{base}/differences/inv-r2/resend")
    assert resent.status == 200
    assert resent.body["state"] == "resent"
    assert api.call("POST", f"{base}/differences/inv-none/accept").code == "unknown_difference"
    assert api.get("/v1/accounts/acct-never/reconciliation").code == "unknown_account"


def test_the_weekly_run_emails_a_digest_of_the_differences_and_none_when_nothing_differs(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    from functions.reconcile import handler
    from shared.models.alerts import ReconciliationDigestAlert, parse_alert_request
    from tests.support.emails import sent_emails
    from tests.support.events import FakeContext, sample

    edited_an_hour_ago(sandbox)
    sync_invoices(ACCOUNT, 2)
    Accountant(sandbox).void("INV-R1")
    back_to_now(sandbox)

    handler.lambda_handler(sample("reconcile_schedule_weekly.json"), FakeContext())
    drain()

    sqs = boto3.client("sqs")
    queued = sqs.receive_message(QueueUrl=account["ALERT_QUEUE_URL"], MaxNumberOfMessages=10).get("Messages", [])
    requests = [parse_alert_request(m["Body"]) for m in queued]
    assert [r.kind for r in requests] == ["reconciliation_digest"]
    digest = requests[0]
    assert isinstance(digest, ReconciliationDigestAlert)
    assert [(i.number, i.kind) for i in digest.items] == [("INV-R1", "voided_in_xero")]
    assert wiring.alerts().reconciliation_digest(digest) is True
    assert wiring.alerts().reconciliation_digest(digest) is False  # once per run
    emails = [e for e in sent_emails() if e.subject.startswith("Xero check")]
    assert len(emails) == 1
    assert emails[0].subject.startswith("Xero check: 1 invoice differs from ")
    assert "un-void" in emails[0].body

    # The owner accepts it: next week's run finds nothing open, and no digest is queued
    wiring.reconciler().accept(ACCOUNT, "inv-r1")
    for m in queued:
        sqs.delete_message(QueueUrl=account["ALERT_QUEUE_URL"], ReceiptHandle=m["ReceiptHandle"])
    run_now(ACCOUNT, run_id="full-next-week", requested_by="schedule")
    assert sqs.receive_message(QueueUrl=account["ALERT_QUEUE_URL"]).get("Messages", []) == []


def test_a_run_out_of_lambda_time_goes_on_from_the_next_page_and_still_finds_what_is_missing(
    account: dict[str, str], sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.domain.reconcile import service

    monkeypatch.setattr(service, "PAGE_SIZE", 2)  # four invoices left in Xero: two pages
    monkeypatch.setattr(service, "MIN_SECONDS", 10**9)  # never time for another page: one page an invocation
    edited_an_hour_ago(sandbox)
    sync_invoices(ACCOUNT, 5)
    accountant = Accountant(sandbox)
    accountant.remove("INV-R1")
    accountant.void("INV-R5")
    back_to_now(sandbox)
    before = reads(sandbox)

    wiring.reconciler().request(ACCOUNT)
    answers = drain()

    run, found = report()
    assert len(answers) == 2  # each page in its own invocation, the next queued as a continuation
    assert all(a == {"batchItemFailures": []} for a in answers)
    assert run.state == "complete"
    assert run.invocations == 2
    assert run.calls == reads(sandbox).calls - before.calls == 2  # Xero's pageCount: no empty page read
    assert run.compared == 4
    assert {n: d.kind for n, d in found.items()} == {"INV-R1": "missing_in_xero", "INV-R5": "voided_in_xero"}


def test_xeros_rate_limit_mid_run_hides_the_run_until_retry_after_and_it_goes_on(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    import time

    from local.xero_sandbox.faults import FaultRule

    edited_an_hour_ago(sandbox)
    sync_invoices(ACCOUNT, 2)
    Accountant(sandbox).void("INV-R2")
    back_to_now(sandbox)
    limit = FaultRule(kind="status", status=429, path="/api.xro/2.0/Invoices", method="GET", times=1, retry_after=2)
    sandbox.sandbox.faults.set([limit])

    wiring.reconciler().request(ACCOUNT)
    first = drain()
    waiting, _ = report()
    time.sleep(2.5)
    second = drain()
    done, found = report()

    assert [a["batchItemFailures"] != [] for a in first] == [True]  # handed back, hidden for Retry-After
    assert waiting.state == "deferred"
    assert waiting.deferred_reason == "Xero's call limits for the organisation"
    assert [a["batchItemFailures"] for a in second] == [[]]
    assert done.state == "complete"
    assert done.deferrals == 1
    assert done.calls == 2  # the refused read counts too
    assert {n: d.kind for n, d in found.items()} == {"INV-R2": "voided_in_xero"}


def test_an_invoice_the_push_wrote_after_the_records_were_read_is_not_reported(
    account: dict[str, str], sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from decimal import Decimal

    from shared.adapters.reconciliation import ReconciliationStore

    sync_invoices(ACCOUNT, 2)
    read = ReconciliationStore.invoice_records

    def read_before_the_push_wrote(self: ReconciliationStore, account_id: str) -> Any:
        for record in read(self, account_id):  # as the records were a moment before version 2 was pushed
            stale = record.invoice_id == "inv-r1"
            yield record.model_copy(update={"total": Decimal("1.00"), "reference": "v1"}) if stale else record

    monkeypatch.setattr(ReconciliationStore, "invoice_records", read_before_the_push_wrote)
    fresh_token()
    run_now(ACCOUNT)

    run, found = report()
    assert found == {}
    assert run.compared == 2


def test_resending_an_invoice_missing_in_xero_creates_it_again_once(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    edited_an_hour_ago(sandbox)
    sync_invoices(ACCOUNT, 2)
    Accountant(sandbox).remove("INV-R1")
    back_to_now(sandbox)
    run_now(ACCOUNT, run_id="full-1")
    assert {n: d.kind for n, d in report()[1].items()} == {"INV-R1": "missing_in_xero"}

    wiring.reconciler().resend(ACCOUNT, "inv-r1")
    _drain_invoice_queue()
    run_now(ACCOUNT, run_id="full-2")

    assert [i["InvoiceNumber"] for i in org(sandbox).invoices].count("INV-R1") == 1
    assert org(sandbox).invoice("INV-R1")["Total"] == 194.93
    assert report()[1] == {}
