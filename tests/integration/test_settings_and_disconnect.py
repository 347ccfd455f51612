"""Account settings storage and disconnecting, against moto and the Xero sandbox."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from local.xero_sandbox.faults import FaultRule
from local.xero_sandbox.seed import NZ_TENANT
from shared import wiring
from shared.adapters.settings import SettingsConflict
from shared.models.connection import ConnectionStatus
from shared.models.settings import AccountSettings, PaymentAccount, TaxMapping
from tests.support import flows

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_settings_default_empty_then_round_trip_with_optimistic_locking(service_env):
    repo = wiring.account_settings()
    empty = repo.get("acct_s")
    assert empty == AccountSettings(account_id="acct_s")

    stored = repo.save(
        empty.model_copy(
            update={
                "payment_account": PaymentAccount(account_id="a-877", code="877", name="Online Payments Clearing"),
                "tax_mappings": {
                    "gst": TaxMapping(platform_tax_id="gst", tax_type="OUTPUT2", effective_rate=Decimal("15"))
                },
                "alert_recipients": ("books@example.com",),
            }
        ),
        now=NOW,
    )

    again = repo.get("acct_s")
    assert again == stored
    assert again.version == 1
    assert again.tax_mappings["gst"].tax_type == "OUTPUT2"
    with pytest.raises(SettingsConflict):
        repo.save(empty, now=NOW)  # written from a stale read


def test_alert_recipients_must_look_like_addresses():
    with pytest.raises(ValueError, match="alert_recipients"):
        AccountSettings(account_id="a", alert_recipients=("not an address",))


def connect(service_env, sandbox, account_id: str) -> None:
    sandbox.sandbox.state.consent.tenant_ids = [NZ_TENANT]
    result = flows.connect_account(service_env, account_id)
    assert result.callback is not None
    assert result.callback["statusCode"] == 200


def test_disconnect_removes_the_connection_at_xero_revokes_and_keeps_settings(service_env, sandbox):
    connect(service_env, sandbox, "acct_d")
    wiring.account_settings().save(AccountSettings(account_id="acct_d", sales_account_code="200"), now=NOW)

    outcome = wiring.disconnector().disconnect("acct_d", reason="disconnected by the user", now=NOW)

    state = sandbox.sandbox.state
    assert outcome.was_connected
    assert outcome.revoked_at_xero
    assert outcome.problems == []
    assert state.stats["DELETE /connections"] == 1
    assert state.stats["POST /connect/revocation"] == 1
    assert all(g.revoked for g in state.grants.values())
    assert outcome.connection is not None
    assert outcome.connection.status == ConnectionStatus.DISCONNECTED
    assert outcome.connection.status_reason == "disconnected by the user"
    assert wiring.account_settings().get("acct_d").sales_account_code == "200"
    again = wiring.disconnector().disconnect("acct_d", reason="twice", now=NOW)
    assert not again.was_connected, "a second disconnect does nothing"
    assert state.stats["POST /connect/revocation"] == 1


def test_disconnect_still_happens_locally_when_xero_is_down_and_says_so(service_env, sandbox):
    connect(service_env, sandbox, "acct_down")
    sandbox.sandbox.faults.set(
        [
            FaultRule(kind="status", status=500, path="/connect"),
            FaultRule(kind="status", status=500, path="/connections"),
        ]
    )

    outcome = wiring.disconnector().disconnect("acct_down", reason="inactive for 60 days", now=NOW)

    assert outcome.connection is not None
    assert outcome.connection.status == ConnectionStatus.DISCONNECTED
    assert not outcome.revoked_at_xero
    assert len(outcome.problems) == 2


def test_disconnecting_an_unknown_account_is_a_no_op(service_env):
    outcome = wiring.disconnector().disconnect("acct_never", reason="x", now=NOW)

    assert not outcome.was_connected
    assert outcome.connection is None
