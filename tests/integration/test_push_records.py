"""Sync-record claims and the shared call budget, on moto's DynamoDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3

from local.aws_resources import LocalResources
from shared.adapters.budget import CallBudget
from shared.adapters.sync_records import SyncRecords
from shared.errors import Rejected

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def records(resources: LocalResources) -> SyncRecords:
    return SyncRecords(boto3.client("dynamodb"), resources.environment["TABLE_NAME"], lease_seconds=60)


def test_a_claim_admits_only_newer_versions_and_one_holder(resources: LocalResources) -> None:
    store = records(resources)
    first = store.claim_invoice("a", "inv-1", 2, NOW, tenant_id="t")
    assert first.kind == "claimed"
    assert not first.uncertain
    assert store.claim_invoice("a", "inv-1", 3, NOW, tenant_id="t").kind == "busy"
    store.complete_invoice("a", "inv-1", 2, {"xero_invoice_id": "x-1", "xero_status": "DRAFT"}, now=NOW)
    assert store.claim_invoice("a", "inv-1", 2, NOW, tenant_id="t").kind == "older"
    assert store.claim_invoice("a", "inv-1", 1, NOW, tenant_id="t").kind == "older"
    newer = store.claim_invoice("a", "inv-1", 3, NOW, tenant_id="t")
    assert newer.kind == "claimed"
    assert newer.record.xero_invoice_id == "x-1"


def test_an_expired_claim_is_taken_over_and_marked_uncertain(resources: LocalResources) -> None:
    store = records(resources)
    store.claim_invoice("a", "inv-1", 1, NOW, tenant_id="t")
    later = store.claim_invoice("a", "inv-1", 1, NOW + timedelta(seconds=61), tenant_id="t")
    assert later.kind == "claimed"
    assert later.uncertain


def test_a_failure_is_listed_and_cleared_by_a_later_success(resources: LocalResources) -> None:
    store = records(resources)
    store.claim_invoice("a", "inv-1", 1, NOW, tenant_id="t")
    store.fail_invoice("a", "inv-1", 1, Rejected("unmapped_tax", "no map", "map it"), NOW, {"number": "INV-1"})
    assert [f["error_code"] for f in store.failures("a")] == ["unmapped_tax"]
    # The failed version can be tried again (the retry route), and success clears the failure.
    assert store.claim_invoice("a", "inv-1", 1, NOW, tenant_id="t").kind == "claimed"
    store.complete_invoice("a", "inv-1", 1, {"xero_invoice_id": "x"}, now=NOW)
    assert store.failures("a") == []


def test_payments_are_claimed_once(resources: LocalResources) -> None:
    store = records(resources)
    assert store.claim_payment("a", "p-1", "inv-1", NOW, tenant_id="t").kind == "claimed"
    assert store.claim_payment("a", "p-1", "inv-1", NOW, tenant_id="t").kind == "busy"
    store.complete_payment("a", "p-1", {"xero_payment_id": "xp-1"})
    assert store.claim_payment("a", "p-1", "inv-1", NOW + timedelta(hours=1), tenant_id="t").kind == "older"


def test_parked_events_are_kept_until_released(resources: LocalResources) -> None:
    store = records(resources)
    store.park("a", "evt-1", '{"x": 1}', "not_connected", NOW)
    store.park("a", "evt-2", '{"x": 2}', "not_connected", NOW)
    parked = store.parked("a")
    assert [p["body"] for p in parked] == ['{"x": 1}', '{"x": 2}']
    store.unpark("a", parked[0]["sk"])
    assert len(store.parked("a")) == 1


def test_the_budget_allows_a_burst_then_paces_at_the_rate(resources: LocalResources) -> None:
    now = [1_000_000.0]
    budget = CallBudget(
        boto3.client("dynamodb"), resources.environment["TABLE_NAME"], per_minute=60, burst=5, clock=lambda: now[0]
    )
    assert [budget.take("t") for _ in range(5)] == [0.0] * 5
    wait = budget.take("t")
    assert 0.9 < wait <= 1.0
    now[0] += 1.0
    assert budget.take("t") == 0.0
    # Over a simulated minute at most rate + burst calls are granted.
    granted = 0
    for _ in range(600):
        now[0] += 0.1
        granted += budget.take("t") == 0.0
    assert 59 <= granted <= 61


def test_a_429_blocks_every_caller_until_retry_after(resources: LocalResources) -> None:
    now = [2_000_000.0]
    table = resources.environment["TABLE_NAME"]
    one = CallBudget(boto3.client("dynamodb"), table, clock=lambda: now[0])
    other = CallBudget(boto3.client("dynamodb"), table, clock=lambda: now[0])
    assert one.take("t") == 0.0
    one.block("t", 30)
    assert 29 < other.take("t") <= 30
    now[0] += 31
    assert other.take("t") == 0.0


def test_the_day_budget_stops_short_of_xeros_limit(resources: LocalResources) -> None:
    now = [3_000_000.0]
    budget = CallBudget(
        boto3.client("dynamodb"), resources.environment["TABLE_NAME"], per_day=3, burst=5, clock=lambda: now[0]
    )
    assert [budget.take("t") for _ in range(3)] == [0.0] * 3
    assert budget.take("t") > 3600


def test_a_spent_minute_blocks_until_xeros_fixed_window_ends(resources: LocalResources) -> None:
    now = [4_000_000.0]
    budget = CallBudget(boto3.client("dynamodb"), resources.environment["TABLE_NAME"], burst=60, clock=lambda: now[0])
    budget.take("t")
    budget.observe("t", minute_remaining=59, day_remaining=4999)  # the first call of a window
    now[0] += 40
    budget.observe("t", minute_remaining=0, day_remaining=4940)
    # Xero's minute window is fixed: it ends 60 s after it began, not 60 s from now.
    assert 19 < budget.take("t") <= 20
    now[0] += 20.5
    assert budget.take("t") == 0.0


def test_a_day_limit_nearly_spent_blocks_the_organisation_for_an_hour(resources: LocalResources) -> None:
    now = [5_000_000.0]
    budget = CallBudget(boto3.client("dynamodb"), resources.environment["TABLE_NAME"], clock=lambda: now[0])
    budget.observe("t", minute_remaining=30, day_remaining=20)
    assert 3590 < budget.take("t") <= 3600
