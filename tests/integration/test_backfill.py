"""Backfill of an account's history: the real intake and push over moto and the Xero sandbox, on the
sandbox's clock, a Starter organisation (1,000 calls a day)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from functions.intake import handler as intake
from local.xero_sandbox import SandboxServer
from local.xero_sandbox.seed import NZ_TENANT
from shared import wiring
from shared.adapters.budget import DAY_RESERVE, CallBudget, _day
from shared.adapters.outbox import BACKFILL, LIVE
from tests.support.events import FakeContext
from tests.support.push import configure, dead_letters, flush_all, message, outbox_items, sqs_event

pytestmark = pytest.mark.usefixtures("service_env")
ACCOUNT = "acct-demo"
STARTER_DAY = 1000
MONDAY_9AM = datetime(2026, 12, 7, 9, tzinfo=UTC).timestamp()


@pytest.fixture
def starter(service_env: dict[str, str], sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """A configured account on a Starter organisation; the service runs on the sandbox's clock."""
    clock = sandbox.sandbox.state.clock
    clock.set(MONDAY_9AM)
    configure(service_env, sandbox, ACCOUNT)
    sandbox.sandbox.state.limiter.set_tier(NZ_TENANT, "starter")
    parts = replace(
        wiring.push_parts(),
        budget=CallBudget(
            wiring.aws_client("dynamodb"), service_env["TABLE_NAME"], per_day=STARTER_DAY - DAY_RESERVE, clock=clock.now
        ),
        clock=clock.now,
        sleep=clock.advance,
    )
    monkeypatch.setattr(wiring, "push_parts", lambda: parts)
    wiring.reset()
    return sandbox


def history(
    n: int, issued: date, *, account_id: str = ACCOUNT, contact: str | None = None, **data: Any
) -> dict[str, Any]:
    contact_id = contact or f"cus-{n:05d}"
    body = message(
        "13-invoice-history.json",
        account_id=account_id,
        invoice_id=f"inv-h{n}",
        number=f"H-{n:05d}",
        version=1,
        issue_date=issued.isoformat(),
        due_date=(issued + timedelta(days=30)).isoformat(),
        **data,
    )
    body["data"]["contact"] = {**body["data"]["contact"], "contact_id": contact_id, "name": f"Customer {contact_id}"}
    return body


def live(n: int) -> dict[str, Any]:
    body = message("03-invoice-sent.json", account_id=ACCOUNT, invoice_id=f"inv-l{n}", number=f"L-{n:05d}", version=1)
    body["data"]["contact"] = {**body["data"]["contact"], "contact_id": f"cus-l{n}", "name": f"Live customer {n}"}
    return body


def take_in(*bodies: dict[str, Any]) -> None:
    """The intake takes the messages (in batches of 100), without flushing yet."""
    listed = list(bodies)
    for start in range(0, len(listed), 100):
        answer = intake.lambda_handler(sqs_event(listed[start : start + 100]), FakeContext(60_000))
        assert answer["batchItemFailures"] == []


def created(sandbox: SandboxServer) -> list[Any]:
    """The sandbox's invoices in the order Xero created them."""
    return list(sandbox.sandbox.state.organisations[NZ_TENANT].invoices.values())


def stats(sandbox: SandboxServer) -> dict[str, int]:
    return sandbox.sandbox.state.organisations[NZ_TENANT].stats


def spend_today(table: str, count: int, now: float) -> None:
    """As if the push had made ``count`` calls to the organisation today."""
    boto3.client("dynamodb").put_item(
        TableName=table,
        Item={
            "pk": {"S": f"TENANT#{NZ_TENANT}"},
            "sk": {"S": "BUDGET"},
            "tokens": {"N": "3"},
            "at": {"N": str(now)},
            "day": {"S": _day(now)},
            "day_count": {"N": str(count)},
        },
    )


def wake() -> None:
    """What the organisation's wake-up does when its delay ends: a flush ticket."""
    wiring.flush_tickets().send(wiring.outbox().generations([NZ_TENANT]))
    flush_all()


def test_history_goes_on_the_backfill_lane_and_drains_oldest_first(starter: SandboxServer) -> None:
    rng = random.Random(5)
    first = date(2024, 12, 1)
    days = rng.sample(range(730), 120)
    bodies = [history(n, first + timedelta(days=d)) for n, d in enumerate(days)]
    rng.shuffle(bodies)
    take_in(*bodies)
    assert {item["lane"] for item in outbox_items()} == {BACKFILL}

    flush_all()

    dates = [i.date for i in created(starter)]
    assert len(dates) == 120
    assert dates == sorted(dates), "the oldest invoice first"
    assert stats(starter)["429"] == 0
    assert outbox_items() == []


def test_live_events_go_before_the_backfill(starter: SandboxServer, service_env: dict[str, str]) -> None:
    take_in(*[history(n, date(2025, 1, 1) + timedelta(days=n)) for n in range(150)])
    take_in(*[live(n) for n in range(3)])
    assert sorted({item["lane"] for item in outbox_items()}) == [LIVE, BACKFILL]

    flush_all()

    numbers = [i.number for i in created(starter)]
    assert numbers[:3] == ["L-00000", "L-00001", "L-00002"], "live events first, though published last"
    assert len(numbers) == 153
    assert not dead_letters(service_env)


def test_the_backfill_stops_at_the_live_reserve_and_resumes_the_next_day_without_a_429(
    starter: SandboxServer, service_env: dict[str, str]
) -> None:
    clock = starter.sandbox.state.clock
    budget = wiring.push_parts().budget
    per_day = STARTER_DAY - DAY_RESERVE
    assert budget.live_reserve == 195  # 20 % of the 975 calls the push may use
    # Four calls left for the backfill today: a pass of 300 history invoices (new contacts) needs 12.
    spend_today(service_env["TABLE_NAME"], per_day - budget.live_reserve - 4, clock.now())
    calls = stats(starter)["calls"]
    take_in(*[history(n, date(2025, 3, 1)) for n in range(300)])

    flush_all()

    assert stats(starter)["calls"] - calls == 4, "the backfill spent what was above the reserve, no more"
    waiting = outbox_items()
    assert len(waiting) == 300
    tomorrow = datetime(2026, 12, 8, tzinfo=UTC).timestamp()
    assert all(float(i["not_before"]) >= tomorrow for i in waiting), "deferred to the next day"
    assert budget.backfill_hold(NZ_TENANT) > 14 * 3600

    # A live event meanwhile is synced at once, on the reserve.
    take_in(live(1))
    flush_all()
    assert [i.number for i in created(starter)] == ["L-00001"]
    assert len(outbox_items()) == 300

    # The next day the backfill goes on (its wake-up brings the organisation back).
    clock.set(tomorrow + 60)
    wake()

    assert outbox_items() == []
    assert len(created(starter)) == 301
    assert stats(starter)["429"] == 0
    assert not dead_letters(service_env)


def test_the_backfill_follows_xeros_own_count_into_the_reserve(starter: SandboxServer) -> None:
    """Xero's X-DayLimit-Remaining rules over the push's count (another day start, calls before ours):
    once it is within the reserve the backfill waits an hour at a time, and never meets a 429."""
    starter.sandbox.state.limiter.configure(tenant_id=NZ_TENANT, day=240)  # 20 calls above 25 + 195
    take_in(*[history(n, date(2025, 3, 1)) for n in range(1000)])

    flush_all()

    spent = stats(starter)["calls"]
    assert 20 <= spent <= 22
    assert stats(starter)["429"] == 0
    assert 0 < wiring.push_parts().budget.backfill_hold(NZ_TENANT) <= 3600
    take_in(live(7))
    flush_all()
    assert "L-00007" in {i.number for i in created(starter)}
    assert stats(starter)["429"] == 0
