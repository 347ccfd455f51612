"""Sync status through the management API: an invoice's record, the failures, the retry route; and
events parked while no organisation was chosen, released when one is."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from local.xero_sandbox import SandboxServer
from local.xero_sandbox.seed import NZ_TENANT
from shared import wiring
from tests.support.api import ManagementApi
from tests.support.push import configure, invoke, message, queued, sqs_event

ACCOUNT = "acct-demo"
BASE = f"/v1/accounts/{ACCOUNT}"


@pytest.fixture
def api(service_env: dict[str, str], sandbox: SandboxServer) -> ManagementApi:
    configure(service_env, sandbox, ACCOUNT)
    return ManagementApi()


def test_an_invoice_sync_record_is_readable(api: ManagementApi, service_env: dict[str, str]) -> None:
    assert invoke(sqs_event([message("03-invoice-sent.json")])) == []
    answer = api.get(f"{BASE}/invoices/inv-5001/sync")
    assert answer.status == 200
    assert answer.body["state"] == "synced"
    assert answer.body["xero_status"] == "AUTHORISED"
    assert answer.body["last_version"] == 2
    assert answer.body["failure"] is None
    assert api.get(f"{BASE}/invoices/inv-none/sync").code == "unknown_invoice"
    assert api.get("/v1/accounts/acct-never/invoices/inv-5001/sync").code == "unknown_account"


@pytest.mark.parametrize("invoice_id", ["inv/2026/5001", "inv:5001@a.b"])
def test_an_invoice_id_with_a_slash_is_found_through_the_path(
    api: ManagementApi, service_env: dict[str, str], invoice_id: str
) -> None:
    invoke(sqs_event([message("09-invoice-unmapped-tax.json", invoice_id=invoice_id)]))
    path = f"{BASE}/invoices/{quote(invoice_id, safe='')}"

    status = api.get(f"{path}/sync")
    retried = api.post(f"{path}/retry")

    assert (status.status, status.body["invoice_id"], status.body["state"]) == (200, invoice_id, "failed")
    assert (retried.status, retried.body) == (200, {"invoice_id": invoice_id, "queued": 1})
    assert api.get(f"{BASE}/invoices/{quote('inv/none', safe='')}/sync").code == "unknown_invoice"


def test_failures_are_listed_with_the_fix_and_a_retry_requeues_them(
    api: ManagementApi, service_env: dict[str, str]
) -> None:
    invoke(sqs_event([message("09-invoice-unmapped-tax.json")]))
    failures = api.get(f"{BASE}/sync-failures")
    assert failures.status == 200
    [item] = failures.body["failures"]
    assert item["invoice_id"] == "inv-5004"
    assert item["failure"]["code"] == "unmapped_tax"
    assert "vat-20" in item["failure"]["message"]
    assert item["failure"]["fix"]
    assert api.get(f"{BASE}/invoices/inv-5004/sync").body["state"] == "failed"

    retried = api.post(f"{BASE}/invoices/inv-5004/retry")
    assert retried.status == 200
    assert retried.body == {"invoice_id": "inv-5004", "queued": 1}
    assert queued(service_env)["ApproximateNumberOfMessages"] == 1
    assert api.post(f"{BASE}/invoices/inv-5001/retry").code == "nothing_to_retry"


def test_events_wait_for_an_organisation_and_go_once_it_is_chosen(
    service_env: dict[str, str], sandbox: SandboxServer
) -> None:
    from local.xero_sandbox.state import ConsentPolicy
    from tests.support.flows import connect_account

    sandbox.sandbox.state.consent = ConsentPolicy(tenant_ids=None)  # both organisations: none chosen yet
    connect_account(service_env, "acct-two")
    assert invoke(sqs_event([message("02-invoice-draft.json", account_id="acct-two")])) == []
    assert [p["reason"] for p in wiring.sync_records().parked("acct-two")] == ["organisation_not_chosen"]
    answer = ManagementApi().put("/v1/accounts/acct-two/organisation", {"tenant_id": NZ_TENANT})
    assert answer.status == 200
    assert wiring.sync_records().parked("acct-two") == []
    assert queued(service_env)["ApproximateNumberOfMessages"] == 1
