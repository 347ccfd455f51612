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
    """The sandbox's clock, mirrored here so the service's budget runs on the same (sped-up) time."""

    def __init__(self, url: str) -> None:
        state = httpx.get(f"{url}/_sandbox/clock", timeout=10).json()
        self.speed = float(state["speed"])
        self._anchor_virtual = float(state["now"])
        self._anchor_real = time.monotonic()

    def now(self) -> float:
        return self._anchor_virtual + (time.monotonic() - self._anchor_real) * self.speed

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds / self.speed)


@contextmanager
def service(speed: float = 1.0) -> Iterator[tuple[str, SandboxClock]]:
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
        httpx.post(f"{sandbox}/_sandbox/clock", json={"speed": speed}, timeout=10)
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
    from shared import wiring
    from shared.adapters.budget import CallBudget
    from shared.adapters.queue import InvoiceQueue
    from shared.domain.push import PushService

    s = wiring.settings()

    class ScaledQueue(InvoiceQueue):
        def publish(self, bodies: list[str], *, delay: int = 0, deferrals: int = 0) -> int:
            return super().publish(bodies, delay=round(delay / clock.speed), deferrals=deferrals)

    push = PushService(
        connections=wiring.connections(),
        settings=wiring.account_settings(),
        records=wiring.sync_records(),
        tokens=wiring.token_manager(),
        xero=wiring.xero(),
        budget=CallBudget(wiring.aws_client("dynamodb"), s.table_name, clock=clock.now),
        queue=ScaledQueue(wiring.aws_client("sqs"), s.queue_url, s.dead_letter_queue_url),
        alerts=wiring.alerts(),
        clock=clock.now,
        sleep=clock.sleep,
    )
    wiring.push_service = lambda: push  # type: ignore[assignment]


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
        if on_batch:
            on_batch(index)
    cpu += _drain_queue()
    return cpu, time.perf_counter() - wall


def _drain_queue() -> float:
    """Messages the handler deferred or handed back come back through the real queue (moto)."""
    import boto3

    from functions.push import handler
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
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            pending = sum(int(attributes[k]) for k in attributes if k.startswith("ApproximateNumberOfMessages"))
            idle = idle + 1 if pending == 0 else 0
            continue
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {
                        k: {"stringValue": v.get("StringValue"), "dataType": v.get("DataType")}
                        for k, v in m.get("MessageAttributes", {}).items()
                    },
                    "eventSource": "aws:sqs",
                }
                for m in messages
            ]
        }
        started = time.thread_time()
        failed = {f["itemIdentifier"] for f in handler.lambda_handler(event, FakeContext(900_000))["batchItemFailures"]}
        cpu += time.thread_time() - started
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
    return cpu


def thousand_invoices() -> Figures:
    with service() as (sandbox, _):
        bodies = invoice_messages(1000)
        cpu, wall = run_batches(bodies)
        stats = org_stats(sandbox)["stats"]
        tracemalloc.start()
        run_batches(invoice_messages(BATCH, start=5000))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        invoices = len(org_stats(sandbox)["invoices"])
        assert invoices == 1000 + BATCH, f"{invoices} invoices in Xero"
        return Figures(
            invoices=1000,
            xero_calls=int(stats.get("calls", 0)),
            rate_limited=int(stats.get("429", 0)),
            cpu_ms_per_invoice=cpu * 1000 / 1000,
            wall_seconds=wall,
            peak_memory_mb=peak / 1e6,
        )


def drain(count: int = 10_000, speed: float = 120.0) -> Figures:
    with service(speed) as (sandbox, clock):
        bodies = invoice_messages(count, contacts=count // 10)
        started = clock.now()
        cpu, wall = run_batches(bodies)
        minutes = (clock.now() - started) / 60
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


def main(quick: bool = False) -> list[tuple[str, str]]:
    one = thousand_invoices()
    rows = [
        ("push: Xero calls per 1,000 invoices (new contact each)", f"{one.xero_calls}"),
        ("push: 429s answered by Xero", f"{one.rate_limited}"),
        ("push: handler CPU per invoice", f"{one.cpu_ms_per_invoice:.2f} ms"),
        ("push: peak Python memory, one 100-message batch", f"{one.peak_memory_mb:.1f} MB"),
    ]
    count = 2_000 if quick else 10_000
    big = drain(count)
    floor = big.xero_calls / 60
    per_invoice = (count + count // 10) / 60
    rows += [
        (f"drain: {count:,} invoices, sandbox-clock minutes", f"{big.sandbox_minutes:.1f} min"),
        ("drain: Xero calls / floor at 60 a minute", f"{big.xero_calls} calls / {floor:.1f} min"),
        ("drain: one call per invoice and contact would need", f"{per_invoice:.0f} min"),
        ("drain: 429s", f"{big.rate_limited}"),
    ]
    return rows


if __name__ == "__main__":
    import sys

    for name, value in main(quick="--quick" in sys.argv):
        print(f"{name:<58} {value}")
