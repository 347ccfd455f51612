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
from shared.domain.backlog import BacklogReader
from tests.support.api import ManagementApi
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
    reader = BacklogReader(wiring.connections(), wiring.outbox(), parts.budget, clock.now, wiring.backfill_progress())
    monkeypatch.setattr(wiring, "backlog_reader", lambda: reader)
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


# --- invoices Xero already has under the same number -------------------------------------------------


def made_by_hand(number: str, contact_name: str, *, paid: bool = False, status: str = "AUTHORISED") -> str:
    """An invoice someone made in Xero before the service (by hand, or another tool): its InvoiceID."""
    access = wiring.token_manager().access(ACCOUNT)
    xero = wiring.xero()
    element = {
        "Type": "ACCREC",
        "InvoiceNumber": number,
        "Contact": {"Name": contact_name},
        "Date": "2025-03-01",
        "DueDate": "2025-03-31",
        "Status": "AUTHORISED",
        "LineAmountTypes": "Exclusive",
        "LineItems": [
            {"Description": "By hand", "Quantity": 1, "UnitAmount": 100, "AccountCode": "200", "TaxType": "OUTPUT2"}
        ],
    }
    answer = xero.write(
        "PUT", access.access_token, NZ_TENANT, "Invoices", {"Invoices": [element]}, idempotency_key=f"hand-{number}"
    )
    invoice_id = str(answer["Invoices"][0]["InvoiceID"])
    if status != "AUTHORISED":
        change = {"Invoices": [{"InvoiceID": invoice_id, "Status": status}]}
        xero.write("POST", access.access_token, NZ_TENANT, "Invoices", change, idempotency_key=f"set-{number}")
    if paid:
        payment = {
            "Invoice": {"InvoiceID": invoice_id},
            "Account": {"Code": "090"},
            "Date": "2025-03-05",
            "Amount": 115,
        }
        xero.write(
            "PUT", access.access_token, NZ_TENANT, "Payments", {"Payments": [payment]}, idempotency_key=f"pay-{number}"
        )
    return invoice_id


def numbered(sandbox: SandboxServer, number: str) -> list[Any]:
    return [i for i in created(sandbox) if i.number == number and i.status != "DELETED"]


def record(invoice_id: str, account_id: str = ACCOUNT) -> Any:
    found = wiring.sync_records().invoice(account_id, invoice_id)
    assert found is not None
    return found


def test_a_history_invoice_xero_already_has_unpaid_for_its_contact_is_matched_and_updated(
    starter: SandboxServer, service_env: dict[str, str]
) -> None:
    xero_id = made_by_hand("H-00001", "Customer cus-00001")
    take_in(history(1, date(2025, 3, 1)))

    flush_all()

    [invoice] = numbered(starter, "H-00001")
    assert invoice.invoice_id == xero_id, "the one in Xero, not a second one"
    assert str(invoice.total) == "149.50", "made the platform's version"
    found = record("inv-h1")
    assert (found.xero_invoice_id, found.adopted, found.state) == (xero_id, "updated", "synced")
    assert not dead_letters(service_env)


@pytest.mark.parametrize(
    ("paid", "status", "contact", "why"),
    [
        (True, "AUTHORISED", "Customer cus-00002", "it is PAID in Xero"),
        (False, "VOIDED", "Customer cus-00002", "it is VOIDED in Xero"),
        (False, "AUTHORISED", "Someone else", "it is for another contact in Xero"),
    ],
)
def test_a_history_invoice_xero_has_paid_voided_or_for_another_contact_is_matched_and_kept(
    starter: SandboxServer, service_env: dict[str, str], paid: bool, status: str, contact: str, why: str
) -> None:
    xero_id = made_by_hand("H-00002", contact, paid=paid, status=status)
    before = numbered(starter, "H-00002")[0]
    payments = len(starter.sandbox.state.organisations[NZ_TENANT].payments)
    pay = message(
        "04-payment-partial.json", account_id=ACCOUNT, payment_id="pay-h2", invoice_id="inv-h2", date="2025-03-05"
    )
    pay["origin"] = "history"
    take_in(history(2, date(2025, 3, 1)), pay)

    flush_all()

    [invoice] = numbered(starter, "H-00002")
    assert (invoice.invoice_id, invoice.total, invoice.status) == (xero_id, before.total, before.status)
    assert len(starter.sandbox.state.organisations[NZ_TENANT].payments) == payments, "no payment added to it"
    found = record("inv-h2")
    assert (found.xero_invoice_id, found.adopted, found.adopted_reason) == (xero_id, "kept", why)
    assert outbox_items() == []
    assert not dead_letters(service_env)


def test_a_live_invoice_whose_number_xero_has_is_still_refused(
    starter: SandboxServer, service_env: dict[str, str]
) -> None:
    made_by_hand("L-00004", "Live customer 4")
    take_in(live(4))
    flush_all()
    codes = [m["MessageAttributes"]["failure_code"]["StringValue"] for m in dead_letters(service_env)]
    assert codes == ["duplicate_invoice_number"]


def test_two_accounts_on_one_organisation_never_adopt_each_others_invoices(
    starter: SandboxServer, service_env: dict[str, str]
) -> None:
    configure(service_env, starter, "acct-other")
    take_in(history(3, date(2025, 3, 1)))
    flush_all()
    mine = numbered(starter, "H-00003")[0]

    # The other account's history has an invoice of the same number: it is refused, never matched.
    take_in(history(3, date(2025, 4, 1), account_id="acct-other", contact="cus-other"))
    flush_all()

    [invoice] = numbered(starter, "H-00003")
    assert (invoice.invoice_id, invoice.total) == (mine.invoice_id, mine.total)
    assert record("inv-h3", "acct-other").state == "failed"
    codes = [m["MessageAttributes"]["failure_code"]["StringValue"] for m in dead_letters(service_env)]
    assert codes == ["duplicate_invoice_number"]


# --- progress ------------------------------------------------------------------------------------


def test_the_backfill_route_reports_waiting_synced_failed_kept_and_when_it_drains(
    starter: SandboxServer, service_env: dict[str, str]
) -> None:
    clock = starter.sandbox.state.clock
    budget = wiring.push_parts().budget
    per_day = STARTER_DAY - DAY_RESERVE
    made_by_hand("H-00007", "Customer cus-00007", paid=True)
    unmapped = history(
        8, date(2025, 3, 2), line_items=[{"description": "x", "quantity": "1", "unit_price": "5", "tax_id": "nope"}]
    )
    unmapped["data"].pop("totals")
    take_in(*[history(n, date(2025, 3, 1)) for n in range(8)], unmapped)
    flush_all()
    api = ManagementApi()
    done = api.get(f"/v1/accounts/{ACCOUNT}/backfill")
    assert done.status == 200
    body = done.body
    assert (body["waiting"], body["synced"], body["failed"], body["kept"]) == (0, 8, 1, 1)
    assert body["kept_numbers"] == ["H-00007"]
    assert body["calls_a_day"] == per_day - budget.live_reserve
    assert body["drains_by"] is None

    # Today's share for a backfill nearly spent: 2,000 more wait, and drain on the next day's calls.
    spend_today(service_env["TABLE_NAME"], per_day - budget.live_reserve - 2, clock.now())
    take_in(*[history(n, date(2025, 4, 1)) for n in range(100, 2100)])
    flush_all()
    body = api.get(f"/v1/accounts/{ACCOUNT}/backfill").body
    assert body["waiting"] > 1900
    assert body["resumes_at"].startswith("2026-12-08T00:00")
    drains = datetime.fromisoformat(body["drains_by"])
    # About 80 calls at 55 a minute, from tomorrow's midnight.
    assert datetime(2026, 12, 8, tzinfo=UTC) < drains < datetime(2026, 12, 8, 0, 5, tzinfo=UTC)
    assert stats(starter)["429"] == 0


def test_a_write_the_reserve_stopped_before_it_went_is_not_looked_for_in_xero_the_next_day(
    starter: SandboxServer, service_env: dict[str, str]
) -> None:
    """The budget stops the backfill at the payments' write: nothing of it went, so nothing of it is left
    "in flight" (which would cost a Xero read per payment the next day, on a budget that has no room)."""
    clock = starter.sandbox.state.clock
    budget = wiring.push_parts().budget
    spend_today(service_env["TABLE_NAME"], STARTER_DAY - DAY_RESERVE - budget.live_reserve - 3, clock.now())
    invoices = [history(n, date(2025, 3, 1), contact="cus-1") for n in range(60)]
    payments = []
    for n in range(60):
        pay = message(
            "04-payment-partial.json",
            account_id=ACCOUNT,
            payment_id=f"pay-h{n}",
            invoice_id=f"inv-h{n}",
            amount="149.50",
        )
        payments.append(pay | {"origin": "history"} | {"data": pay["data"] | {"date": "2025-03-10"}})
    take_in(*invoices, *payments)

    flush_all()

    assert len(numbered_all(starter)) == 60, "the contact and the invoices went (3 calls)"
    assert len(outbox_items()) == 60, "the payments wait for the next day"
    notes = [i for i in all_outbox_rows() if str(i["sk"]).startswith("INFLIGHT#")]
    assert notes == [], "the payments' write never went: nothing is in flight"

    clock.set(datetime(2026, 12, 8, 0, 1, tzinfo=UTC).timestamp())
    gets = stats(starter).get("GET /api.xro/2.0/Payments", 0)
    wake()

    assert outbox_items() == []
    assert stats(starter).get("GET /api.xro/2.0/Payments", 0) == gets, "no payment looked for"
    assert len(starter.sandbox.state.organisations[NZ_TENANT].payments) == 60
    assert stats(starter)["429"] == 0


def numbered_all(sandbox: SandboxServer) -> list[Any]:
    return [i for i in created(sandbox) if i.number.startswith("H-")]


def all_outbox_rows() -> list[dict[str, Any]]:
    from shared.adapters.dynamo import from_item

    items = boto3.client("dynamodb").scan(
        TableName=wiring.settings().table_name,
        FilterExpression="begins_with(pk, :o)",
        ExpressionAttributeValues={":o": {"S": "OUTBOX#"}},
    )["Items"]
    return [from_item(i) for i in items]


def test_a_history_payment_before_its_invoice_waits_for_it_without_spending_its_tries(
    starter: SandboxServer, service_env: dict[str, str]
) -> None:
    from tests.support.push import make_due

    pay = message("04-payment-partial.json", account_id=ACCOUNT, payment_id="pay-h9", invoice_id="inv-h9")
    take_in(pay | {"origin": "history"})
    flush_all()
    for _ in range(10):  # more than the 8 tries a live payment gets
        assert len(make_due()) == 1
    assert int(outbox_items()[0].get("attempts") or 0) == 0

    take_in(history(9, date(2025, 3, 1)))
    make_due()

    assert outbox_items() == []
    assert len(starter.sandbox.state.organisations[NZ_TENANT].payments) == 1
    assert not dead_letters(service_env)
