"""Lambda's SQS event source mapping, run locally: poll the queue, hand batches to the handler, delete
what succeeded.

As the real poller does, the runner long-polls with the batch size and batching window the template
declares, builds the ``Records`` Lambda sends (``messageId``, ``receiptHandle``, ``attributes``,
``messageAttributes``, ``md5OfBody``, ``eventSourceARN``...), and honours ``ReportBatchItemFailures``:
only the successful messages are deleted; the failed ones stay in flight until their visibility
timeout (or whatever visibility the handler set) and are then received again. A handler that
raises, runs past its timeout or answers an unusable failure list fails the whole batch.

Redrive to the dead-letter queue is SQS's own job, and moto does it as SQS does: a message whose
receive count has reached the queue's ``maxReceiveCount`` moves to the DLQ on the next receive.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.apigw import Handler
from local.invoke import LocalContext
from local.template import load_template

MAX_RECEIVE = 10  # SQS's most messages per ReceiveMessage call
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload limit


@dataclass(frozen=True)
class EventSourceMapping:
    """The SQS event of a function in template.yaml."""

    queue_logical_id: str
    batch_size: int = 10
    batching_window_seconds: float = 0.0
    report_batch_item_failures: bool = False

    @classmethod
    def from_template(
        cls, function_logical_id: str = "IntakeFunction", template: dict[str, Any] | None = None, *, queue: str = ""
    ) -> EventSourceMapping:
        """The function's SQS event (the one on the ``queue`` logical id, when it has several)."""
        function = (template or load_template())["Resources"][function_logical_id]["Properties"]
        for event in function.get("Events", {}).values():
            if event["Type"] == "SQS" and (not queue or event["Properties"]["Queue"]["Fn::GetAtt"][0] == queue):
                props = event["Properties"]
                return cls(
                    queue_logical_id=props["Queue"]["Fn::GetAtt"][0],
                    batch_size=int(props.get("BatchSize", 10)),
                    batching_window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                    report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                )
        raise LookupError(f"{function_logical_id} has no SQS event in template.yaml")


@dataclass(frozen=True)
class QueueDepth:
    visible: int
    in_flight: int
    delayed: int

    @property
    def total(self) -> int:
        return self.visible + self.in_flight + self.delayed

    @property
    def drained(self) -> bool:
        return self.total == 0


def queue_depth(sqs: Any, queue_url: str) -> QueueDepth:
    """What a queue holds: visible, in flight (received, not yet deleted) and delayed messages."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return QueueDepth(
        visible=int(attributes["ApproximateNumberOfMessages"]),
        in_flight=int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        delayed=int(attributes["ApproximateNumberOfMessagesDelayed"]),
    )


@dataclass
class BatchOutcome:
    """One invocation: which messages it carried, which failed, and why the whole batch failed if it did."""

    message_ids: list[str]
    failed_ids: list[str] = field(default_factory=list)
    error: str | None = None
    duration_ms: int = 0

    @property
    def deleted(self) -> int:
        return 0 if self.error else len(self.message_ids) - len(self.failed_ids)


class SqsRunner:
    """A background thread that does what Lambda's SQS poller does for one function."""

    def __init__(
        self,
        sqs: Any,
        *,
        queue_url: str,
        queue_arn: str,
        region: str,
        handler: Handler,
        mapping: EventSourceMapping,
        context_factory: Callable[[], LocalContext],
        poll_seconds: int = 1,
        name: str = "sqs-runner",
    ) -> None:
        """``poll_seconds`` is each receive's long-poll wait (Lambda's poller waits 20 s; shorter stops
        faster); 0 polls without waiting, pausing 50 ms between empty receives."""
        self._sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self._region = region
        self._handler = handler
        self.mapping = mapping
        self._context_factory = context_factory
        self._poll_seconds = poll_seconds
        self.name = name
        self._stop = threading.Event()
        self._flush = threading.Event()
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None
        self._invoking = threading.Event()  # a batch is with the handler, or its outcome not yet recorded
        self.outcomes: list[BatchOutcome] = []
        self.poll_errors: list[str] = []

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> SqsRunner:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- what callers wait on --------------------------------------------------------------------

    def depth(self) -> QueueDepth:
        return queue_depth(self._sqs, self.queue_url)

    def wait_until_drained(self, timeout: float = 20, interval: float = 0.05) -> QueueDepth:
        """Wait until nothing is visible, in flight or delayed, and the last batch's outcome is recorded;
        the last depth seen either way.

        Meanwhile the batching window is cut short as soon as the queue has nothing more to give,
        as if it had elapsed: a caller waiting for the queue to drain has published everything.
        """
        self._flush.set()
        try:
            deadline = time.monotonic() + timeout
            while True:
                depth = self.depth()
                if (depth.drained and not self._invoking.is_set()) or time.monotonic() >= deadline:
                    return depth
                time.sleep(interval)
        finally:
            self._flush.clear()

    def wait_for_batches(self, count: int, timeout: float = 10) -> list[BatchOutcome]:
        """Wait until ``count`` batches have been handled (the window cut short meanwhile); all outcomes."""
        self._flush.set()
        try:
            with self._lock:
                self._lock.wait_for(lambda: len(self.outcomes) >= count, timeout)
                return list(self.outcomes)
        finally:
            self._flush.clear()

    # --- the poller ------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                batch = self._gather()
                if batch and not self._stop.is_set():
                    self._invoke(batch)
                elif batch:
                    self._release(batch)
                elif self._poll_seconds == 0:
                    self._stop.wait(0.05)  # short polling: pause between empty receives
            except Exception as exc:  # noqa: BLE001 - the poller outlives any one failure, as Lambda's does
                self.poll_errors.append(f"{type(exc).__name__}: {exc}")
                self._stop.wait(0.2)

    def _gather(self) -> list[dict[str, Any]]:
        """One batch: up to the batch size, within the batching window from the first message."""
        batch: list[dict[str, Any]] = []
        size = 0
        window_ends = 0.0
        while not self._stop.is_set():
            room = min(MAX_RECEIVE, self.mapping.batch_size - len(batch))
            if room <= 0 or size >= MAX_PAYLOAD_BYTES:
                break
            if batch:
                remaining = window_ends - time.monotonic()
                if remaining <= 0:
                    break
                wait = 0 if self._flush.is_set() else min(self._poll_seconds, int(remaining))
            else:
                wait = self._poll_seconds
            messages = self._receive(room, wait)
            if not messages:
                if not batch:
                    return batch
                if self._flush.is_set():
                    break
                if wait == 0:
                    self._stop.wait(min(0.05, max(window_ends - time.monotonic(), 0)))
                continue
            if not batch:
                window_ends = time.monotonic() + self.mapping.batching_window_seconds
            batch += messages
            size += sum(len(m["Body"].encode()) for m in messages)
        return batch

    def _receive(self, count: int, wait: int) -> list[dict[str, Any]]:
        answer = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = answer.get("Messages", [])
        return messages

    def _invoke(self, batch: list[dict[str, Any]]) -> None:
        self._invoking.set()
        try:
            self._invoke_handler(batch)
        finally:
            self._invoking.clear()

    def _invoke_handler(self, batch: list[dict[str, Any]]) -> None:
        records = [self.record(m) for m in batch]
        ids = [r["messageId"] for r in records]
        outcome = BatchOutcome(message_ids=ids)
        context = self._context_factory()
        started = time.monotonic()
        try:
            response = self._handler({"Records": records}, context)
        except Exception as exc:  # noqa: BLE001 - a raising handler fails its batch, as in Lambda
            outcome.error = f"the handler raised {type(exc).__name__}"
        else:
            if context.timed_out:
                outcome.error = "the handler ran past its timeout"
            elif self.mapping.report_batch_item_failures:
                outcome.failed_ids, outcome.error = _reported_failures(response, set(ids))
        outcome.duration_ms = int((time.monotonic() - started) * 1000)
        if outcome.error is None:
            failed = set(outcome.failed_ids)
            self._delete([m for m in batch if m["MessageId"] not in failed])
        with self._lock:
            self.outcomes.append(outcome)
            self._lock.notify_all()

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), MAX_RECEIVE):
            chunk = messages[start : start + MAX_RECEIVE]
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )

    def _release(self, messages: list[dict[str, Any]]) -> None:
        """Stopping with a batch gathered but not invoked: make it visible again for the next poller."""
        for start in range(0, len(messages), MAX_RECEIVE):
            chunk = messages[start : start + MAX_RECEIVE]
            self._sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(chunk)
                ],
            )

    def record(self, message: dict[str, Any]) -> dict[str, Any]:
        """The Lambda ``Records`` entry for one received SQS message."""
        return lambda_record(message, queue_arn=self.queue_arn, region=self._region)


def lambda_record(message: dict[str, Any], *, queue_arn: str = "", region: str = "us-east-1") -> dict[str, Any]:
    """The entry Lambda puts in an SQS event's ``Records`` for one message ``ReceiveMessage`` returned."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [base64.b64encode(v).decode() for v in value.get("BinaryListValues", [])],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return converted


def _reported_failures(response: Any, ids: set[str]) -> tuple[list[str], str | None]:
    """Lambda's reading of a ``ReportBatchItemFailures`` answer: (failed message ids, whole-batch error).

    No answer, an empty answer or an empty/null list is complete success. An answer that is not an
    object, or an item whose ``itemIdentifier`` is missing, empty or not a message of this batch, fails
    the whole batch.
    """
    if response is None:
        return [], None
    if not isinstance(response, dict):
        return [], "the handler's answer is not a batch response"
    items = response.get("batchItemFailures")
    if not items:
        return [], None
    if not isinstance(items, list):
        return [], "batchItemFailures is not a list"
    failed: list[str] = []
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in ids:
            return [], f"batchItemFailures names an unknown message: {identifier!r}"
        failed.append(identifier)
    return failed, None
