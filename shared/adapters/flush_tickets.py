"""Flush tickets: one SQS FIFO message per organisation with events in its outbox.

The message group is the organisation, so its flushes run one at a time, in order: the push is the
only writer of an organisation's sync records and the only caller of its Xero writes (Xero allows 5
calls at once per organisation; one flush makes one at a time). The deduplication id is the
organisation and its flush generation: the tickets the intake sends while no flush has started are
one ticket; one sent after a flush began is another, queued behind it. A flush that must wait (for
more events to fill a batch, for Xero's limits, for an event's retry) hides its ticket until then
and hands it back; SQS shows it again when the wait is over.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.queue import MAX_VISIBILITY
from shared.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_DELAY = 900  # SQS's longest message delay: 15 minutes


class FlushTickets:
    def __init__(self, client: SQSClient, queue_url: str, wake_url: str = "") -> None:
        self._client = client
        self._url = queue_url
        self._wake_url = wake_url

    def send(self, generations: dict[str, int]) -> None:
        """One ticket per organisation, named by its current flush generation."""
        tickets = sorted(generations.items())
        for start in range(0, len(tickets), 10):
            entries: list[Any] = [
                {
                    "Id": str(index),
                    "MessageBody": json.dumps({"tenant_id": tenant_id}),
                    "MessageGroupId": tenant_id,
                    "MessageDeduplicationId": f"{tenant_id}:{generation}",
                }
                for index, (tenant_id, generation) in enumerate(tickets[start : start + 10])
            ]
            try:
                answer = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise StorageError("could not send flush tickets") from exc
            if answer.get("Failed"):
                raise StorageError(f"the flush queue refused {len(answer['Failed'])} tickets")

    def wake_later(self, tenant_id: str, seconds: float) -> None:
        """Ask for a flush of ``tenant_id`` in ``seconds`` (at most 15 minutes, SQS's longest delay): a
        delayed message on the wake queue, which the intake turns into a ticket when it arrives."""
        try:
            self._client.send_message(
                QueueUrl=self._wake_url,
                MessageBody=json.dumps({"wake": tenant_id}),
                DelaySeconds=max(0, min(MAX_DELAY, int(seconds + 0.999))),
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not ask for a later flush") from exc

    def wait(self, receipt_handle: str, seconds: float) -> None:
        """Hide a ticket (so its organisation) for ``seconds``, at most ``MAX_VISIBILITY``."""
        try:
            self._client.change_message_visibility(
                QueueUrl=self._url,
                ReceiptHandle=receipt_handle,
                VisibilityTimeout=max(0, min(MAX_VISIBILITY, int(seconds + 0.999))),
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not put a flush ticket off") from exc


def tenant_of(body: str, key: str = "tenant_id") -> str | None:
    """The organisation a ticket (``tenant_id``) or a wake-up (``wake``) names."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    tenant = value.get(key) if isinstance(value, dict) else None
    return tenant if isinstance(tenant, str) and tenant else None
