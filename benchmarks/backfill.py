"""Backfill of an account's history on a Starter organisation, with live events published throughout:
through the real intake and push handlers, against the Xero sandbox and moto, on the sandbox's clock.

One account connects a Starter organisation (the sandbox's ``starter`` tier, the push's day budget
``XeroDayLimit`` 1,000 less its reserve) and publishes its history at once: :data:`HISTORY`
invoices (``"origin": "history"``, issue dates over two years, a contact per ten invoices) and a
payment for each (two weeks after the invoice). Meanwhile it keeps working: a live invoice, for a
new customer, every :data:`LIVE_EVERY` seconds, until the history has drained.

The simulation is :class:`benchmarks.push.Simulation`'s, with two changes that matter here: the
intake runs while a flush is running (before each of the flush's passes, the intake batches due by
then are taken, as the intake's Lambda would take them meanwhile), and each Xero call takes
:data:`benchmarks.push.XERO_CALL_SECONDS` of the clock as it is made; a live invoice's latency is
from its publication to the moment its ``invoice.synced`` status event goes out. Wake-ups are SQS
delays of at most 15 minutes, sent again until due, as the push sends them.

Figures: days to drain, Xero calls on each day, 429s, the live invoices' p50/p99 latency, and
progress snapshots (``GET /v1/accounts/{id}/backfill``'s figures) every few simulated hours.
"""

from __future__ import annotations

import heapq
import json
import os
import random
import sys
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from benchmarks.framework import Figure, benchmark
from benchmarks.push import (
    _SANDBOX,
    WORKERS,
    XERO_CALL_SECONDS,
    Simulation,
    _intake_batches,
    _percentile,
    _sandbox_totals,
    connect_accounts,
    invoice_bodies,
    service,
)
from shared.wiring import push_parts as _wired_push_parts

HISTORY = 20_000
QUICK_HISTORY = 300
DAY_LIMIT = 1000  # Xero's Starter tier
QUICK_DAY_LIMIT = 45  # the quick run crosses a day on a few calls
LIVE_EVERY = 1800.0  # a live invoice every half hour
QUICK_LIVE_EVERY = 6 * 3600.0
MAX_DAYS = 10  # a run that has not drained by then stops (and says so)
SNAPSHOT_EVERY = 4 * 3600.0
WAKE_MAX = 900.0  # SQS's longest delay: a wake-up further off is sent again when it arrives


@dataclass
class Backfilled:
    started: float = 0.0
    drained_at: float | None = None
    calls_by_day: dict[str, int] = field(default_factory=dict)
    rate_limited: int = 0
    live_latencies: list[float] = field(default_factory=list)
    snapshots: list[str] = field(default_factory=list)
    history_synced: int = 0
    history_failed: int = 0
    kept: int = 0
    wall_seconds: float = 0.0


class BackfillSimulation(Simulation):
    """The push bench's simulation, with the intake running during a flush (see the module)."""

    def __init__(self, clock: Any, sandbox: str) -> None:
        super().__init__(clock, sandbox)
        self._originals: list[tuple[Any, str, Any]] = []
        self.batches: list[tuple[float, list[dict[str, Any]]]] = []
        self.synced_at: dict[tuple[str, str], float] = {}

    def install(self) -> None:
        super().install()
        from shared.adapters.flush_tickets import FlushTickets
        from shared.adapters.outbox import LIVE, Outbox
        from shared.adapters.status_events import StatusEvents
        from shared.adapters.xero import XeroClient

        simulation = self
        read = Outbox.read

        def read_with_intake(outbox: Outbox, tenant_id: str, limit: int, lane: int | None = None) -> list[Any]:
            if lane == LIVE:  # a flush pass begins: what the intake took meanwhile is in the outbox
                simulation.intake_due()
            return read(outbox, tenant_id, limit, lane)

        def publish(_self: Any, events: Any) -> None:
            for e in events:
                if getattr(e, "type", "") == "invoice.synced":
                    simulation.synced_at.setdefault((e.account_id, e.invoice_id), simulation.clock.now())

        def wake_later(_self: Any, tenant_id: str, seconds: float) -> None:
            simulation.ticket(tenant_id, simulation.flush_started + min(seconds, WAKE_MAX))

        def timed(method: Any) -> Any:
            def call(*args: Any, **kwargs: Any) -> Any:
                try:
                    return method(*args, **kwargs)
                finally:
                    simulation.clock.sleep(XERO_CALL_SECONDS)

            return call

        self._originals = [
            (Outbox, "read", Outbox.read),
            (StatusEvents, "publish", StatusEvents.publish),
            (FlushTickets, "wake_later", FlushTickets.wake_later),
            (XeroClient, "get", XeroClient.get),
            (XeroClient, "write", XeroClient.write),
        ]
        replacements = (read_with_intake, publish, wake_later, timed(XeroClient.get), timed(XeroClient.write))
        for (owner, name, _), replacement in zip(self._originals, replacements, strict=True):
            setattr(owner, name, replacement)

    def uninstall(self) -> None:
        """Put back what :meth:`install` changed here (the push bench's own patches stay, as it leaves them)."""
        for owner, name, original in self._originals:
            setattr(owner, name, original)

    def intake_due(self) -> None:
        from functions.intake import handler as intake
        from tests.support.events import FakeContext

        while self.batches and self.batches[0][0] <= self.clock.now():
            _, records = self.batches.pop(0)
            intake.lambda_handler({"Records": records}, FakeContext(900_000))

    def drive(self, events: list[tuple[float, str]], watch: Any, stop: Any) -> None:
        """Publish ``events`` and work until nothing is due or ``stop()``; ``watch()`` after each flush."""
        from functions.push import handler as push
        from tests.support.events import FakeContext

        self.batches = _intake_batches(events)
        while self.batches or self.due:
            next_intake = self.batches[0][0] if self.batches else float("inf")
            next_flush = max(self.due[0][0], self.workers[0]) if self.due else float("inf")
            if next_intake <= next_flush:
                self.clock.until(next_intake)
                self.intake_due()
                continue
            tenant_id = self.start_next_ticket()
            if tenant_id is None:
                continue
            record = self.ticket_record(tenant_id)
            self.hidden.discard(tenant_id)
            self.running, self.asked = tenant_id, []
            push.lambda_handler({"Records": [record]}, FakeContext(120_000))
            self.running = None
            finished = self.clock.now() + 0.1
            heapq.heappush(self.workers, finished)
            if tenant_id not in self.hidden:
                self.in_flight[tenant_id] = finished
                if tenant_id in self.behind:
                    self.behind.discard(tenant_id)
                    self.ticket(tenant_id, finished)
            for at in self.asked:
                self.ticket(tenant_id, at)
            watch(self.flush_started)
            if stop():
                return


def history_events(account_id: str, count: int, first_day: date) -> list[dict[str, Any]]:
    """The account's past: ``count`` invoices over two years, oldest first by date, each paid."""
    events: list[dict[str, Any]] = []
    for n, text in enumerate(invoice_bodies(account_id, count, contacts=max(1, count // 10))):
        invoice = json.loads(text)
        issued = first_day + timedelta(days=n * 730 // count)
        invoice["origin"] = "history"
        invoice["occurred_at"] = f"{issued.isoformat()}T09:00:00Z"
        invoice["data"] |= {"issue_date": issued.isoformat(), "due_date": (issued + timedelta(days=20)).isoformat()}
        paid_on = issued + timedelta(days=14)
        payment = {
            "type": "payment.recorded",
            "schema_version": 1,
            "event_id": f"evt-{uuid.uuid4().hex[:16]}",
            "account_id": account_id,
            "occurred_at": f"{paid_on.isoformat()}T09:00:00Z",
            "origin": "history",
            "data": {
                "payment_id": f"pay-{n}",
                "invoice_id": invoice["data"]["invoice_id"],
                "amount": invoice["data"]["totals"]["total"],
                "date": paid_on.isoformat(),
                "reference": "Bank transfer",
            },
        }
        events += [invoice, payment]
    return events


def live_events(account_id: str, start: float, until: float, every: float) -> list[tuple[float, str]]:
    bodies = invoice_bodies(account_id, int((until - start) // every) + 1, start=10_000_000)
    out = []
    for n, text in enumerate(bodies):
        body = json.loads(text)
        body["data"]["contact"] |= {"contact_id": f"live-{n}", "name": f"New customer {n}"}
        out.append((start + 60 + n * every, json.dumps(body)))
    return out


def run_backfill(history: int, day_limit: int, live_every: float) -> Backfilled:
    from shared import wiring
    from shared.adapters.budget import DAY_RESERVE, CallBudget
    from shared.domain.backlog import BacklogReader

    result = Backfilled()
    wall = time.monotonic()
    wiring.push_parts = _wired_push_parts  # another bench in this process may have left its own parts here
    with service() as (sandbox, base):
        simulation = BackfillSimulation(base.clock, sandbox)
        simulation.install()
        clock = simulation.clock
        # Start at a midnight (UTC), so the push's days and the sandbox's day windows line up, and say so.
        midnight = datetime.fromtimestamp(clock.now(), UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        clock.until((midnight + timedelta(days=1)).timestamp() + 5)
        [account] = connect_accounts(sandbox, 1, f"acct-backfill-{history}")
        connection = wiring.connections().get(account)
        tenant_id = connection.tenant_id if connection is not None else None
        assert tenant_id is not None
        _SANDBOX.post(f"{sandbox}/_sandbox/limits", json={"tenant_id": tenant_id, "tier": "starter"}, timeout=10)
        if day_limit != DAY_LIMIT:
            _SANDBOX.post(f"{sandbox}/_sandbox/limits", json={"tenant_id": tenant_id, "day": day_limit}, timeout=10)
        parts = wiring.push_parts()
        table = wiring.settings().table_name
        budget = CallBudget(wiring.aws_client("dynamodb"), table, per_day=day_limit - DAY_RESERVE, clock=clock.now)
        parts = replace(parts, budget=budget)
        wiring.push_parts = lambda: parts
        wiring.reset()
        reader = BacklogReader(wiring.connections(), wiring.outbox(), budget, clock.now, wiring.backfill_progress())

        result.started = clock.now()
        bodies = history_events(account, history, date(2024, 12, 1))
        rng = random.Random(3)
        rng.shuffle(bodies)  # the platform publishes its history in no particular order
        step = 600.0 / len(bodies)  # within ten minutes
        events = [(result.started + n * step, json.dumps(b)) for n, b in enumerate(bodies)]
        days = (history * 2 * 2 // 50) // max(1, day_limit - DAY_RESERVE - budget.live_reserve) + 2
        live = live_events(account, result.started, result.started + days * 86400, live_every)
        live_ids = {(account, json.loads(body)["data"]["invoice_id"]): at for at, body in live}
        before = _sandbox_totals(sandbox)
        calls_seen = [_sandbox_totals(sandbox, tenant_id)["calls"]]
        next_snapshot = [result.started]

        def watch(flush_started: float) -> None:
            calls = _sandbox_totals(sandbox, tenant_id)["calls"]
            day = datetime.fromtimestamp(flush_started, UTC).date().isoformat()
            result.calls_by_day[day] = result.calls_by_day.get(day, 0) + calls - calls_seen[0]
            calls_seen[0] = calls
            now = clock.now()
            done = wiring.backfill_progress().get(account)
            if result.drained_at is None and done.synced + done.failed >= 2 * history:
                result.drained_at = now
                result.snapshots.append(_snapshot(reader, account, now, result.started))
            elif now >= next_snapshot[0]:
                next_snapshot[0] = now + SNAPSHOT_EVERY
                result.snapshots.append(_snapshot(reader, account, now, result.started))
                print(f"  backfill {result.snapshots[-1]}", file=sys.stderr, flush=True)

        def stop() -> bool:
            if clock.now() - result.started > MAX_DAYS * 86400:
                return True
            if result.drained_at is None:
                return False
            # Drained: the live events published so far are all in; the rest of the day is not needed.
            return all(key in simulation.synced_at for key, at in live_ids.items() if at < result.drained_at)

        try:
            simulation.drive(sorted(events + live, key=lambda e: e[0]), watch, stop)
        finally:
            simulation.uninstall()
        after = _sandbox_totals(sandbox)
        result.rate_limited = after["429"] - before["429"]
        result.live_latencies = [
            simulation.synced_at[key] - at for key, at in live_ids.items() if key in simulation.synced_at
        ]
        done = wiring.backfill_progress().get(account)
        result.history_synced, result.history_failed, result.kept = done.synced, done.failed, done.kept
    result.wall_seconds = time.monotonic() - wall
    return result


def _snapshot(reader: Any, account: str, now: float, started: float) -> str:
    status = reader.backfill(account)
    drains = f", drains by +{(status.drains_by.timestamp() - started) / 3600:.1f} h" if status.drains_by else ""
    held = ", waiting for the next day's calls" if status.resumes_at else ""
    waiting = f"more than {status.waiting:,}" if status.more else f"{status.waiting:,}"
    return (
        f"+{(now - started) / 3600:5.1f} h: {waiting} waiting, {status.synced:,} synced, "
        f"{status.failed} failed{drains}{held}"
    )


@benchmark(
    "backfill",
    "an account's history (20,000 invoices and their payments) on a Starter organisation, live events throughout",
)
def backfill(quick: bool) -> list[Figure]:
    history = int(os.environ.get("BENCH_BACKFILL_INVOICES") or (QUICK_HISTORY if quick else HISTORY))
    day_limit = QUICK_DAY_LIMIT if quick else DAY_LIMIT
    live_every = float(os.environ.get("BENCH_BACKFILL_LIVE_EVERY") or (QUICK_LIVE_EVERY if quick else LIVE_EVERY))
    result = run_backfill(history, day_limit, live_every)
    drained = (result.drained_at - result.started) / 86400 if result.drained_at else float("nan")
    per_day = ", ".join(f"{day}: {calls}" for day, calls in sorted(result.calls_by_day.items()))
    for line in result.snapshots:
        print(f"  backfill {line}", file=sys.stderr)
    print(f"  backfill: {history:,} invoices in {result.wall_seconds:.0f} s of wall time", file=sys.stderr)
    size = f"{history:,} invoices + payments, day limit {day_limit:,}"
    return [
        Figure(
            "backfill",
            f"{size}: days to drain (sandbox clock)",
            drained,
            "days",
            f"{result.history_synced:,} history events synced, {result.history_failed} failed; calls a day: {per_day}",
        ),
        Figure("backfill", f"{size}: 429s", float(result.rate_limited), "429s"),
        Figure(
            "backfill",
            f"{size}: live latency p99, publish to Xero",
            _percentile(result.live_latencies, 0.99),
            "s",
            f"p50 {_percentile(result.live_latencies, 0.5):.1f} s over {len(result.live_latencies)} live invoices "
            f"(one every {live_every / 60:.0f} min, new contacts); "
            f"{WORKERS} workers, {XERO_CALL_SECONDS} s a call",
        ),
    ]
