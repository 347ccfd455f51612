"""The invoice queue and its dead-letter queue, as the push and the management API use them.

- ``defer``: send a message again with a delay, as a new message, so waiting for Xero's rate limit
  never spends one of its bounded receives;
- ``back_off``: keep a message hidden for a while before its next receive (real errors);
- ``dead``: move a message to the dead-letter queue with the reason it could not be synced;
- ``publish``: put an event on the queue (released parked events, the retry route).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_DELAY = 900  # SQS's longest DelaySeconds
# SQS's longest visibility timeout is 12 hours counted from when the message was received (moto counts
# from when it was sent): a message is hidden at most 12 hours less the 15 minutes it can have waited
# since or been worked on; a longer wait hides it again when it shows.
MAX_VISIBILITY = 43_200 - 900
DEFERRALS = "deferrals"


class InvoiceQueue:
    def __init__(self, client: SQSClient, queue_url: str, dead_letter_url: str) -> None:
        self._client = client
        self._url = queue_url
        self._dlq = dead_letter_url

    def publish(self, bodies: list[str], *, delay: int = 0, deferrals: int = 0) -> int:
        """Send ``bodies``; returns how many were sent (all or an error is raised)."""
        attributes: dict[str, Any] = {}
        if deferrals:
            attributes[DEFERRALS] = {"DataType": "Number", "StringValue": str(deferrals)}
        for start in range(0, len(bodies), 10):
            entries: list[Any] = [
                {
                    "Id": str(index),
                    "MessageBody": body,
                    "DelaySeconds": max(0, min(MAX_DELAY, int(delay))),
                    **({"MessageAttributes": attributes} if attributes else {}),
                }
                for index, body in enumerate(bodies[start : start + 10])
            ]
            try:
                answer = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise StorageError("could not send messages to the invoice queue") from exc
            if answer.get("Failed"):
                raise StorageError(f"the invoice queue refused {len(answer['Failed'])} messages")
        return len(bodies)

    def back_off(self, receipt_handle: str, seconds: int) -> None:
        try:
            self._client.change_message_visibility(
                QueueUrl=self._url,
                ReceiptHandle=receipt_handle,
                VisibilityTimeout=max(0, min(MAX_VISIBILITY, int(seconds))),
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not delay a message on the invoice queue") from exc

    def dead(self, body: str, *, code: str, reason: str, message_id: str, account_id: str | None) -> None:
        attributes: dict[str, Any] = {
            "failure_code": {"DataType": "String", "StringValue": code},
            "failure_reason": {"DataType": "String", "StringValue": reason[:1000] or code},
            "original_message_id": {"DataType": "String", "StringValue": message_id},
        }
        if account_id:
            attributes["account_id"] = {"DataType": "String", "StringValue": account_id}
        try:
            self._client.send_message(QueueUrl=self._dlq, MessageBody=body, MessageAttributes=attributes)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not move a message to the dead-letter queue") from exc
