"""The platform sees the connection events on the stack's status bus: a disconnect by the owner or by the
inactivity sweep, and a grant Xero no longer honours."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import boto3
import httpx

from local.stack import LocalStack
from local.xero_sandbox import SandboxServer
from local.xero_sandbox.seed import NZ_TENANT


def connect(stack: LocalStack, sandbox: SandboxServer, account_id: str) -> None:
    sandbox.sandbox.state.consent.tenant_ids = [NZ_TENANT]
    with httpx.Client(timeout=30) as browser:
        start = browser.get(stack.connect_link(account_id))
        consent = browser.get(start.headers["location"])
        assert browser.get(consent.headers["location"]).status_code == 200


def test_disconnects_and_lost_grants_are_announced_with_no_secret_in_them(local_stack, sandbox):
    stack: LocalStack = local_stack
    state = sandbox.sandbox.state
    for account in ("acct-owner", "acct-idle", "acct-revoked"):
        connect(stack, sandbox, account)
    revoked = list(state.grants)[-1]  # the grant acct-revoked consented to last

    # The owner disconnects through the management API.
    assert stack.client().request("POST", "/v1/accounts/acct-owner/disconnect").status_code == 200
    # Xero no longer honours another account's grant: its next refresh is refused.
    state.revoke_grant(revoked)
    boto3.client("dynamodb").update_item(
        TableName=stack.resources.table_name,
        Key={"pk": {"S": "ACCOUNT#acct-revoked"}, "sk": {"S": "CONNECTION"}},
        UpdateExpression="SET access_expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 5)}},
    )
    assert stack.client().request("GET", "/v1/accounts/acct-revoked/tax-rates").status_code == 409
    # The sweep disconnects the idle one, 61 days on.
    stack.run_sweep(datetime.now(UTC) + timedelta(days=61))

    sent = stack.status_events()
    by_account = {(e.detail["account_id"], e.detail_type): e for e in sent}

    owner = by_account[("acct-owner", "connection.disconnected")]
    assert owner.detail["reason"] == "disconnected through the management API"
    assert owner.detail["revoked_at_xero"] is True
    assert owner.envelope["source"] == "xero-invoice-sync"
    assert "invalid_grant" in by_account[("acct-revoked", "connection.needs_reconnect")].detail["reason"]
    assert by_account[("acct-idle", "connection.disconnected")].detail["reason"] == "no activity for 60 days"
    assert len(sent) == 3, [e.detail_type for e in sent]
    issued = [*state.access_tokens, *state.refresh_tokens]
    assert issued
    for event in sent:
        text = str(event.envelope)
        assert not any(token in text for token in issued), "no token Xero issued is in an event"
        assert stack.connect_link_secret() not in text


def test_invoices_synced_and_failed_are_announced_with_their_figures(local_stack, sandbox):
    import json
    from pathlib import Path

    stack: LocalStack = local_stack
    connect(stack, sandbox, "acct-books")
    client = stack.client()
    base = "/v1/accounts/acct-books"
    assert client.request("PUT", f"{base}/payment-account", json_body={"code": "090"}).status_code == 200
    assert client.request("PATCH", f"{base}/settings", json_body={"sales_account_code": "200"}).status_code == 200
    mapping = {"mappings": [{"platform_tax_id": "gst-15", "tax_type": "OUTPUT2"}]}
    assert client.request("PUT", f"{base}/tax-mappings", json_body=mapping).status_code == 200
    messages = Path(__file__).resolve().parents[2] / "events" / "messages"
    for name in ("03-invoice-sent.json", "09-invoice-unmapped-tax.json"):
        body = json.loads((messages / name).read_text())
        stack.publish(json.dumps({**body, "account_id": "acct-books"}))
    stack.wait_until_drained()

    sent = {e.detail_type: e.detail for e in stack.status_events() if e.detail["account_id"] == "acct-books"}
    synced = sent["invoice.synced"]
    assert (synced["invoice_id"], synced["xero_status"], synced["total"]) == ("inv-5001", "AUTHORISED", "194.93")
    assert synced["tenant_id"] == NZ_TENANT
    failed = sent["invoice.sync_failed"]
    assert (failed["invoice_id"], failed["code"]) == ("inv-5004", "unmapped_tax")
    assert "vat-20" in failed["fix"]
