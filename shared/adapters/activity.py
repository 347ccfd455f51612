"""An account's recent syncs, newest first, from the sparse ``ActivityIndex`` of the sync records.

The push stamps ``activity_pk`` (``ACCOUNT#<account id>``) and ``activity_at`` on each invoice sync
record it completes or fails (and on failed payments), so one Query reads the latest ones and nothing
else; the index projects only what the settings page shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.dynamo import account_pk, from_item, to_attr
from shared.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ACTIVITY_INDEX = "ActivityIndex"
# What the index projects (template.yaml); the page shows nothing else.
PROJECTED = (
    "invoice_id",
    "payment_id",
    "number",
    "state",
    "xero_status",
    "total",
    "amount_due",
    "error_code",
    "error_message",
)


class ActivityLog:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def recent(self, account_id: str, limit: int = 20) -> list[dict[str, Any]]:
        try:
            answer = self._client.query(
                TableName=self._table,
                IndexName=ACTIVITY_INDEX,
                KeyConditionExpression="activity_pk = :pk",
                ExpressionAttributeValues={":pk": to_attr(account_pk(account_id))},
                ScanIndexForward=False,
                Limit=limit,
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not read the recent syncs of account {account_id}") from exc
        return [from_item(item) for item in answer.get("Items", [])]
