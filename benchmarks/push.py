"""The push under load, through the real handler against the Xero sandbox (in a child process).

Figures printed:
- Xero calls and 429s for 1,000 invoices, each with a new contact, for one organisation;
- the handler's CPU milliseconds per invoice (this thread's CPU time; moto and the sandbox run in
  another process) and the peak Python memory of one 100-message batch;
- the sandbox-clock minutes to drain 10,000 invoices under Xero's 60 calls a minute, against the
  floor those calls need at 60 a minute and against one call per invoice.
"""

from __future__ import annotations

import json
import os
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.framework import Figure, benchmark

ACCOUNT = "acct-bench"
BATCH = 100
SAMPLE = Path(__file__).resolve().parents[1] / "events" / "messages" / "03-invoice-sent.json"


@dataclass
class Figures:
    invoices: int
    xero_calls: int
    rate_limited: int
    cpu_ms_per_invoice: float
    wall_seconds: float
    sandbox_minutes: float = 0.0
    peak_memory_mb: float = 0.0


def invoice_messages(count: int, *, contacts: int | None = None, start: int = 0) -> list[str]:
    """``count`` approved invoices; each with its own new contact unless ``contacts`` caps them."""
    template: dict[str, Any] = json.loads(SAMPLE.read_text())
    bodies = []
    for n in range(start, start + count):
        contact_no = n if contacts is None else n % contacts
        body = json.loads(json.dumps(template))
        body["account_id"] = ACCOUNT
        body["event_id"] = f"evt-{uuid.uuid4().hex[:16]}"
        data = body["data"]
        data.update(invoice_id=f"inv-{n}", number=f"B-{n:06d}", version=1)
        data["contact"] = {**data["contact"], "contact_id": f"cus-{contact_no}", "name": f"Customer {contact_no}"}
        bodies.append(json.dumps(body))
    return bodies


def sqs_event(bodies: list[str]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"r-{uuid.uuid4().hex}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
            }
            for body in bodies
        ]
    }


class SandboxClock:
    """The sandbox's clock as a simulation: it stands still while the service works and moves only when
    the service waits (its budget pacing, a Retry-After), by exactly the wait. Drain time is then the time
    Xero's limits impose, not how fast this machine runs moto; the handler's own time is measured apart.
    """

    FROZEN = 1e-9  # the sandbox's speed: one real second is a nanosecond of sandbox time

    def __init__(self, url: str) -> None:
        self._url = url
        httpx.post(f"{url}/_sandbox/clock", json={"speed": self.FROZEN}, timeout=10)
        self._now = float(httpx.get(f"{url}/_sandbox/clock", timeout=10).json()["now"])
        self.wake_at = 0.0  # the end of the longest deferral handed to the queue

    def idle(self) -> None:
        """The consumer has nothing to do until deferred messages come back: let that time pass."""
        if self.wake_at > self._now:
            self.sleep(self.wake_at - self._now)

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        answer = httpx.post(f"{self._url}/_sandbox/clock", json={"advance_seconds": seconds}, timeout=10)
        self._now = float(answer.json()["now"])


@contextmanager
def service() -> Iterator[tuple[str, SandboxClock]]:
    """A configured account on a fresh stack; yields the sandbox URL and its clock."""
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
        from local.xero_sandbox.seed import NZ_TENANT
        from shared import wiring

        resources = create_resources(prefix=f"b{uuid.uuid4().hex[:8]}")
        sandbox = urls["sandbox"]
        os.environ.update(resources.environment)
        os.environ.update({"XERO_LOGIN_URL": sandbox, "XERO_IDENTITY_URL": sandbox, "XERO_API_URL": sandbox})
        wiring.reset()
        httpx.post(f"{sandbox}/_sandbox/consent", json={"tenant_ids": [NZ_TENANT]}, timeout=10)
        _connect_and_configure(dict(os.environ))
        clock = SandboxClock(sandbox)
        _install_service(clock)
        yield sandbox, clock


def _connect_and_configure(env: dict[str, str]) -> None:
    from shared import wiring
    from shared.models.settings import AccountSettings, PaymentAccount, TaxMapping
    from tests.support.flows import connect_account

    connect_account(env, ACCOUNT)
    access = wiring.token_manager().access(ACCOUNT)
    tenant = access.connection.tenant_id
    assert tenant is not None
    accounts = wiring.xero().get(access.access_token, tenant, "Accounts")["Accounts"]
    bank = next(a for a in accounts if a["Type"] == "BANK")
    settings = AccountSettings(
        account_id=ACCOUNT,
        payment_account=PaymentAccount(account_id=bank["AccountID"], code=bank.get("Code"), type="BANK"),
        sales_account_code="200",
        tax_mappings={"gst-15": TaxMapping(platform_tax_id="gst-15", tax_type="OUTPUT2")},
        default_tax_type="NONE",
    )
    wiring.account_settings().save(settings, now=datetime.now(UTC))


def _install_service(clock: SandboxClock) -> None:
    """The handler's service, on the sandbox's clock; deferral delays are scaled to real time too."""
    from dataclasses import replace

    from shared import wiring
    from shared.adapters.budget import CallBudget
    from shared.adapters.queue import InvoiceQueue
    from shared.domain.push import PushService

    s = wiring.settings()

    class SimulatedQueue(InvoiceQueue):
        """A deferral's delay passes on the simulated clock (see :class:`SandboxClock`), not in real time."""

        def publish(self, bodies: list[str], *, delay: int = 0, deferrals: int = 0) -> int:
            clock.wake_at = max(clock.wake_at, clock.now() + delay)
            return super().publish(bodies, deferrals=deferrals)

    parts = replace(
        wiring.push_parts(),
        budget=CallBudget(wiring.aws_client("dynamodb"), s.table_name, clock=clock.now),
        queue=SimulatedQueue(wiring.aws_client("sqs"), s.queue_url, s.dead_letter_queue_url),
        clock=clock.now,
        sleep=clock.sleep,
    )
    push = PushService(parts)
    wiring.push_service = lambda: push


def org_stats(sandbox: str) -> dict[str, Any]:
    from local.xero_sandbox.seed import NZ_TENANT

    answer: dict[str, Any] = httpx.get(f"{sandbox}/_sandbox/orgs/{NZ_TENANT}", timeout=30).json()
    return answer


def run_batches(bodies: list[str], on_batch: Callable[[int], None] | None = None) -> tuple[float, float]:
    """Invoke the handler on ``BATCH``-message events, then drain what it deferred; (CPU s, wall s)."""
    from functions.push import handler
    from tests.support.events import FakeContext

    cpu = 0.0
    wall = time.perf_counter()
    for index in range(0, len(bodies), BATCH):
        started = time.thread_time()
        handler.lambda_handler(sqs_event(bodies[index : index + BATCH]), FakeContext(900_000))
        cpu += time.thread_time() - started
        _idle()
        if on_batch:
            on_batch(index)
    cpu += _drain_queue(on_batch)
    return cpu, time.perf_counter() - wall


def _idle() -> None:
    from shared import wiring

    clock = getattr(wiring.push_service().parts, "clock", None)
    owner = getattr(clock, "__self__", None)
    if isinstance(owner, SandboxClock):
        owner.idle()


def _drain_queue(on_batch: Callable[[int], None] | None = None) -> float:
    """Messages the handler deferred or handed back come back through the real queue (moto)."""
    import boto3

    from functions.push import handler
    from local.sqs_runner import lambda_record, queue_depth
    from tests.support.events import FakeContext

    sqs = boto3.client("sqs")
    url = os.environ["QUEUE_URL"]
    cpu = 0.0
    idle = 0
    while idle < 3:
        answer = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = answer.get("Messages", [])
        if not messages:
            idle = idle + 1 if queue_depth(sqs, url).drained else 0
            continue
        event = {"Records": [lambda_record(dict(m)) for m in messages]}
        started = time.thread_time()
        failed = {f["itemIdentifier"] for f in handler.lambda_handler(event, FakeContext(900_000))["batchItemFailures"]}
        cpu += time.thread_time() - started
        _idle()
        if on_batch:
            on_batch(-1)
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
    return cpu


def thousand_invoices(size: int = 1000) -> Figures:
    with service() as (sandbox, _):
        bodies = invoice_messages(size)
        cpu, wall = run_batches(bodies)
        stats = org_stats(sandbox)["stats"]
        tracemalloc.start()
        run_batches(invoice_messages(BATCH, start=5000))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        invoices = len(org_stats(sandbox)["invoices"])
        assert invoices == size + BATCH, f"{invoices} invoices in Xero"
        return Figures(
            invoices=size,
            xero_calls=int(stats.get("calls", 0)),
            rate_limited=int(stats.get("429", 0)),
            cpu_ms_per_invoice=cpu * 1000 / size,
            wall_seconds=wall,
            peak_memory_mb=peak / 1e6,
        )


def drain(count: int = 10_000) -> Figures:
    with service() as (sandbox, clock):
        bodies = invoice_messages(count, contacts=count // 10)
        started = clock.now()
        finished = [started]
        cpu, wall = run_batches(bodies, on_batch=lambda _: finished.append(clock.now()))
        minutes = (max(finished) - started) / 60
        answer = org_stats(sandbox)
        stats = answer["stats"]
        landed = len(answer["invoices"])
        assert landed == count, f"{landed} of {count} invoices in Xero"
        return Figures(
            invoices=count,
            xero_calls=int(stats.get("calls", 0)),
            rate_limited=int(stats.get("429", 0)),
            cpu_ms_per_invoice=cpu * 1000 / count,
            wall_seconds=wall,
            sandbox_minutes=minutes,
        )


@benchmark(
    "push", "the push through its handler against the sandbox", covers=("xero-calls", "rate-limits", "cpu", "drain")
)
def push(quick: bool) -> list[Figure]:
    size = 100 if quick else 1000
    one = thousand_invoices(size)
    per_thousand = one.xero_calls * 1000 / size
    figures = [
        Figure(
            "push",
            f"Xero calls for {size:,} invoices, a new contact each",
            one.xero_calls,
            "calls",
            f"{per_thousand:.0f} per 1,000 invoices; one call per invoice and contact would be 2,000",
        ),
        Figure("push", "429s answered by Xero", one.rate_limited, "429s"),
        Figure("push", "handler CPU per invoice", one.cpu_ms_per_invoice, "ms", "this thread's CPU; servers elsewhere"),
        Figure("push", f"peak Python memory, one {BATCH}-message batch", one.peak_memory_mb, "MB", "tracemalloc"),
    ]
    count = 500 if quick else 10_000
    big = drain(count)
    floor = big.xero_calls / 60
    one_per_event = (count + count // 10) / 60
    figures += [
        Figure(
            "push",
            f"drain {count:,} invoices (sandbox clock)",
            big.sandbox_minutes,
            "min",
            f"{big.xero_calls} calls: floor {floor:.1f} min at 60 a minute; "
            f"one call per invoice and contact: {one_per_event:.0f} min",
        ),
        Figure("push", "429s while draining", big.rate_limited, "429s"),
        Figure("push", "handler CPU per invoice while draining", big.cpu_ms_per_invoice, "ms"),
    ]
    return figures
