"""What each account's backfill (its history being imported) has done so far, in DynamoDB.

| item              | pk                    | sk          |
| ----------------- | --------------------- | ----------- |
| backfill progress | ``ACCOUNT#<account>`` | ``BACKFILL`` |

Counts added after each backfill pass of a flush (one update an account a pass): events synced
(skipped older versions included), failed, and history invoices matched in Xero and kept as Xero has
them, with the first :data:`KEPT_LISTED` of their numbers to report. The events still waiting are
counted in the outbox itself (:meth:`shared.adapters.outbox.Outbox.depth`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.dynamo import from_item, is_conditional_failure, to_attr
from shared.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEPT_LISTED = 100


@dataclass(frozen=True)
class Progress:
    synced: int = 0
    failed: int = 0
    kept: int = 0
    kept_numbers: tuple[str, ...] = ()
    started_at: datetime | None = None  # the first backfill pass of the account
    updated_at: datetime | None = None  # the latest


class BackfillProgress:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def add(self, account_id: str, *, synced: int, failed: int, kept: list[str], tenant_id: str, now: float) -> None:
        """Count what one backfill pass did for the account."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(account_id),
                UpdateExpression="ADD synced :s, failed :f, kept :k "
                "SET started_at = if_not_exists(started_at, :now), updated_at = :now, tenant_id = :t",
                ExpressionAttributeValues={
                    ":s": to_attr(synced),
                    ":f": to_attr(failed),
                    ":k": to_attr(len(kept)),
                    ":now": to_attr(now),
                    ":t": to_attr(tenant_id),
                },
            )
            if kept:
                self._client.update_item(
                    TableName=self._table,
                    Key=self._key(account_id),
                    UpdateExpression="ADD kept_numbers :n",
                    ConditionExpression="attribute_not_exists(kept_numbers) OR size(kept_numbers) < :cap",
                    ExpressionAttributeValues={":n": {"SS": sorted(set(kept))}, ":cap": to_attr(KEPT_LISTED)},
                )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise StorageError(f"could not count the backfill of account {account_id}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not count the backfill of account {account_id}") from exc

    def get(self, account_id: str, tenant_id: str | None = None) -> Progress:
        """The account's counts (of its backfill into ``tenant_id``, when given: another organisation's
        counts are not this one's)."""
        try:
            answer = self._client.get_item(TableName=self._table, Key=self._key(account_id))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not read the backfill of account {account_id}") from exc
        values: dict[str, Any] = from_item(answer.get("Item", {}))
        if not values or (tenant_id is not None and values.get("tenant_id") not in (None, tenant_id)):
            return Progress()
        return Progress(
            synced=int(values.get("synced", 0)),
            failed=int(values.get("failed", 0)),
            kept=int(values.get("kept", 0)),
            kept_numbers=tuple(sorted(values.get("kept_numbers") or ())),
            started_at=_when(values.get("started_at")),
            updated_at=_when(values.get("updated_at")),
        )

    @staticmethod
    def _key(account_id: str) -> dict[str, Any]:
        return {"pk": to_attr(f"ACCOUNT#{account_id}"), "sk": to_attr("BACKFILL")}


def _when(value: Any) -> datetime | None:
    return datetime.fromtimestamp(float(value), UTC) if value is not None else None
