"""The alert queue and its dead-letter queue: alert emails waiting to be sent.

- ``publish``: put alert requests on the queue (the push, instead of calling SES in its batch);
- ``back_off``: keep a message hidden until its next try (SES failing);
- ``dead``: move a message to the dead-letter queue with the reason it could not be sent.

Every SQS failure becomes :class:`~shared.errors.StorageError` (retryable).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.queue import MAX_VISIBILITY
from shared.errors import StorageError
from shared.models.alerts import ALERT_REQUEST, AlertRequest

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_BATCH = 10  # SendMessageBatch's most entries


class AlertQueue:
    def __init__(self, client: SQSClient, queue_url: str, dead_letter_url: str = "") -> None:
        self._client = client
        self._url = queue_url
        self._dlq = dead_letter_url

    def publish(self, requests: Sequence[AlertRequest]) -> int:
        """Queue ``requests`` (SendMessageBatch, ten at a time); how many were queued: all, or it raises.

        After an error some may have been queued already: publishing them all again is safe, as each
        email is sent once whatever the number of its requests (the alert's dedupe claim).
        """
        bodies = [ALERT_REQUEST.dump_json(request).decode() for request in requests]
        for start in range(0, len(bodies), MAX_BATCH):
            entries: list[Any] = [
                {"Id": str(index), "MessageBody": body} for index, body in enumerate(bodies[start : start + MAX_BATCH])
            ]
            try:
                answer = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise StorageError("could not send alerts to the alert queue") from exc
            failed = answer.get("Failed") or []
            if failed:
                codes = sorted({str(f.get("Code", "")) for f in failed})
                raise StorageError(f"the alert queue refused {len(failed)} alerts ({', '.join(codes)})")
        return len(bodies)

    def back_off(self, receipt_handle: str, seconds: int) -> None:
        """Hide a received message for ``seconds`` before its next receive."""
        try:
            self._client.change_message_visibility(
                QueueUrl=self._url,
                ReceiptHandle=receipt_handle,
                VisibilityTimeout=max(0, min(MAX_VISIBILITY, int(seconds))),
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not delay a message on the alert queue") from exc

    def dead(
        self, body: str, *, code: str, reason: str, message_id: str, account_id: str | None, receives: int
    ) -> None:
        """Put a copy of a message on the dead-letter queue with why it could not be sent."""
        attributes: dict[str, Any] = {
            "failure_code": {"DataType": "String", "StringValue": code},
            "failure_reason": {"DataType": "String", "StringValue": reason[:1000] or code},
            "original_message_id": {"DataType": "String", "StringValue": message_id or "unknown"},
            "receive_count": {"DataType": "Number", "StringValue": str(receives)},
        }
        if account_id:
            attributes["account_id"] = {"DataType": "String", "StringValue": account_id}
        try:
            self._client.send_message(QueueUrl=self._dlq, MessageBody=body, MessageAttributes=attributes)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not move an alert to the alert dead-letter queue") from exc
