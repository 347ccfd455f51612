"""The backfill's lane choice and budget split, without AWS or Xero."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.adapters.budget import LIVE_SHARE, CallBudget, _day
from shared.adapters.outbox import BACKFILL, LIVE, OutboxItem
from shared.domain.backfill import placement
from shared.domain.push.flush import Flush
from shared.domain.push.model import Message
from shared.models.events import parse_event

MESSAGES = Path(__file__).resolve().parents[2] / "events" / "messages"
NOON = datetime(2026, 12, 7, 12, tzinfo=UTC).timestamp()


def parsed(sample: str, **envelope: Any) -> Message:
    body = json.loads((MESSAGES / sample).read_text()) | envelope
    message = Message(message_id="m-1", receipt_handle="", body=json.dumps(body), published_ms=1_796_000_000_000)
    message.event = parse_event(message.body)
    return message


def test_a_live_event_goes_on_the_live_lane_by_when_it_was_published() -> None:
    assert placement(parsed("03-invoice-sent.json")) == (LIVE, 1_796_000_000_000)


def test_a_history_event_goes_on_the_backfill_lane_by_its_own_date() -> None:
    lane, at = placement(parsed("13-invoice-history.json"))
    assert lane == BACKFILL
    assert datetime.fromtimestamp(at / 1000, UTC).date().isoformat() == "2025-01-14"  # its issue date


def test_on_one_day_of_history_the_contact_goes_before_its_invoice_and_the_invoice_before_its_payment() -> None:
    contact = placement(parsed("01-contact-upserted.json", origin="history", occurred_at="2026-11-02T00:00:00Z"))
    invoice = placement(parsed("03-invoice-sent.json", origin="history"))
    payment = placement(parsed("04-payment-partial.json", origin="history"))
    assert contact[1] < invoice[1] <= payment[1]


# --- the budget split -----------------------------------------------------------------------------


def budget(per_day: int = 975) -> CallBudget:
    return CallBudget(None, "t", per_day=per_day, clock=lambda: NOON)  # type: ignore[arg-type]


def test_the_live_reserve_is_a_share_of_the_day() -> None:
    assert budget(975).live_reserve == 195 == round(975 * LIVE_SHARE)
    assert budget(4975).live_reserve == 995


@pytest.mark.parametrize(("used", "holds"), [(0, False), (779, False), (780, True), (975, True)])
def test_a_backfill_spends_only_the_calls_above_the_reserve_until_midnight(used: int, holds: bool) -> None:
    item = {"day": _day(NOON), "day_count": used}
    hold = budget()._backfill_hold(item, NOON)
    assert hold == (12 * 3600 if holds else 0)


def test_yesterdays_count_does_not_hold_todays_backfill() -> None:
    assert budget()._backfill_hold({"day": "2026-12-06", "day_count": 975}, NOON) == 0


def test_xeros_own_count_in_the_reserve_holds_the_backfill_for_what_it_said() -> None:
    assert budget()._backfill_hold({"backfill_until": NOON + 1800}, NOON) == 1800


# --- the flush's lane choice -----------------------------------------------------------------------


@dataclass
class FakeOutbox:
    items: list[OutboxItem]

    def start_flush(self, tenant_id: str) -> int:
        return 1

    def read(self, tenant_id: str, limit: int, lane: int | None = None) -> list[OutboxItem]:
        found = sorted((i for i in self.items if lane is None or i.lane == lane), key=lambda i: i.key)
        return found[:limit]

    def in_flight(self, tenant_id: str) -> dict[str, Any]:
        return {}


@dataclass
class FakeBudget:
    hold: float = 0.0

    def backfill_hold(self, tenant_id: str) -> float:
        return self.hold

    def blocked_for(self, tenant_id: str) -> float:
        return 0.0


@dataclass
class FakeService:
    outbox: FakeOutbox
    passes: list[tuple[bool, list[str]]] = field(default_factory=list)

    def process(self, messages: list[Message], seconds_left: Any, **kwargs: Any) -> Any:
        from shared.domain.push.model import Tally

        keys = [m.key for m in messages]
        self.passes.append((kwargs["backfill"], keys))
        self.outbox.items = [i for i in self.outbox.items if i.key not in keys]
        return Tally()


@dataclass
class FakeParts:
    outbox: FakeOutbox
    budget: FakeBudget
    coalesce_seconds: float = 0.0
    progress: None = None

    def clock(self) -> float:
        return NOON


def item(n: int, lane: int) -> OutboxItem:
    return OutboxItem.new("a", "{}", f"m{n}", NOON - 60, lane, published_ms=1_700_000_000_000 + n, subject=f"s{n}")


def flush(items: list[OutboxItem], hold: float = 0.0) -> tuple[FakeService, Any]:
    outbox = FakeOutbox(items)
    service = FakeService(outbox)
    report = Flush(FakeParts(outbox, FakeBudget(hold)), service).run("t", lambda: 600.0)  # type: ignore[arg-type]
    return service, report


def test_live_events_go_first_in_a_pass_of_their_own_then_the_backfill() -> None:
    service, report = flush([item(1, BACKFILL), item(2, BACKFILL), item(3, LIVE)])
    assert [(backfill, len(keys)) for backfill, keys in service.passes] == [(False, 1), (True, 2)]
    assert report.wait is None
    assert report.wake_in is None


def test_a_held_backfill_lets_live_events_go_and_ends_with_a_wake_up_not_a_hidden_ticket() -> None:
    service, report = flush([item(1, BACKFILL), item(2, LIVE)], hold=5 * 3600)
    assert service.passes == [(False, [item(2, LIVE).key])]
    assert report.wait is None, "a hidden ticket would hold up the live events that come meanwhile"
    assert report.wake_in == 5 * 3600


def test_a_few_young_history_events_wait_to_fill_a_batch_as_live_ones_do() -> None:
    young = [
        OutboxItem.new("a", "{}", f"m{n}", NOON - 5, BACKFILL, published_ms=n + 1, subject=f"s{n}") for n in range(3)
    ]
    outbox = FakeOutbox(young)
    service = FakeService(outbox)
    parts = FakeParts(outbox, FakeBudget(), coalesce_seconds=20.0)
    report = Flush(parts, service).run("t", lambda: 600.0)  # type: ignore[arg-type]
    assert service.passes == []
    assert report.wait == 15.0
