"""Reconciliation's items in DynamoDB: each account's run, what it has seen, and each difference.

| item                     | pk                       | sk                                      |
| ------------------------ | ------------------------ | --------------------------------------- |
| reconciliation run       | ``ACCOUNT#<account id>`` | ``RECONCILE#RUN``                       |
| difference               | ``ACCOUNT#<account id>`` | ``RECONCILE#DIFF#<invoice id>``         |
| invoices seen (full run) | ``ACCOUNT#<account id>`` | ``RECONCILE#SEEN#<run id>#<page:05d>``  |

The run item is the account's latest run (its progress while under way, its figures once done) and
``last_complete_started_at``, the ``If-Modified-Since`` of the next recent run. A full run keeps the
Xero InvoiceIDs of each page it read (16 bytes each, packed, TTL two days) so that, once the last
page is read, the invoices Xero no longer has are known even when the run spanned several
invocations. A difference stays until a run finds the invoice matching again; an accepted one stays
accepted while Xero holds what was accepted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.dynamo import account_pk, from_item, is_conditional_failure, to_attr, to_item
from shared.errors import StorageError
from shared.models.reconcile import Difference, ReconcileRun
from shared.models.records import InvoiceRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RUN_SK = "RECONCILE#RUN"
DIFF_PREFIX = "RECONCILE#DIFF#"
SEEN_PREFIX = "RECONCILE#SEEN#"
SEEN_DAYS = 2
# What reconciliation reads of a sync record: never the kept event (it is most of the item's size).
RECORD_FIELDS = (
    "invoice_id",
    "tenant_id",
    "state",
    "number",
    "xero_invoice_id",
    "xero_status",
    "xero_contact_id",
    "currency",
    "total",
    "sub_total",
    "total_tax",
    "amount_due",
    "reference",
    "date",
    "due_date",
    "last_version",
    "pending_until",
    "updated_at",
    "last_pushed_at",
)


def pack_ids(ids: list[str]) -> bytes:
    """Xero's InvoiceIDs (UUIDs) as 16 bytes each; an id that is not a UUID is left out (never ours)."""
    packed = bytearray()
    for value in ids:
        try:
            packed += uuid.UUID(value).bytes
        except ValueError:
            continue
    return bytes(packed)


def unpack_ids(blob: bytes) -> set[str]:
    return {str(uuid.UUID(bytes=blob[i : i + 16])) for i in range(0, len(blob) - 15, 16)}


class ReconciliationStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # --- runs ----------------------------------------------------------------------------------

    def run(self, account_id: str) -> ReconcileRun | None:
        item = self._get(account_id, RUN_SK)
        return ReconcileRun.model_validate(item) if item else None

    def save_run(self, account_id: str, run: ReconcileRun) -> None:
        values = {"pk": account_pk(account_id), "sk": RUN_SK, **run.model_dump(mode="json")}
        try:
            self._client.put_item(TableName=self._table, Item=to_item(values))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not record the reconciliation of account {account_id}") from exc

    # --- what a full run has seen --------------------------------------------------------------

    def add_seen(self, account_id: str, run_id: str, page: int, xero_ids: list[str], now: float) -> None:
        values = {
            "pk": account_pk(account_id),
            "sk": f"{SEEN_PREFIX}{run_id}#{page:05d}",
            "ids": pack_ids(xero_ids),
            "ttl": int(now) + SEEN_DAYS * 86400,
        }
        try:
            self._client.put_item(TableName=self._table, Item=to_item(values))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not record what reconciliation read for account {account_id}") from exc

    def seen(self, account_id: str, run_id: str) -> set[str]:
        found: set[str] = set()
        for item in self._query(account_id, f"{SEEN_PREFIX}{run_id}#"):
            blob = item.get("ids")
            if isinstance(blob, bytes | bytearray):
                found |= unpack_ids(bytes(blob))
        return found

    # --- differences ---------------------------------------------------------------------------

    def differences(self, account_id: str) -> list[Difference]:
        return [Difference.model_validate(item) for item in self._query(account_id, DIFF_PREFIX)]

    def difference(self, account_id: str, invoice_id: str) -> Difference | None:
        item = self._get(account_id, f"{DIFF_PREFIX}{invoice_id}")
        return Difference.model_validate(item) if item else None

    def put_difference(self, account_id: str, difference: Difference) -> None:
        values = {
            "pk": account_pk(account_id),
            "sk": f"{DIFF_PREFIX}{difference.invoice_id}",
            **difference.model_dump(mode="json"),
        }
        try:
            self._client.put_item(TableName=self._table, Item=to_item(values))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not record a reconciliation difference of account {account_id}") from exc

    def mark(self, account_id: str, invoice_id: str, state: str, at: str, *, seen_fingerprint: str) -> bool:
        """Set a difference's state (accepted, resent) if it is still the one the owner saw."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(account_id, f"{DIFF_PREFIX}{invoice_id}"),
                UpdateExpression="SET #state = :state, #at = :at",
                ConditionExpression="xero_fingerprint = :seen",
                ExpressionAttributeNames={"#state": "state", "#at": f"{state}_at"},
                ExpressionAttributeValues={
                    ":state": to_attr(state),
                    ":at": to_attr(at),
                    ":seen": to_attr(seen_fingerprint),
                },
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise StorageError(f"could not update a reconciliation difference of account {account_id}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not update a reconciliation difference of account {account_id}") from exc
        return True

    def resolve(self, account_id: str, invoice_ids: list[str]) -> None:
        """Delete the differences of invoices that match again."""
        self._delete(account_id, [f"{DIFF_PREFIX}{invoice_id}" for invoice_id in invoice_ids])

    def forget_seen(self, account_id: str, run_id: str) -> None:
        self._delete(account_id, [str(item["sk"]) for item in self._query(account_id, f"{SEEN_PREFIX}{run_id}#")])

    # --- the account's invoice sync records ----------------------------------------------------

    def invoice_records(self, account_id: str) -> Iterator[InvoiceRecord]:
        """Every invoice sync record of the account, without its kept event."""
        projection = ", ".join(f"#{name}" for name in RECORD_FIELDS)
        names = {f"#{name}": name for name in RECORD_FIELDS}
        for item in self._query(account_id, "INVOICE#", projection=projection, names=names):
            yield InvoiceRecord.model_validate(item)

    def fresh_records(self, account_id: str, invoice_ids: list[str]) -> dict[str, InvoiceRecord]:
        """These invoices' sync records as they are now (consistent reads), without their kept event."""
        found: dict[str, InvoiceRecord] = {}
        unique = list(dict.fromkeys(invoice_ids))
        names = {f"#{name}": name for name in RECORD_FIELDS}
        try:
            for start in range(0, len(unique), 100):
                keys = [self._key(account_id, f"INVOICE#{i}") for i in unique[start : start + 100]]
                request: dict[str, Any] = {
                    self._table: {
                        "Keys": keys,
                        "ConsistentRead": True,
                        "ProjectionExpression": ", ".join(names),
                        "ExpressionAttributeNames": names,
                    }
                }
                while request:
                    answer = self._client.batch_get_item(RequestItems=request)
                    for item in answer.get("Responses", {}).get(self._table, []):
                        record = InvoiceRecord.model_validate(from_item(item))
                        found[record.invoice_id] = record
                    request = dict(answer.get("UnprocessedKeys") or {})
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not read the sync records of account {account_id}") from exc
        return found

    # --- plumbing ------------------------------------------------------------------------------

    def _key(self, account_id: str, sk: str) -> dict[str, Any]:
        return {"pk": to_attr(account_pk(account_id)), "sk": to_attr(sk)}

    def _get(self, account_id: str, sk: str) -> dict[str, Any] | None:
        try:
            answer = self._client.get_item(TableName=self._table, Key=self._key(account_id, sk), ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not read the reconciliation of account {account_id}") from exc
        item = answer.get("Item")
        return from_item(item) if item else None

    def _query(
        self, account_id: str, prefix: str, *, projection: str | None = None, names: dict[str, str] | None = None
    ) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": to_attr(account_pk(account_id)), ":prefix": to_attr(prefix)},
            "ConsistentRead": True,
        }
        if projection:
            kwargs["ProjectionExpression"] = projection
        if names:
            kwargs["ExpressionAttributeNames"] = names
        try:
            while True:
                answer = self._client.query(**kwargs)
                for item in answer.get("Items", []):
                    yield from_item(item)
                if "LastEvaluatedKey" not in answer:
                    return
                kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not read the reconciliation of account {account_id}") from exc

    def _delete(self, account_id: str, sort_keys: list[str]) -> None:
        unique = list(dict.fromkeys(sort_keys))
        try:
            for start in range(0, len(unique), 25):
                requests: list[Any] = [
                    {"DeleteRequest": {"Key": self._key(account_id, sk)}} for sk in unique[start : start + 25]
                ]
                pending: dict[str, Any] = {self._table: requests}
                while pending:
                    answer = self._client.batch_write_item(RequestItems=pending)
                    pending = dict(answer.get("UnprocessedItems") or {})
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not clear reconciliation items of account {account_id}") from exc
