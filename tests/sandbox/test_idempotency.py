"""Idempotency-Key: the first answer replayed exactly, per organisation and per app, for a day."""

from __future__ import annotations

import httpx
import pytest

from local.xero_sandbox.contacts import number_taken
from local.xero_sandbox.faults import FaultRule
from local.xero_sandbox.idempotency import CONFLICT_STATUS, RETENTION_SECONDS
from local.xero_sandbox.seed import AU_TENANT
from local.xero_sandbox.state import SandboxState
from tests.sandbox.conftest import ALL_SCOPES, Api, contact, create_contact, invoice


def test_same_key_and_body_replays_the_first_answer_byte_for_byte_and_creates_nothing(sandbox_app, xero: Api):
    customer = create_contact(xero, "Replay Ltd")
    body = {"Invoices": [invoice(customer, "INV-R1")]}

    first = xero.put("Invoices", body, key="invoice-r1-v1")
    second = xero.put("Invoices", body, key="invoice-r1-v1")

    assert first.status == second.status == 200
    assert second.raw == first.raw
    assert len(xero.get("Invoices").items("Invoices")) == 1
    assert sandbox_app.state.organisations[xero.tenant_id].stats["idempotent replays"] == 1


def test_a_refusal_is_replayed_too(xero: Api):
    create_contact(xero, "Taken")

    first = xero.put("Contacts", {"Contacts": [contact("Taken")]}, key="k-taken")
    second = xero.put("Contacts", {"Contacts": [contact("Taken")]}, key="k-taken")

    assert first.status == second.status == 400
    assert second.raw == first.raw


def test_same_key_with_a_different_body_is_refused_and_changes_nothing(xero: Api):
    xero.put("Contacts", {"Contacts": [contact("First")]}, key="reused")

    answer = xero.put("Contacts", {"Contacts": [contact("Second")]}, key="reused")

    assert answer.status == CONFLICT_STATUS == 409
    assert "Idempotency-Key" in answer.body["Detail"]
    assert [c["Name"] for c in xero.get("Contacts").items("Contacts")] == ["First"]


def test_key_order_and_whitespace_do_not_make_a_different_body(xero: Api):
    first = xero.call("PUT", "Contacts", {"Contacts": [{"Name": "Same", "EmailAddress": "a@b.test"}]}, "k-order")
    second = xero.call("PUT", "Contacts", {"Contacts": [{"EmailAddress": "a@b.test", "Name": "Same"}]}, "k-order")

    assert second.raw == first.raw


def test_keys_belong_to_one_organisation_and_one_app(sandbox_app, xero: Api):
    state: SandboxState = sandbox_app.state
    state.add_app("OTHERAPP", "other-secret")
    other_app = xero.with_token(state.grant_access(ALL_SCOPES, client_id="OTHERAPP"))
    body = {"Contacts": [contact("Shared Name")]}

    nz = xero.put("Contacts", body, key="shared-key")
    au = xero.as_tenant(AU_TENANT).put("Contacts", body, key="shared-key")
    other = other_app.put("Contacts", body, key="shared-key")

    assert nz.status == au.status == 200
    assert au.one("Contacts")["ContactID"] != nz.one("Contacts")["ContactID"]
    assert other.status == 400  # the other app's call ran for real, and met the name now taken
    assert other.messages()[0].startswith("The contact name Shared Name is already assigned")


def test_answers_are_kept_for_the_retention_then_the_key_runs_again(sandbox_app, xero: Api):
    body = {"Contacts": [contact("Expiring", ContactNumber="E-1")]}
    xero.put("Contacts", body, key="expiring")

    sandbox_app.state.clock.advance(RETENTION_SECONDS - 60)
    xero = xero.with_token(sandbox_app.state.grant_access(ALL_SCOPES))  # a day on: a fresh access token
    kept = xero.put("Contacts", body, key="expiring")
    sandbox_app.state.clock.advance(120)
    expired = xero.put("Contacts", body, key="expiring")

    assert kept.status == 200
    assert expired.status == 400  # ran again: the number is now taken
    assert number_taken("E-1") in expired.messages()


def test_over_long_key_is_refused_before_any_work(xero: Api):
    answer = xero.put("Contacts", {"Contacts": [contact("Long Key")]}, key="k" * 129)

    assert answer.status == 400
    assert xero.get("Contacts").items("Contacts") == []
    assert xero.put("Contacts", {"Contacts": [contact("Long Key")]}, key="k" * 128).status == 200


def test_writes_without_a_key_are_counted(sandbox_app, xero: Api):
    xero.put("Contacts", {"Contacts": [contact("No Key")]})

    assert sandbox_app.state.organisations[xero.tenant_id].stats["writes without Idempotency-Key"] == 1


def test_a_write_dropped_after_commit_is_replayed_on_retry_with_the_same_key(sandbox, xero_http: Api):
    customer = create_contact(xero_http, "Dropped Ltd")
    body = {"Invoices": [invoice(customer, "INV-DROP")]}
    sandbox.sandbox.faults.set([FaultRule(kind="drop", path="/api.xro/2.0/Invoices", method="PUT", times=1)])

    with pytest.raises(httpx.TransportError):  # the connection closed without an answer
        xero_http.put("Invoices", body, key="drop-1")
    retried = xero_http.put("Invoices", body, key="drop-1")

    assert retried.status == 200
    assert retried.one("Invoices")["InvoiceNumber"] == "INV-DROP"
    org = sandbox.sandbox.state.organisations[xero_http.tenant_id]
    assert len(org.invoices) == 1
    assert org.stats["idempotent replays"] == 1
