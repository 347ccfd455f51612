"""The push at platform scale: many accounts publishing at once, through the real intake and push
handlers, against the Xero sandbox and moto (both in a child process, so the CPU measured is the
service's own).

A month-end run: ``accounts`` accounts, each its own Xero organisation, each publishing
:data:`INVOICES` invoices (each with a new contact unless told), interleaved at random and published
within :data:`PUBLISH_SECONDS`. Time is simulated, on the sandbox's clock: the intake takes each SQS
batch (100 messages, or what arrived in its 5 s window) when it closes; the push flushes organisations
on :data:`WORKERS` workers (the template's ``PushMaxConcurrency``), each flush lasting
:data:`XERO_CALL_SECONDS` per Xero call it made (the sandbox answers at once; Xero takes seconds for
a batch of 50). Flush tickets are scheduled by the simulation as an SQS FIFO queue delivers them, one
message group per organisation: a ticket the intake sends is due at once, unless the organisation's
group has a ticket in flight (a flush running, or a ticket the push hid to fill a batch or for Xero's
limits): then it waits behind that one and is delivered when it is done; a wake-up is due when its
delay ends. Latency is from an event's publication to the end of the flush that put it in Xero.

Figures per size: Xero calls per 1,000 invoices; the service's CPU per invoice (intake and push
handlers, this thread's CPU time); DynamoDB requests and items read and written per invoice (the AWS
bill); bytes read from Xero per 1,000 invoices (Xero's egress charge); the p50 and p99 latency.
"""

from __future__ import annotations

import heapq
import json
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from benchmarks.framework import Figure, benchmark

INVOICES = 50
SIZES = (1, 10, 100, 1000)
QUICK_SIZES = (1, 3)
PUBLISH_SECONDS = 10.0
BATCH = 100
INTAKE_WINDOW = 5.0
WORKERS = 50
XERO_CALL_SECONDS = 1.5
SAMPLE = Path(__file__).resolve().parents[1] / "events" / "messages" / "03-invoice-sent.json"
_SANDBOX = httpx.Client(timeout=60)  # one client for the sandbox: each new one builds an SSL context


@dataclass
class Run:
    """What one simulated run measured."""

    invoices: int = 0
    xero_calls: int = 0
    rate_limited: int = 0
    bytes_read: int = 0
    cpu_seconds: float = 0.0
    dynamo_requests: int = 0
    dynamo_operations: Counter[str] = field(default_factory=Counter)
    items_read: int = 0
    items_written: int = 0
    latencies: list[float] = field(default_factory=list)
    synced: int = 0
    sim_seconds: float = 0.0

    def per_invoice(self, value: float) -> float:
        return value / max(self.invoices, 1)


class SandboxClock:
    """The sandbox's clock as a simulation: it moves only when told (or when the push waits on it)."""

    FROZEN = 1e-9  # the sandbox's speed: one real second is a nanosecond of sandbox time

    def __init__(self, url: str) -> None:
        self._url = url
        _SANDBOX.post(f"{url}/_sandbox/clock", json={"speed": self.FROZEN}, timeout=10)
        self._now = float(_SANDBOX.get(f"{url}/_sandbox/clock", timeout=10).json()["now"])

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        answer = _SANDBOX.post(f"{self._url}/_sandbox/clock", json={"advance_seconds": seconds}, timeout=10)
        self._now = float(answer.json()["now"])

    def until(self, moment: float) -> None:
        self.sleep(moment - self._now)


class DynamoMeter:
    """Counts the service's DynamoDB requests, and the items they read and write."""

    def __init__(self) -> None:
        self.requests = 0
        self.read = 0
        self.written = 0
        self.by_operation: Counter[str] = Counter()

    def before(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.requests += 1
        name = model.name
        self.by_operation[name] += 1
        if name == "BatchWriteItem":
            self.written += sum(len(v) for v in params.get("RequestItems", {}).values())
        elif name == "BatchGetItem":
            self.read += sum(len(v.get("Keys", [])) for v in params.get("RequestItems", {}).values())
        elif name in ("PutItem", "UpdateItem", "DeleteItem"):
            self.written += 1
        elif name == "GetItem":
            self.read += 1

    def after(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if model.name == "Query":
            self.read += int(parsed.get("Count", 0))


class Simulation:
    """Runs the intake and the push handlers in simulated time (see the module's description)."""

    def __init__(self, clock: SandboxClock, sandbox: str) -> None:
        self.clock = clock
        self.sandbox = sandbox
        self.due: list[tuple[float, int, str]] = []
        self.next_at: dict[str, float] = {}
        self.in_flight: dict[str, float] = {}  # an organisation's ticket in flight: until when
        self.hidden: set[str] = set()  # ... hidden by the push: it comes back then, and is flushed
        self.behind: set[str] = set()  # organisations with a ticket queued behind a hidden one
        self.running: str | None = None
        self.asked: list[float] = []  # tickets the running flush asked for (wake-ups), at these times
        self.workers = [clock.now()] * WORKERS
        heapq.heapify(self.workers)
        self.flush_started = 0.0
        self.receipts: dict[str, str] = {}
        self.synced: list[tuple[str, str]] = []  # (account, invoice id) of each invoice.synced event
        self.meter = DynamoMeter()
        self._seq = 0

    # --- what the service calls, patched in ------------------------------------------------------

    def ticket(self, tenant_id: str, at: float) -> None:
        if tenant_id == self.running:
            self.asked.append(at)  # sent while its flush runs: scheduled once it is done
            return
        busy = self.in_flight.get(tenant_id, at)
        if busy > at:  # the organisation's group has a ticket in flight: this one is delivered after it
            if tenant_id in self.hidden:
                self.behind.add(tenant_id)
                return
            at = busy
        if tenant_id in self.next_at and self.next_at[tenant_id] <= at:
            return  # a ticket already due no later: SQS FIFO deduplicates, or queues this behind it
        self.next_at[tenant_id] = at
        self._seq += 1
        heapq.heappush(self.due, (at, self._seq, tenant_id))

    def start_next_ticket(self) -> str | None:
        """Takes the earliest ticket due and moves the clock to when a worker is free for it; None if a
        later ticket of its organisation superseded it."""
        due_at, _, tenant_id = heapq.heappop(self.due)
        if self.next_at.get(tenant_id) != due_at:
            return None
        del self.next_at[tenant_id]
        self.clock.until(max(due_at, heapq.heappop(self.workers)))
        self.flush_started = self.clock.now()
        return tenant_id

    def ticket_record(self, tenant_id: str) -> dict[str, Any]:
        """The organisation's flush ticket as SQS hands it to the push (its receipt remembered)."""
        receipt = f"ticket-{uuid.uuid4().hex}"
        self.receipts[receipt] = tenant_id
        return {
            "messageId": str(uuid.uuid4()),
            "receiptHandle": receipt,
            "body": json.dumps({"tenant_id": tenant_id}),
            "attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": tenant_id},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
        }

    def install(self) -> None:
        from shared import wiring
        from shared.adapters.flush_tickets import FlushTickets
        from shared.adapters.status_events import StatusEvents

        simulation = self

        def send(_self: Any, generations: dict[str, int]) -> None:
            for tenant_id in generations:
                simulation.ticket(tenant_id, simulation.clock.now())

        def wait(_self: Any, receipt_handle: str, seconds: float) -> None:
            tenant_id = simulation.receipts[receipt_handle]
            simulation.hidden.add(tenant_id)  # still in flight, seen again when the wait ends
            simulation.in_flight[tenant_id] = simulation.flush_started + seconds
            simulation.next_at[tenant_id] = simulation.in_flight[tenant_id]
            simulation._seq += 1
            heapq.heappush(simulation.due, (simulation.in_flight[tenant_id], simulation._seq, tenant_id))

        def wake_later(_self: Any, tenant_id: str, seconds: float) -> None:
            simulation.ticket(tenant_id, simulation.flush_started + seconds)

        def publish(_self: Any, events: Any) -> None:
            simulation.synced += [
                (e.account_id, e.invoice_id) for e in events if getattr(e, "type", "") == "invoice.synced"
            ]

        patches = ((FlushTickets, "send", send), (FlushTickets, "wait", wait), (FlushTickets, "wake_later", wake_later))
        for owner, name, replacement in (*patches, (StatusEvents, "publish", publish)):
            setattr(owner, name, replacement)
        dynamo = wiring.aws_client("dynamodb")
        # before-parameter-build sees the request's parameters (before-call sees them serialised)
        dynamo.meta.events.register("before-parameter-build.dynamodb", self.meter.before)
        dynamo.meta.events.register("after-call.dynamodb", self.meter.after)

    # --- the run ------------------------------------------------------------------------------

    def run(self, events: list[tuple[float, str]], measured: set[str]) -> Run:
        """Publish ``events`` (publication time, body) and work until nothing is due; the figures of
        the invoices in ``measured`` (event ids)."""
        from functions.intake import handler as intake
        from functions.push import handler as push
        from tests.support.events import FakeContext

        run = Run()
        before = _sandbox_totals(self.sandbox)
        meter = (self.meter.requests, self.meter.read, self.meter.written)
        operations = Counter(self.meter.by_operation)
        published = {_key(body): at for at, body in events if json.loads(body)["event_id"] in measured}
        batches = _intake_batches(events)
        started = self.clock.now()
        self.synced = []
        while batches or self.due:
            next_intake = batches[0][0] if batches else float("inf")
            next_flush = max(self.due[0][0], self.workers[0]) if self.due else float("inf")
            if next_intake <= next_flush:
                at, records = batches.pop(0)
                self.clock.until(at)
                cpu = time.thread_time()
                intake.lambda_handler({"Records": records}, FakeContext(900_000))
                run.cpu_seconds += time.thread_time() - cpu
                continue
            tenant_id = self.start_next_ticket()
            if tenant_id is None:
                continue  # superseded by an earlier ticket
            record = self.ticket_record(tenant_id)
            calls_before = _sandbox_totals(self.sandbox, tenant_id)["calls"]
            synced_before = len(self.synced)
            cpu = time.thread_time()
            self.hidden.discard(tenant_id)
            self.running, self.asked = tenant_id, []
            push.lambda_handler({"Records": [record]}, FakeContext(120_000))
            self.running = None
            run.cpu_seconds += time.thread_time() - cpu
            calls = _sandbox_totals(self.sandbox, tenant_id)["calls"] - calls_before
            finished = max(self.clock.now(), self.flush_started + calls * XERO_CALL_SECONDS + 0.1)
            heapq.heappush(self.workers, finished)
            if tenant_id not in self.hidden:  # the ticket is done and deleted: the group is free then
                self.in_flight[tenant_id] = finished
                if tenant_id in self.behind:
                    self.behind.discard(tenant_id)
                    self.ticket(tenant_id, finished)
            for at in self.asked:
                self.ticket(tenant_id, at)
            for synced in self.synced[synced_before:]:
                if synced in published:
                    run.latencies.append(finished - published[synced])
            run.sim_seconds = max(run.sim_seconds, finished - started)
        after = _sandbox_totals(self.sandbox)
        run.invoices = len(published)
        run.synced = len(run.latencies)
        run.xero_calls = after["calls"] - before["calls"]
        run.rate_limited = after["429"] - before["429"]
        run.bytes_read = after["bytes read"] - before["bytes read"]
        run.dynamo_requests = self.meter.requests - meter[0]
        run.dynamo_operations = self.meter.by_operation - operations
        run.items_read = self.meter.read - meter[1]
        run.items_written = self.meter.written - meter[2]
        return run


def _key(body: str) -> tuple[str, str]:
    event = json.loads(body)
    return event["account_id"], event["data"]["invoice_id"]


def _intake_batches(events: list[tuple[float, str]]) -> list[tuple[float, list[dict[str, Any]]]]:
    """The SQS batches the intake gets: 100 messages, or what arrived within 5 s of the first."""
    batches: list[tuple[float, list[dict[str, Any]]]] = []
    current: list[tuple[float, str]] = []
    for at, body in sorted(events, key=lambda e: e[0]):
        if current and (len(current) == BATCH or at > current[0][0] + INTAKE_WINDOW):
            batches.append(_batch(current))
            current = []
        current.append((at, body))
    if current:
        batches.append(_batch(current))
    return batches


def _batch(events: list[tuple[float, str]]) -> tuple[float, list[dict[str, Any]]]:
    closes = events[-1][0] if len(events) == BATCH else events[0][0] + INTAKE_WINDOW
    records = [
        {
            "messageId": str(uuid.uuid4()),
            "receiptHandle": f"r-{uuid.uuid4().hex}",
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(at * 1000))},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
        }
        for at, body in events
    ]
    return closes, records


def _sandbox_totals(sandbox: str, tenant_id: str | None = None) -> dict[str, int]:
    if tenant_id is not None:
        stats = _SANDBOX.get(f"{sandbox}/_sandbox/orgs/{tenant_id}/stats").json()
        return {"calls": int(stats.get("calls", 0))}
    orgs = _SANDBOX.get(f"{sandbox}/_sandbox/orgs").json()
    totals = {"calls": 0, "429": 0, "bytes read": 0}
    for org in orgs:
        for name in totals:
            totals[name] += int(org.get("stats", {}).get(name, 0))
    return totals


# --- the platform's accounts and events ------------------------------------------------------------


def invoice_bodies(account_id: str, count: int, *, start: int = 0, contacts: int | None = None) -> list[str]:
    """``count`` approved invoices of ``account_id``; each with its own new contact unless ``contacts``
    caps them."""
    template: dict[str, Any] = json.loads(SAMPLE.read_text())
    bodies = []
    for n in range(start, start + count):
        contact_no = n if contacts is None else n % contacts
        body = json.loads(json.dumps(template))
        body["account_id"] = account_id
        body["event_id"] = f"evt-{uuid.uuid4().hex[:16]}"
        data = body["data"]
        data.update(invoice_id=f"inv-{n}", number=f"B-{n:06d}", version=1)
        data["contact"] = {**data["contact"], "contact_id": f"cus-{contact_no}", "name": f"Customer {contact_no}"}
        bodies.append(json.dumps(body))
    return bodies


def interleaved(bodies: list[str], rng: random.Random, start: float) -> list[tuple[float, str]]:
    """Every account's events shuffled together and published evenly within :data:`PUBLISH_SECONDS`."""
    shuffled = list(bodies)
    rng.shuffle(shuffled)
    step = PUBLISH_SECONDS / max(len(shuffled), 1)
    return [(start + n * step, body) for n, body in enumerate(shuffled)]


def connect_accounts(sandbox: str, count: int, prefix: str) -> list[str]:
    """``count`` accounts, each connected (the real consent flow) to an organisation of its own, configured."""
    from local.xero_sandbox.seed import NZ_TENANT
    from shared import wiring
    from shared.models.settings import AccountSettings, PaymentAccount, TaxMapping
    from tests.support.flows import connect_account

    tenants = _SANDBOX.post(f"{sandbox}/_sandbox/orgs/{NZ_TENANT}/clones", json={"count": count}, timeout=60).json()
    accounts = []
    env = dict(os.environ)
    bank: dict[str, Any] | None = None
    for n, tenant_id in enumerate(tenants["tenant_ids"]):
        account_id = f"{prefix}-{n:04d}"
        consent = {"tenant_ids": [tenant_id], "user_email": f"owner@{account_id}.example"}
        _SANDBOX.post(f"{sandbox}/_sandbox/consent", json=consent, timeout=10)
        connect_account(env, account_id)
        if bank is None:  # the clones share the demo company's chart of accounts
            access = wiring.token_manager().access(account_id)
            chart = wiring.xero().get(access.access_token, tenant_id, "Accounts")["Accounts"]
            bank = next(a for a in chart if a["Type"] == "BANK")
        settings = AccountSettings(
            account_id=account_id,
            payment_account=PaymentAccount(account_id=bank["AccountID"], code=bank.get("Code"), type="BANK"),
            sales_account_code="200",
            tax_mappings={
                "gst-15": TaxMapping(platform_tax_id="gst-15", tax_type="OUTPUT2", effective_rate=Decimal(15))
            },
            default_tax_type="OUTPUT2",
            version=wiring.account_settings().get(account_id).version,
        )
        wiring.account_settings().save(settings, now=datetime.now(UTC))
        accounts.append(account_id)
    return accounts


@contextmanager
def service() -> Iterator[tuple[str, Simulation]]:
    """A fresh stack (servers in a child process), the service on the sandbox's simulated clock."""
    from benchmarks.servers import start_servers

    with start_servers() as urls:
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",  # moto's convention; not a secret
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ENDPOINT_URL": urls["moto"],
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
            }
        )
        from local.aws_resources import create_resources
        from shared import wiring

        resources = create_resources(prefix=f"b{uuid.uuid4().hex[:8]}")
        sandbox = urls["sandbox"]
        os.environ.update(resources.environment)
        os.environ.update({"XERO_LOGIN_URL": sandbox, "XERO_IDENTITY_URL": sandbox, "XERO_API_URL": sandbox})
        wiring.reset()
        clock = SandboxClock(sandbox)
        _on_the_clock(clock)
        simulation = Simulation(clock, sandbox)
        simulation.install()
        yield sandbox, simulation


def _on_the_clock(clock: SandboxClock) -> None:
    """The push's clock and sleep are the sandbox's simulated clock."""
    from dataclasses import replace

    from shared import wiring
    from shared.adapters.budget import CallBudget

    s = wiring.settings()
    parts = replace(
        wiring.push_parts(),
        budget=CallBudget(wiring.aws_client("dynamodb"), s.table_name, clock=clock.now),
        clock=clock.now,
        sleep=clock.sleep,
    )
    wiring.push_parts = lambda: parts


def month_end(simulation: Simulation, sandbox: str, accounts: int, rng: random.Random) -> tuple[Run, Run]:
    """``accounts`` accounts publishing at once, new contacts; then again for the same contacts (known)."""
    ids = connect_accounts(sandbox, accounts, f"acct-{accounts}-{rng.randrange(10**6):06d}")
    first = [body for account in ids for body in invoice_bodies(account, INVOICES)]
    new = simulation.run(interleaved(first, rng, simulation.clock.now()), {json.loads(b)["event_id"] for b in first})
    again = [body for account in ids for body in invoice_bodies(account, INVOICES, start=INVOICES)]
    # The same contacts, now known: invoice n + 50 of an account goes to contact cus-n.
    again = [_with_contact(body, -INVOICES) for body in again]
    simulation.clock.sleep(3600)
    known = simulation.run(interleaved(again, rng, simulation.clock.now()), {json.loads(b)["event_id"] for b in again})
    return new, known


def _with_contact(body: str, shift: int) -> str:
    event = json.loads(body)
    n = int(event["data"]["invoice_id"].removeprefix("inv-")) + shift
    event["data"]["contact"] |= {"contact_id": f"cus-{n}", "name": f"Customer {n}"}
    return json.dumps(event)


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * fraction + 0.999) - 1))]


def _figures(accounts: int, new: Run, known: Run) -> list[Figure]:
    size = f"{accounts:,} account{'s' if accounts > 1 else ''}"
    per_thousand: Callable[[Run, float], float] = lambda run, value: value * 1000 / max(run.invoices, 1)  # noqa: E731
    return [
        Figure(
            "push",
            f"{size}: Xero calls per 1,000 invoices, new contacts",
            per_thousand(new, new.xero_calls),
            "calls",
            f"{new.invoices:,} invoices ({INVOICES} an account) published within {PUBLISH_SECONDS:.0f} s, "
            f"interleaved; {new.synced:,} in Xero; {new.rate_limited} 429s",
        ),
        Figure(
            "push",
            f"{size}: Xero calls per 1,000 invoices, known contacts",
            per_thousand(known, known.xero_calls),
            "calls",
        ),
        Figure(
            "push",
            f"{size}: CPU per invoice",
            new.per_invoice(new.cpu_seconds) * 1000,
            "ms",
            "intake and push handlers, this thread's CPU; moto and the sandbox elsewhere",
        ),
        Figure(
            "push",
            f"{size}: DynamoDB requests per invoice",
            new.per_invoice(new.dynamo_requests),
            "req",
            f"items read {new.per_invoice(new.items_read):.2f}, written {new.per_invoice(new.items_written):.2f} "
            "per invoice; per 1,000 invoices: "
            + ", ".join(f"{op} {per_thousand(new, n):.0f}" for op, n in new.dynamo_operations.most_common()),
        ),
        Figure("push", f"{size}: bytes read from Xero per 1,000 invoices", per_thousand(new, new.bytes_read), "B"),
        Figure(
            "push",
            f"{size}: latency p99, publish to Xero",
            _percentile(new.latencies, 0.99),
            "s",
            f"p50 {_percentile(new.latencies, 0.5):.1f} s; simulated clock, {WORKERS} flushes at once, "
            f"{XERO_CALL_SECONDS} s a Xero call",
        ),
    ]


@benchmark(
    "push",
    "the push at platform scale: accounts publishing at once, through the real intake and push",
    covers=("xero-calls", "rate-limits", "cpu", "drain"),
)
def push(quick: bool) -> list[Figure]:
    rng = random.Random(17)
    figures: list[Figure] = []
    with service() as (sandbox, simulation):
        sizes = os.environ.get("BENCH_PUSH_SIZES")  # e.g. "100" to look at one size
        for accounts in [int(n) for n in sizes.split(",")] if sizes else QUICK_SIZES if quick else SIZES:
            started = time.monotonic()
            new, known = month_end(simulation, sandbox, accounts, rng)
            sized = _figures(accounts, new, known)
            figures += sized
            print(f"  push: {accounts} accounts in {time.monotonic() - started:.0f} s", file=sys.stderr)
            for figure in sized:  # a long run shows each size's figures as they come
                line = f"    {figure.name}: {figure.value:,.2f} {figure.unit}  {figure.note}"
                print(line, file=sys.stderr, flush=True)
        figures += drain(simulation, sandbox, 500 if quick else 10_000)
    return figures


def drain(simulation: Simulation, sandbox: str, count: int) -> list[Figure]:
    """One organisation's backlog of ``count`` invoices (a contact per ten), published at once."""
    [account] = connect_accounts(sandbox, 1, f"acct-drain-{count}")
    bodies = invoice_bodies(account, count, contacts=count // 10)
    at = simulation.clock.now()
    run = simulation.run([(at, body) for body in bodies], {json.loads(b)["event_id"] for b in bodies})
    floor = run.xero_calls / 60
    return [
        Figure(
            "push",
            f"drain {count:,} invoices of one organisation (sandbox clock)",
            run.sim_seconds / 60,
            "min",
            f"{run.xero_calls} calls: floor {floor:.1f} min at 60 a minute; "
            f"one call per invoice and contact: {(count + count // 10) / 60:.0f} min; {run.rate_limited} 429s",
        ),
        Figure("push", f"drain {count:,}: CPU per invoice", run.per_invoice(run.cpu_seconds) * 1000, "ms"),
    ]
