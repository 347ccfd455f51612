"""The settings page's Xero check over plain HTTP against the local stack: "Check now" runs a reconciliation
on the stack's reconcile queue, the differences show with what to do, and Accept and Resend act on them."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from local.stack import LocalStack
from local.xero_sandbox import SandboxServer
from local.xero_sandbox.seed import NZ_TENANT
from shared import wiring
from shared.models.settings import AccountSettings, PaymentAccount, TaxMapping
from tests.e2e.test_settings_page_security import connect, csrf, open_page
from tests.support.push import message
from tests.support.reconcile import Accountant

ACCOUNT = "acct-check"


def configure(sandbox: SandboxServer) -> None:
    bank = next(a for a in sandbox.sandbox.state.organisations[NZ_TENANT].accounts if a["Code"] == "090")
    repo = wiring.account_settings()
    settings = AccountSettings(
        account_id=ACCOUNT,
        payment_account=PaymentAccount(account_id=bank["AccountID"], code="090", name=bank["Name"], type="BANK"),
        sales_account_code="200",
        tax_mappings={"gst-15": TaxMapping(platform_tax_id="gst-15", tax_type="OUTPUT2", effective_rate=Decimal(15))},
        default_tax_type="NONE",
        version=repo.get(ACCOUNT).version,
    )
    repo.save(settings, now=datetime.now(UTC))


def wait_for_check(stack: LocalStack, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = stack.client().request("GET", f"/v1/accounts/{ACCOUNT}/reconciliation").json()["last_run"]
        if run and run["state"] == "complete":
            return
        time.sleep(0.2)
    pytest.fail("the check did not complete")


def test_check_now_shows_each_difference_and_accept_and_resend_act_on_it(
    local_stack: LocalStack, sandbox: SandboxServer
) -> None:
    connect(local_stack, sandbox, ACCOUNT, [NZ_TENANT])
    configure(sandbox)
    sandbox.sandbox.state.clock.advance(-3600)  # synced and edited an hour ago
    for body in (
        message("03-invoice-sent.json", account_id=ACCOUNT, invoice_id="inv-c1", number="INV-C1"),
        message("03-invoice-sent.json", account_id=ACCOUNT, invoice_id="inv-c2", number="INV-C2"),
    ):
        local_stack.publish(json.dumps(body))
    assert local_stack.wait_until_drained().drained
    accountant = Accountant(sandbox)
    accountant.void("INV-C1")
    accountant.edit("INV-C2", Reference="changed in Xero")
    sandbox.sandbox.state.clock.advance(3600)
    browser, opened = open_page(local_stack, ACCOUNT)
    assert '<h2 id="reconciliation-title">Xero check</h2>' in opened.text
    assert "Xero has not been checked yet." in opened.text

    queued = browser.post("/xero/settings/reconcile", data={"csrf_token": csrf(opened)})
    forged = browser.post("/xero/settings/reconcile", data={"csrf_token": "forged"})
    assert queued.status_code == 303
    assert queued.headers["location"].endswith("notice=reconcile_queued#reconciliation")
    assert forged.status_code == 403
    wait_for_check(local_stack)

    shown = browser.get("/xero/settings")
    assert "Voided in Xero · Open" in shown.text
    assert "Edited in Xero · Open" in shown.text
    assert "Reference: recorded PO 778, Xero changed in Xero" in shown.text
    assert "Xero cannot un-void it" in shown.text
    assert 'aria-label="Resend Invoice INV-C1"' not in shown.text  # a void cannot be mended by resending
    assert 'aria-label="Resend Invoice INV-C2"' in shown.text

    token = csrf(shown)
    accepted = browser.post("/xero/settings/difference-accept", data={"csrf_token": token, "invoice_id": "inv-c1"})
    resent = browser.post("/xero/settings/difference-resend", data={"csrf_token": token, "invoice_id": "inv-c2"})
    refused = browser.post("/xero/settings/difference-resend", data={"csrf_token": token, "invoice_id": "inv-c1"})

    assert accepted.status_code == 303
    assert resent.status_code == 303
    assert refused.status_code == 409
    after = browser.get(resent.headers["location"])
    assert "Voided in Xero · Accepted" in after.text
    assert "Edited in Xero · Resent" in after.text
    assert "The platform&#x27;s version was sent to the queue again" in after.text
    assert local_stack.wait_until_drained().drained
    assert Accountant(sandbox)._org.invoices[accountant.xero_id("INV-C2")].reference == "PO 778"
    browser.close()
