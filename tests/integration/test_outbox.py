"""The per-organisation outbox on DynamoDB (moto), and the backlog figure the settings page shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from local.aws_resources import LocalResources
from shared.adapters.budget import CallBudget
from shared.adapters.outbox import InFlight, Outbox, OutboxItem, rescheduled
from shared.domain.backlog import BacklogReader

TENANT = "tenant-1"
NOON = datetime(2026, 11, 30, 12, tzinfo=UTC).timestamp()


@pytest.fixture
def outbox(resources: LocalResources) -> Outbox:
    return Outbox(boto3.client("dynamodb"), resources.table_name)


def items(account_id: str, count: int, *, start_ms: int, subject: str = "inv") -> list[OutboxItem]:
    return [
        OutboxItem.new(
            account_id, f'{{"n": {n}}}', f"m-{account_id}-{n}", NOON, published_ms=start_ms + n, subject=f"{subject}{n}"
        )
        for n in range(count)
    ]


def test_events_come_back_oldest_first_once_each_and_settle(outbox: Outbox) -> None:
    first = items("acct-a", 3, start_ms=1_000)
    outbox.put(TENANT, [*reversed(first), first[0]])  # a redelivery lands on the same key
    read = outbox.read(TENANT, 10)
    assert [i.message_id for i in read] == ["m-acct-a-0", "m-acct-a-1", "m-acct-a-2"]
    assert read[0].body == '{"n": 0}'
    assert read[0].subject == "inv0"

    outbox.settle(TENANT, [read[0].key], [rescheduled(read[1], not_before=NOON + 60, retried=True)])
    after = outbox.read(TENANT, 10)
    assert [(i.message_id, i.attempts, i.not_before) for i in after] == [
        ("m-acct-a-1", 1, NOON + 60),
        ("m-acct-a-2", 0, 0.0),
    ]


def test_flush_generations_move_on_and_in_flight_notes_keep_what_was_sent(outbox: Outbox) -> None:
    assert outbox.generations([TENANT, "other"]) == {TENANT: 0, "other": 0}
    assert outbox.start_flush(TENANT) == 1
    assert outbox.start_flush(TENANT) == 2
    assert outbox.generations([TENANT]) == {TENANT: 2}

    outbox.note_in_flight(TENANT, "acct-a", InFlight({"inv-1": {"N-1", "N-1b"}}, {"pay-1"}))
    noted = outbox.in_flight(TENANT)["acct-a"]
    assert noted.invoices == {"inv-1": {"N-1", "N-1b"}}
    assert noted.payments == {"pay-1"}
    outbox.note_in_flight(TENANT, "acct-a", InFlight())
    assert outbox.in_flight(TENANT) == {}


def test_depth_counts_the_accounts_events_and_what_goes_before_its_last(outbox: Outbox) -> None:
    outbox.put(TENANT, items("acct-b", 30, start_ms=1_000))  # older: pushed first
    outbox.put(TENANT, items("acct-a", 20, start_ms=5_000))
    outbox.put(TENANT, items("acct-b", 10, start_ms=9_000))  # newer: after acct-a's last

    depth = outbox.depth(TENANT, "acct-a", limit=1_000)
    assert (depth.account, depth.through_last, depth.complete, depth.oldest) == (20, 50, True, NOON)
    assert outbox.depth(TENANT, "acct-c", limit=1_000).account == 0
    capped = outbox.depth(TENANT, "acct-b", limit=10)
    assert not capped.complete
    assert capped.account >= 10


class _Connections:
    def __init__(self, tenant_id: str | None) -> None:
        self._tenant = tenant_id

    def get(self, account_id: str) -> Any:
        return SimpleNamespace(tenant_id=self._tenant)


def test_the_backlog_drains_at_the_minute_rate_while_the_day_lasts(outbox: Outbox, resources: LocalResources) -> None:
    budget = CallBudget(
        boto3.client("dynamodb"), resources.table_name, per_minute=60, per_day=1_000, clock=lambda: NOON
    )
    reader = BacklogReader(_Connections(TENANT), outbox, budget, lambda: NOON)  # type: ignore[arg-type]
    assert reader.backlog("acct-a").waiting == 0  # type: ignore[union-attr]

    outbox.put(TENANT, items("acct-b", 100, start_ms=1_000))
    outbox.put(TENANT, items("acct-a", 150, start_ms=5_000))
    found = reader.backlog("acct-a")
    assert found is not None
    assert found.waiting == 150
    assert not found.more
    # 250 events ahead of and including the last: 5 batches, two calls each, at one call a second.
    assert found.drains_by == datetime.fromtimestamp(NOON + 10, UTC)
    assert found.oldest_waiting_since == datetime.fromtimestamp(NOON, UTC)


def test_a_backlog_beyond_the_days_calls_drains_on_later_days(outbox: Outbox, resources: LocalResources) -> None:
    budget = CallBudget(boto3.client("dynamodb"), resources.table_name, per_minute=60, per_day=4, clock=lambda: NOON)
    reader = BacklogReader(_Connections(TENANT), outbox, budget, lambda: NOON)  # type: ignore[arg-type]
    outbox.put(TENANT, items("acct-a", 500, start_ms=1_000))  # 20 calls: 4 today, 4 a day after
    found = reader.backlog("acct-a")
    assert found is not None
    assert found.drains_by is not None
    assert found.drains_by.date() == (datetime.fromtimestamp(NOON, UTC) + timedelta(days=4)).date()


def test_an_account_without_an_organisation_has_no_backlog_figure(outbox: Outbox, resources: LocalResources) -> None:
    budget = CallBudget(boto3.client("dynamodb"), resources.table_name)
    assert BacklogReader(_Connections(None), outbox, budget, lambda: NOON).backlog("a") is None  # type: ignore[arg-type]
