"""The daily inactivity sweep against moto (DynamoDB, SES) and the Xero sandbox, with a controlled clock."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from typing import Any

import pytest

from functions.sweep import handler
from local.xero_sandbox.faults import FaultRule
from shared import wiring
from shared.adapters.sweep_index import SweepIndex
from shared.domain.sweep import inactivity_reason
from shared.errors import StorageError
from shared.models.connection import ConnectionStatus
from shared.models.settings import AccountSettings
from tests.support.accounts import backdate, connect, owner_email, seed_connections, unique
from tests.support.emails import SesOutage, sent_emails
from tests.support.events import FakeContext, sample

TODAY = datetime(2026, 3, 1, 3, 15, tzinfo=UTC)
REVOKES = "POST /connect/revocation"
WARNING_SUBJECT = "Invoice Sync will disconnect from Xero on"
DISCONNECTED_SUBJECT = "Invoice Sync has disconnected from Xero"


@pytest.fixture
def aws_env(resources, monkeypatch) -> dict[str, str]:
    """The functions' environment without the Xero sandbox: for accounts seeded straight into the table."""
    for name, value in resources.environment.items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    return resources.environment


def run_sweep(now: datetime, *, remaining_ms: int = 600_000) -> dict[str, Any]:
    event = sample("sweep_schedule.json")
    event["time"] = now.isoformat().replace("+00:00", "Z")
    return handler.lambda_handler(event, FakeContext(remaining_ms=remaining_ms))


def days_ago(days: int, now: datetime = TODAY) -> datetime:
    """Some time during the UTC day ``days`` calendar days before ``now``."""
    return datetime.combine((now - timedelta(days=days)).date(), dt_time(14, 30), UTC)


def subjects(aws: str, account_id: str) -> list[str]:
    return [e.subject for e in sent_emails(aws, to=owner_email(account_id))]


def connected(env, sandbox, table: str, idle_days: int, now: datetime = TODAY) -> str:
    account = unique(f"idle{idle_days}")
    connect(env, sandbox, account)
    backdate(table, account, days_ago(idle_days, now))
    return account


def test_each_idle_age_gets_the_right_action_and_a_second_run_the_same_day_does_nothing(
    service_env, resources, sandbox, aws
):
    accounts = {n: unique(f"idle{n}") for n in (52, 53, 59)}  # warnings only: no need to consent at Xero
    seed_connections(resources.table_name, {account: days_ago(n) for n, account in accounts.items()})
    accounts |= {n: connected(service_env, sandbox, resources.table_name, n) for n in (60, 61)}
    state = sandbox.sandbox.state

    summary = run_sweep(TODAY)

    assert summary | {"items_read": 0} == {
        "today": "2026-03-01",
        "examined": 4,  # day 52 is not due: it is not even read
        "warned": 2,
        "disconnected": 2,
        "failed": 0,
        "skipped": 0,
        "items_read": 0,
        "complete": True,
    }
    repo = wiring.connections()
    idle52 = repo.get(accounts[52])
    assert idle52 is not None
    assert (idle52.status, idle52.sweep_stage, idle52.sweep_due_on) == ("connected", "warn", date(2026, 3, 2))
    assert subjects(aws, accounts[52]) == []
    # day 53: warned, disconnect in 7 days
    idle53 = repo.get(accounts[53])
    assert idle53 is not None
    assert (idle53.sweep_stage, idle53.sweep_due_on) == ("disconnect", date(2026, 3, 8))
    assert subjects(aws, accounts[53]) == [f"{WARNING_SUBJECT} Sunday 8 March 2026"]
    # day 59 (never warned, e.g. the sweep was just deployed): warned, disconnect tomorrow
    assert subjects(aws, accounts[59]) == [f"{WARNING_SUBJECT} Monday 2 March 2026"]
    # days 60 and 61: disconnected, revoked at Xero, told so
    for idle in (60, 61):
        gone = repo.get(accounts[idle])
        assert gone is not None
        assert gone.status == ConnectionStatus.DISCONNECTED
        assert gone.status_reason == inactivity_reason(60)
        assert gone.sweep_stage is None, "out of the sweep index"
        emails = sent_emails(aws, to=owner_email(accounts[idle]))
        assert [e.subject for e in emails] == [DISCONNECTED_SUBJECT]
        assert "access has been removed at Xero" in emails[0].body
    assert state.stats[REVOKES] == 2

    again = run_sweep(TODAY + timedelta(hours=2))

    assert (again["warned"], again["disconnected"], again["failed"]) == (0, 0, 0)
    assert state.stats[REVOKES] == 2
    assert sum(len(subjects(aws, a)) for a in accounts.values()) == 4


def test_a_connection_is_warned_once_then_disconnected_on_day_60_unless_used_meanwhile(
    service_env, resources, sandbox, aws
):
    start = TODAY
    idle = connected(service_env, sandbox, resources.table_name, 0, now=start)
    used = connected(service_env, sandbox, resources.table_name, 0, now=start)
    reconnected = connected(service_env, sandbox, resources.table_name, 0, now=start)
    repo = wiring.connections()
    events: list[tuple[int, str, str]] = []
    seen = {idle: 0, used: 0, reconnected: 0}

    for day_number in range(50, 63):  # the sweep runs every day
        moment = start + timedelta(days=day_number)
        if day_number == 55:
            assert repo.record_activity(used, moment), "an invoice pushed after the warning"
            connect(service_env, sandbox, reconnected)  # the owner reconnects after the warning
        run_sweep(moment)
        emails = sent_emails(aws)
        for account in seen:
            sent = [e.subject for e in emails if owner_email(account) in e.to]
            events += [(day_number, account, subject) for subject in sent[seen[account] :]]
            seen[account] = len(sent)

    warning = f"{WARNING_SUBJECT} Thursday 30 April 2026"
    assert events == [
        (53, idle, warning),
        (53, used, warning),
        (53, reconnected, warning),
        (60, idle, DISCONNECTED_SUBJECT),
    ]
    assert repo.get(idle).status == ConnectionStatus.DISCONNECTED
    still = repo.get(used)
    assert still is not None
    assert (still.status, still.sweep_stage) == ("connected", "warn")
    assert still.sweep_due_on == (start + timedelta(days=55 + 53)).date()
    again = repo.get(reconnected)
    assert again is not None
    assert (again.status, again.sweep_stage) == ("connected", "warn")
    assert sandbox.sandbox.state.stats[REVOKES] == 1


def test_a_thousand_connections_with_ten_due_reads_only_the_ten(aws_env, resources, aws):
    seeds = {f"bulk_{i:04d}": days_ago(10 + i % 40) for i in range(990)}  # idle 10 to 49 days: not due
    due = {f"due_{i:02d}": days_ago(53) for i in range(10)}
    seed_connections(resources.table_name, seeds | due)
    client = wiring.aws_client("dynamodb")
    calls: dict[str, int] = {}
    scanned: list[int] = []

    def count(event_name: str, parsed: dict[str, Any], **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        calls[operation] = calls.get(operation, 0) + 1
        if operation == "Query":
            scanned.append(parsed.get("ScannedCount", 0))

    client.meta.events.register("after-call.dynamodb", count)
    started = time.perf_counter()
    try:
        summary = run_sweep(TODAY)
    finally:
        client.meta.events.unregister("after-call.dynamodb", count)
    elapsed = time.perf_counter() - started

    assert (summary["examined"], summary["warned"], summary["items_read"]) == (10, 10, 10)
    assert calls["Query"] == 1
    assert sum(scanned) == 10, "the index read only the due connections"
    assert "Scan" not in calls
    assert calls["GetItem"] <= 3 * 10, "a few reads per due connection, none for the rest"
    assert elapsed < 10, f"the sweep took {elapsed:.1f}s"  # under 1 s on a busy laptop; the bound is generous
    emails = sent_emails(aws)
    assert all(sum(owner_email(account) in e.to for e in emails) == 1 for account in due)


def test_pages_through_everything_due(aws_env, resources, aws, monkeypatch):
    due = {unique("due"): days_ago(53) for _ in range(7)}
    seed_connections(resources.table_name, due)
    original = SweepIndex.__init__

    def small_pages(self: SweepIndex, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **{**kwargs, "page_size": 3})

    monkeypatch.setattr(SweepIndex, "__init__", small_pages)
    wiring.reset()

    summary = run_sweep(TODAY)

    assert (summary["examined"], summary["warned"]) == (7, 7)


def test_a_revoke_that_fails_at_xero_still_disconnects_and_the_email_says_so(service_env, resources, sandbox, aws):
    account = connected(service_env, sandbox, resources.table_name, 60)
    sandbox.sandbox.faults.set([FaultRule(kind="status", status=500, path="/connect/revocation")])

    summary = run_sweep(TODAY)

    assert summary["disconnected"] == 1
    gone = wiring.connections().get(account)
    assert gone is not None
    assert gone.status == ConnectionStatus.DISCONNECTED
    emails = sent_emails(aws, to=owner_email(account))
    assert [e.subject for e in emails] == [DISCONNECTED_SUBJECT]
    assert "Xero could not be reached to remove Invoice Sync&#x27;s access there" in emails[0].body
    assert "Settings &gt; Connected apps" in emails[0].body
    assert sandbox.sandbox.faults.injected["status 500"] == 1


def test_an_ses_failure_fails_only_that_account_and_the_next_run_sends_exactly_one(aws_env, resources, aws):
    failing, fine = unique("ses"), unique("ok")
    seed_connections(resources.table_name, {failing: days_ago(53), fine: days_ago(53)})
    wiring.mailer().sleep = lambda _: None

    with SesOutage(wiring.ses_client(), fail_for=owner_email(failing)) as outage:
        first = run_sweep(TODAY)

    assert outage.failed == 4
    assert (first["warned"], first["failed"]) == (1, 1)
    assert subjects(aws, failing) == []
    assert wiring.connections().get(failing).sweep_stage == "warn"

    second = run_sweep(TODAY + timedelta(hours=1))
    third = run_sweep(TODAY + timedelta(hours=2))

    assert (second["warned"], second["failed"], third["warned"]) == (1, 0, 0)
    assert len(subjects(aws, failing)) == 1
    assert len(subjects(aws, fine)) == 1


def test_an_ses_failure_after_disconnecting_is_retried_without_a_second_revoke(service_env, resources, sandbox, aws):
    account = connected(service_env, sandbox, resources.table_name, 60)
    wiring.mailer().sleep = lambda _: None

    with SesOutage(wiring.ses_client()):
        first = run_sweep(TODAY)

    assert first["failed"] == 1
    assert wiring.connections().get(account).status == ConnectionStatus.DISCONNECTED
    assert subjects(aws, account) == []

    second = run_sweep(TODAY + timedelta(minutes=5))

    assert second["disconnected"] == 1
    assert subjects(aws, account) == [DISCONNECTED_SUBJECT]
    assert sandbox.sandbox.state.stats[REVOKES] == 1
    assert run_sweep(TODAY + timedelta(minutes=6))["examined"] == 0, "nothing left in the index"


def test_a_crash_between_the_warning_and_its_transition_neither_loses_nor_repeats_it(
    aws_env, resources, aws, monkeypatch
):
    account = unique("crash")
    seed_connections(resources.table_name, {account: days_ago(53)})
    original = SweepIndex.move_to_disconnect
    crashes = [StorageError("DynamoDB went away")]

    def flaky(self: SweepIndex, *args: Any, **kwargs: Any) -> bool:
        if crashes:
            raise crashes.pop()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SweepIndex, "move_to_disconnect", flaky)

    first = run_sweep(TODAY)
    second = run_sweep(TODAY + timedelta(minutes=1))

    assert (first["failed"], second["warned"]) == (1, 1)
    assert len(subjects(aws, account)) == 1
    assert wiring.connections().get(account).sweep_stage == "disconnect"


def test_two_sweeps_at_once_send_one_email_and_revoke_once(service_env, resources, sandbox, aws):
    warn = unique("both")
    seed_connections(resources.table_name, {warn: days_ago(53)})
    gone = connected(service_env, sandbox, resources.table_name, 60)
    barrier = threading.Barrier(2)
    results: list[dict[str, Any]] = []

    def sweep() -> None:
        barrier.wait()
        results.append(wiring.sweep().run(TODAY).as_dict())

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sum(r["warned"] for r in results) == 1
    assert sum(r["disconnected"] for r in results) == 1
    assert sum(r["failed"] for r in results) == 0
    assert len(subjects(aws, warn)) == 1
    assert subjects(aws, gone) == [DISCONNECTED_SUBJECT]
    assert sandbox.sandbox.state.stats[REVOKES] == 1


def test_stops_before_the_lambda_times_out_and_the_next_run_resumes(aws_env, resources, aws):
    accounts = {unique("late"): days_ago(53) for _ in range(3)}
    seed_connections(resources.table_name, accounts)

    stopped = run_sweep(TODAY, remaining_ms=30_000)  # less than the safety margin

    assert (stopped["examined"], stopped["complete"]) == (0, False)
    resumed = run_sweep(TODAY)
    assert (resumed["warned"], resumed["complete"]) == (3, True)


def test_the_schedule_time_is_used_unless_the_deployment_allows_an_override(aws_env, resources, aws, monkeypatch):
    account = unique("clock")
    seed_connections(resources.table_name, {account: days_ago(53)})
    event = sample("sweep_schedule.json") | {"time": "2026-02-01T03:15:00Z", "detail": {"now": TODAY.isoformat()}}

    ignored = handler.lambda_handler(event, FakeContext(remaining_ms=600_000))
    monkeypatch.setenv("SWEEP_CLOCK_OVERRIDE", "true")
    wiring.reset()
    honoured = handler.lambda_handler(event, FakeContext(remaining_ms=600_000))

    assert (ignored["today"], ignored["warned"]) == ("2026-02-01", 0)
    assert (honoured["today"], honoured["warned"]) == ("2026-03-01", 1)


def test_alert_recipients_from_settings_receive_the_warning(aws_env, resources, aws):
    account = unique("rcpt")
    seed_connections(resources.table_name, {account: days_ago(53)})
    wiring.account_settings().save(
        AccountSettings(account_id=account, alert_recipients=(f"books-{account}@example.com",)), now=TODAY
    )

    run_sweep(TODAY)

    assert subjects(aws, account) == []
    assert len(sent_emails(aws, to=f"books-{account}@example.com")) == 1


def test_the_inactivity_and_warning_days_are_settings(aws_env, resources, aws, monkeypatch):
    monkeypatch.setenv("INACTIVITY_DAYS", "30")
    monkeypatch.setenv("INACTIVITY_WARNING_DAYS", "3")
    wiring.reset()
    policy = wiring.connections().policy
    early, due = unique("early"), unique("due")
    seed_connections(resources.table_name, {early: days_ago(26), due: days_ago(27)}, policy)

    summary = run_sweep(TODAY)

    assert (summary["examined"], summary["warned"]) == (1, 1)
    assert subjects(aws, due) == [f"{WARNING_SUBJECT} Wednesday 4 March 2026"]
    assert "unused for 30 days" in sent_emails(aws, to=owner_email(due))[0].body
