"""What the push scenarios share: many organisations, the push with its waits compressed, a pool of
concurrent "Lambda containers" draining the real (moto) queue, and the checks on what Xero holds.

Waits are compressed, never skipped: a deferral or a backoff still puts an event off for a while (at
most ``MAX_WAIT`` real seconds), so events still come back late and out of order as they would.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3

from local.sqs_runner import lambda_record
from local.sqs_runner import queue_depth as sqs_queue_depth
from local.xero_sandbox.seed import NZ_TENANT
from shared import wiring
from tests.proof.accounts import configured_account
from tests.proof.stack import ProofStack
from tests.support.events import FakeContext

MAX_WAIT = 1
PUSH_TIMEOUT_MS = 120_000  # the push function's Timeout in template.yaml: a whole invocation's time


def add_organisations(stack: ProofStack, count: int) -> list[str]:
    """``count`` organisations like the NZ demo company, each with its own tenant id."""
    return stack.sandbox.sandbox.state.clone_organisation(NZ_TENANT, count, name="Proof Company")


def accounts_for(stack: ProofStack, tenants: list[str], prefix: str) -> dict[str, str]:
    """One configured platform account per organisation: account id → tenant id."""
    return {configured_account(stack, f"{prefix}-{n:02d}", tenant): tenant for n, tenant in enumerate(tenants)}


@contextlib.contextmanager
def compressed_waits(most: float = MAX_WAIT, *, batch_wait: str = "0") -> Iterator[None]:
    """Every wait of the intake and the push (queue delays and backoffs, outbox reschedules, waiting
    tickets and wake-ups) and the Xero timeout, shortened to at most ``most`` seconds for the proof.

    ``batch_wait``: the push's PUSH_COALESCE_SECONDS meanwhile (how long a flush waits for its batch
    to fill; the wait itself is a wake-up, so it is shortened like the others)."""
    from shared.adapters.flush_tickets import FlushTickets
    from shared.adapters.queue import InvoiceQueue
    from shared.domain.push.flush import OutboxSource

    saved = [
        (InvoiceQueue, "publish"),
        (InvoiceQueue, "back_off"),
        (OutboxSource, "_reschedule"),
        (FlushTickets, "wait"),
        (FlushTickets, "wake_later"),
    ]
    originals = [getattr(owner, name) for owner, name in saved]
    publish, back_off, reschedule, wait, wake_later = originals

    def short_publish(self: Any, bodies: list[str], *, delay: int = 0, deferrals: int = 0) -> int:
        return int(publish(self, bodies, delay=min(delay, int(most)), deferrals=deferrals))

    def short_back_off(self: Any, receipt_handle: str, seconds: int) -> None:
        back_off(self, receipt_handle, min(seconds, int(most)))

    def short_reschedule(self: Any, message: Any, seconds: int, *, retried: bool) -> None:
        reschedule(self, message, min(seconds, int(most)), retried=retried)

    def short_wait(self: Any, receipt_handle: str, seconds: float) -> None:
        wait(self, receipt_handle, min(seconds, most))

    def short_wake_later(self: Any, tenant_id: str, seconds: float) -> None:
        wake_later(self, tenant_id, min(seconds, most))

    for (owner, name), short in zip(
        saved, (short_publish, short_back_off, short_reschedule, short_wait, short_wake_later), strict=True
    ):
        setattr(owner, name, short)
    previous = {name: os.environ.get(name) for name in ("HTTP_TIMEOUT_SECONDS", "PUSH_COALESCE_SECONDS")}
    os.environ["HTTP_TIMEOUT_SECONDS"] = "1"
    os.environ["PUSH_COALESCE_SECONDS"] = batch_wait
    wiring.reset()
    try:
        yield
    finally:
        for (owner, name), original in zip(saved, originals, strict=True):
            setattr(owner, name, original)
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        wiring.reset()


def publish(bodies: list[str], sqs: Any = None) -> None:
    sqs = sqs or boto3.client("sqs")
    url = os.environ["QUEUE_URL"]
    for start in range(0, len(bodies), 10):
        entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start : start + 10])]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)


@dataclass
class Drained:
    invocations: int = 0
    messages: int = 0
    handed_back: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _queues() -> list[tuple[str, int, Any]]:
    """Each queue the "Lambda containers" poll, with its batch size and its function's handler."""
    from functions.intake import handler as intake
    from functions.push import handler as push

    return [
        (os.environ["FLUSH_QUEUE_URL"], 1, push.lambda_handler),
        (os.environ["QUEUE_URL"], 10, intake.lambda_handler),
        (os.environ["WAKE_QUEUE_URL"], 10, intake.lambda_handler),
    ]


def invoke_once(sqs: Any, url: str, batch: int, handler: Any, result: Drained, lock: threading.Lock) -> bool:
    """One receive and one invocation on ``url``; False when the queue gave nothing."""
    answer = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=batch,
        WaitTimeSeconds=0,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    messages = answer.get("Messages", [])
    if not messages:
        return False
    event = {"Records": [lambda_record(dict(m)) for m in messages]}
    try:
        failed = {f["itemIdentifier"] for f in handler(event, FakeContext(PUSH_TIMEOUT_MS))["batchItemFailures"]}
    except Exception as exc:  # a crash is a finding: the whole batch comes back (soon, here)
        with lock:
            result.errors.append(f"{type(exc).__name__}: {exc}")
        for message in messages:
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=MAX_WAIT
            )
        return True
    done = [m for m in messages if m["MessageId"] not in failed]
    if done:
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)]
        )
    with lock:
        result.invocations += 1
        result.messages += len(messages)
        result.handed_back += len(failed)
    return True


def push_through(records: list[dict[str, Any]]) -> Any:
    """The intake on ``records`` (an SQS event's records), then every flush it caused; the intake's answer."""
    from functions.intake import handler as intake

    answer = intake.lambda_handler({"Records": records}, FakeContext(PUSH_TIMEOUT_MS))
    sqs, lock, result = boto3.client("sqs"), threading.Lock(), Drained()
    url, batch, handler = _queues()[0]
    while invoke_once(sqs, url, batch, handler, result, lock):
        pass
    return answer


def drain(
    workers: int, *, timeout: float = 240.0, batch: int = 10, feed: list[str] | None = None, backlog: int = 500
) -> Drained:
    """Concurrent "Lambda containers" running the intake and the push on their queues, until every queue
    is empty (the platform's, the flush tickets', the wake-ups').

    ``feed``: bodies the platform publishes while the push runs, in their order, topping the queue up
    to ``backlog`` messages (events arrive over time; and moto's SQS scans every message it holds on
    each call, so a queue of thousands slows every call the proof makes).
    """
    sqs = boto3.client("sqs")
    queues = _queues()
    result = Drained()
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + timeout
    fed = threading.Event()
    if not feed:
        fed.set()

    def feeder() -> None:
        remaining = list(feed or [])
        try:
            while remaining and time.monotonic() < deadline:
                room = backlog - queue_depth(sqs)
                if room < 10:
                    time.sleep(0.05)
                    continue
                publish(remaining[:room], sqs)
                del remaining[:room]
        finally:
            fed.set()

    def worker() -> None:
        idle = 0
        while time.monotonic() < deadline and idle < 4:
            if any(invoke_once(sqs, url, min(size, batch), handler, result, lock) for url, size, handler in queues):
                idle = 0
                continue
            idle = idle + 1 if fed.is_set() and all_drained(sqs) else 0
            time.sleep(0.1)

    threads = [threading.Thread(target=worker, name=f"container-{n}") for n in range(workers)]
    threads.append(threading.Thread(target=feeder, name="platform-publisher"))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - started
    if not all_drained(sqs):
        result.errors.append(f"the queues still hold messages after {timeout:.0f} s")
    return result


def all_drained(sqs: Any = None) -> bool:
    sqs = sqs or boto3.client("sqs")
    return all(sqs_queue_depth(sqs, url).drained for url, _, _ in _queues())


def dead_letters() -> list[dict[str, Any]]:
    """Every message on the dead-letter queue (left there)."""
    sqs = boto3.client("sqs")
    url = os.environ["DEAD_LETTER_QUEUE_URL"]
    seen: dict[str, dict[str, Any]] = {}
    while True:
        answer = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60, MessageAttributeNames=["All"]
        )
        messages = answer.get("Messages", [])
        if not messages:
            return list(seen.values())
        for message in messages:
            seen[message["MessageId"]] = dict(message)


def queue_depth(sqs: Any = None) -> int:
    """Messages on the platform's queue: visible, in flight and delayed."""
    return sqs_queue_depth(sqs or boto3.client("sqs"), os.environ["QUEUE_URL"]).total


def xero_invoices(stack: ProofStack, tenant_id: str) -> list[Any]:
    org = stack.sandbox.sandbox.state.organisations[tenant_id]
    with stack.sandbox.sandbox.state.lock:
        return list(org.invoices.values())


def xero_payments(stack: ProofStack, tenant_id: str) -> list[Any]:
    org = stack.sandbox.sandbox.state.organisations[tenant_id]
    with stack.sandbox.sandbox.state.lock:
        return [p for p in org.payments.values() if p.status != "DELETED"]


def event_of(body: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(body)
    return loaded
