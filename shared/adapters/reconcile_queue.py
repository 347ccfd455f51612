"""The reconcile queue (SQS FIFO): one message per account run, the organisation as message group.

One group per organisation runs its reconciliations one at a time, so two accounts sharing an
organisation never read it at once, and a run's continuation (the next page, after the Lambda's
time ran out) queues behind it. The deduplication id is the run and the page it starts at: a
schedule delivered twice, or a "check now" clicked twice, is one run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.queue import MAX_VISIBILITY
from shared.errors import StorageError
from shared.models.reconcile import ReconcileRequest

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class ReconcileQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, requests: list[tuple[str, ReconcileRequest]], *, page: int = 1) -> int:
        """Queue ``(tenant id, request)`` pairs, ten a call; how many were queued."""
        for start in range(0, len(requests), 10):
            entries: list[dict[str, str]] = [
                {
                    "Id": str(index),
                    "MessageBody": request.model_dump_json(),
                    "MessageGroupId": tenant_id,
                    "MessageDeduplicationId": f"{request.account_id}:{request.run_id}:{page}"[:128],
                }
                for index, (tenant_id, request) in enumerate(requests[start : start + 10])
            ]
            try:
                answer = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)  # type: ignore[arg-type]
            except (ClientError, BotoCoreError) as exc:
                raise StorageError("could not queue reconciliations") from exc
            if answer.get("Failed"):
                raise StorageError(f"the reconcile queue refused {len(answer['Failed'])} messages")
        return len(requests)

    def wait(self, receipt_handle: str, seconds: float) -> None:
        """Hide a message (so its organisation's group) for ``seconds``, at most ``MAX_VISIBILITY``."""
        try:
            self._client.change_message_visibility(
                QueueUrl=self._url,
                ReceiptHandle=receipt_handle,
                VisibilityTimeout=max(0, min(MAX_VISIBILITY, int(seconds + 0.999))),
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not put a reconciliation off") from exc
