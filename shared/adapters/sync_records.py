"""What the push has done for each invoice, contact and payment of an account, in DynamoDB.

| item                        | pk                       | sk                         |
| --------------------------- | ------------------------ | -------------------------- |
| invoice sync record         | ``ACCOUNT#<account id>`` | ``INVOICE#<invoice id>``   |
| contact sync record         | ``ACCOUNT#<account id>`` | ``CONTACT#<contact id>``   |
| payment sync record         | ``ACCOUNT#<account id>`` | ``PAYMENT#<payment id>``   |
| parked event (TTL)          | ``ACCOUNT#<account id>`` | ``PARKED#<event id>``      |

An invoice is *claimed* before anything is sent to Xero: one conditional write that succeeds only
when the version is newer than the last one pushed and no other invocation holds a live claim. The
claim records ``pending_version``; a claim found expired means an earlier attempt may have reached
Xero, so the push looks in Xero before creating anything (``uncertain``). Failed records carry
``failed_pk``/``failed_at``, which puts them in the sparse ``FailuresIndex``. Completed and failed
records carry ``activity_pk``/``activity_at`` (the account, and when), which puts them in the sparse
``ActivityIndex`` the settings page reads its recent syncs from (:mod:`shared.adapters.activity`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.dynamo import account_pk, from_item, is_conditional_failure, to_attr, to_item, update_arguments
from shared.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from shared.errors import Rejected

ClaimKind = Literal["claimed", "older", "busy"]
PARKED_DAYS = 60


@dataclass(frozen=True)
class Claim:
    kind: ClaimKind
    record: dict[str, Any]
    uncertain: bool = False

    @property
    def xero_id(self) -> str | None:
        value = self.record.get("xero_invoice_id") or self.record.get("xero_payment_id")
        return str(value) if value else None


def failure_values(failure: Rejected, now: datetime, account_id: str) -> dict[str, Any]:
    return {
        "state": "failed",
        "error_code": failure.code,
        "error_message": failure.message,
        "error_fix": failure.fix,
        "xero_messages": list(failure.xero_messages) or None,
        "failed_pk": account_pk(account_id),
        "failed_at": now.isoformat(),
        "updated_at": now.isoformat(),
        **activity_values(account_id, now),
    }


def activity_values(account_id: str, now: datetime) -> dict[str, Any]:
    """What puts a record in the sparse ActivityIndex: the account's recent syncs, newest last."""
    return {"activity_pk": account_pk(account_id), "activity_at": now.isoformat()}


CLEARED_FAILURE = ("error_code", "error_message", "error_fix", "xero_messages", "failed_pk", "failed_at")


class SyncRecords:
    def __init__(self, client: DynamoDBClient, table_name: str, *, lease_seconds: int = 180) -> None:
        self._client = client
        self._table = table_name
        self._lease = lease_seconds

    # --- invoices ----------------------------------------------------------------------------

    def claim_invoice(self, account_id: str, invoice_id: str, version: int, now: datetime) -> Claim:
        """Take the right to push ``version`` of an invoice (see the module's description)."""
        stamp = int(now.timestamp())
        condition = (
            "(attribute_not_exists(#last_version) OR #last_version < :v) "
            "AND (attribute_not_exists(#pending_until) OR #pending_until < :now)"
        )
        return self._claim(
            self._key(account_id, f"INVOICE#{invoice_id}"),
            {"invoice_id": invoice_id, "pending_version": version, "pending_until": stamp + self._lease},
            condition,
            {":v": version, ":now": stamp},
            older=lambda old: int(old.get("last_version", 0)) >= version,
        )

    def complete_invoice(
        self, account_id: str, invoice_id: str, version: int, values: dict[str, Any], now: datetime | None = None
    ) -> None:
        """Record a pushed version and release the claim (only if the claim is still ours)."""
        self._finish(
            self._key(account_id, f"INVOICE#{invoice_id}"),
            {
                **values,
                "state": "synced",
                "last_version": version,
                **activity_values(account_id, now or datetime.now(UTC)),
            },
            version,
        )

    def fail_invoice(
        self, account_id: str, invoice_id: str, version: int, failure: Rejected, now: datetime, extra: dict[str, Any]
    ) -> None:
        """Record why a version could not be pushed; the last pushed version stays as it was."""
        values = {**extra, **failure_values(failure, now, account_id), "failed_version": version}
        key = self._key(account_id, f"INVOICE#{invoice_id}")
        if not self._finish(key, values, version, clear_failure=False):
            # Not (or no longer) claimed: record it unless a newer version was pushed or is in flight.
            self._record_unclaimed(
                key,
                values,
                "(attribute_not_exists(#last_version) OR #last_version < :v)"
                " AND (attribute_not_exists(#pending_until) OR #pending_until < :now)",
                {":v": version, ":now": int(now.timestamp())},
            )

    def release_invoice(self, account_id: str, invoice_id: str, version: int) -> None:
        """Give a claim back for a retry, as an expired claim: whatever was sent may have reached Xero,
        so the next attempt looks in Xero before it creates anything."""
        self._expire(self._key(account_id, f"INVOICE#{invoice_id}"), version)

    def note_skipped(self, account_id: str, invoice_id: str, version: int, now: datetime) -> None:
        """An older version arrived after a newer one was pushed: counted, never sent."""
        self._update(
            self._key(account_id, f"INVOICE#{invoice_id}"),
            {"last_skipped_version": version, "last_skipped_at": now.isoformat()},
            increments={"skipped_count": 1},
        )

    def invoice(self, account_id: str, invoice_id: str) -> dict[str, Any] | None:
        return self._get(self._key(account_id, f"INVOICE#{invoice_id}"))

    def invoices(self, account_id: str, invoice_ids: list[str]) -> dict[str, dict[str, Any]]:
        items = self._batch_get(account_id, [f"INVOICE#{i}" for i in invoice_ids])
        return {str(item["invoice_id"]): item for item in items if "invoice_id" in item}

    def failures(self, account_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The account's recent failures (invoices and payments), newest first."""
        try:
            answer = self._client.query(
                TableName=self._table,
                IndexName="FailuresIndex",
                KeyConditionExpression="failed_pk = :pk",
                ExpressionAttributeValues={":pk": to_attr(account_pk(account_id))},
                ScanIndexForward=False,
                Limit=limit,
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not read the failures of account {account_id}") from exc
        return [from_item(item) for item in answer.get("Items", [])]

    # --- contacts ----------------------------------------------------------------------------

    def contacts(self, account_id: str, contact_ids: list[str]) -> dict[str, dict[str, Any]]:
        items = self._batch_get(account_id, [f"CONTACT#{c}" for c in contact_ids])
        return {str(item["contact_id"]): item for item in items if "contact_id" in item}

    def save_contact(self, account_id: str, contact_id: str, values: dict[str, Any], version: int) -> bool:
        """Store a contact's Xero id and pushed content; False when a newer version is already stored."""
        try:
            self._update(
                self._key(account_id, f"CONTACT#{contact_id}"),
                {**values, "contact_id": contact_id, "version": version},
                condition="attribute_not_exists(#version) OR #version <= :v",
                condition_values={":v": version},
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise StorageError(f"could not store contact {contact_id}") from exc
        return True

    # --- payments ----------------------------------------------------------------------------

    def claim_payment(self, account_id: str, payment_id: str, invoice_id: str, now: datetime) -> Claim:
        stamp = int(now.timestamp())
        return self._claim(
            self._key(account_id, f"PAYMENT#{payment_id}"),
            {
                "payment_id": payment_id,
                "invoice_id": invoice_id,
                "pending_version": 1,
                "pending_until": stamp + self._lease,
            },
            "attribute_not_exists(#xero_payment_id)"
            " AND (attribute_not_exists(#pending_until) OR #pending_until < :now)",
            {":now": stamp},
            older=lambda old: bool(old.get("xero_payment_id")),
        )

    def complete_payment(self, account_id: str, payment_id: str, values: dict[str, Any]) -> None:
        self._finish(self._key(account_id, f"PAYMENT#{payment_id}"), {**values, "state": "synced"}, 1)

    def fail_payment(
        self, account_id: str, payment_id: str, failure: Rejected, now: datetime, extra: dict[str, Any]
    ) -> None:
        values = {**extra, **failure_values(failure, now, account_id)}
        key = self._key(account_id, f"PAYMENT#{payment_id}")
        if not self._finish(key, values, 1, clear_failure=False):
            self._record_unclaimed(
                key,
                values,
                "attribute_not_exists(#xero_payment_id)"
                " AND (attribute_not_exists(#pending_until) OR #pending_until < :now)",
                {":now": int(now.timestamp())},
            )

    def release_payment(self, account_id: str, payment_id: str) -> None:
        """As :meth:`release_invoice`: the next attempt first looks for the payment in Xero."""
        self._expire(self._key(account_id, f"PAYMENT#{payment_id}"), 1)

    def payments_of(self, account_id: str, invoice_id: str) -> list[dict[str, Any]]:
        """Failed payment records of an invoice (for the retry route)."""
        return [
            f for f in self.failures(account_id, limit=200) if f.get("payment_id") and f["invoice_id"] == invoice_id
        ]

    # --- parked events -----------------------------------------------------------------------

    def park(self, account_id: str, event_id: str, body: str, reason: str, now: datetime) -> None:
        """Keep an event that cannot go to Xero until the account reconnects or finishes its setup."""
        item = {
            "pk": account_pk(account_id),
            "sk": f"PARKED#{event_id}",
            "body": body,
            "reason": reason,
            "parked_at": now.isoformat(),
            "ttl": int((now + timedelta(days=PARKED_DAYS)).timestamp()),
        }
        try:
            self._client.put_item(TableName=self._table, Item=to_item(item))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not park event {event_id}") from exc

    def parked(self, account_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :parked)",
            "ExpressionAttributeValues": {":pk": to_attr(account_pk(account_id)), ":parked": to_attr("PARKED#")},
            "ConsistentRead": True,
        }
        try:
            while True:
                answer = self._client.query(**kwargs)
                items.extend(from_item(item) for item in answer.get("Items", []))
                if "LastEvaluatedKey" not in answer:
                    return items
                kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not read the parked events of account {account_id}") from exc

    def unpark(self, account_id: str, sk: str) -> None:
        try:
            self._client.delete_item(TableName=self._table, Key=self._key(account_id, sk))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not release parked event {sk}") from exc

    # --- plumbing ----------------------------------------------------------------------------

    def _key(self, account_id: str, sk: str) -> dict[str, Any]:
        return {"pk": to_attr(account_pk(account_id)), "sk": to_attr(sk)}

    def _claim(
        self,
        key: dict[str, Any],
        values: dict[str, Any],
        condition: str,
        condition_values: dict[str, Any],
        *,
        older: Any,
    ) -> Claim:
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=key,
                ReturnValues="ALL_OLD",
                **update_arguments(values, condition=condition, condition_values=condition_values),
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise StorageError("could not claim a sync record") from exc
            current = self._get(key) or {}
            return Claim("older" if older(current) else "busy", current)
        except BotoCoreError as exc:
            raise StorageError("could not claim a sync record") from exc
        old = from_item(answer.get("Attributes", {}))
        # An expired claim: an earlier attempt stopped somewhere after claiming, maybe after Xero
        # had already committed what it sent.
        uncertain = "pending_until" in old
        return Claim("claimed", {**old, **values}, uncertain=uncertain)

    def _record_unclaimed(
        self, key: dict[str, Any], values: dict[str, Any], condition: str, condition_values: dict[str, Any]
    ) -> None:
        try:
            self._update(key, values, condition=condition, condition_values=condition_values)
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise StorageError("could not store a sync record") from exc

    def _expire(self, key: dict[str, Any], version: int) -> None:
        try:
            self._update(
                key,
                {"pending_until": 0},
                condition="#pending_version = :claimed",
                condition_values={":claimed": version},
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise StorageError("could not release a sync record") from exc

    def _finish(self, key: dict[str, Any], values: dict[str, Any], version: int, *, clear_failure: bool = True) -> bool:
        removed = ["pending_version", "pending_until", *(CLEARED_FAILURE if clear_failure else ())]
        if clear_failure:
            removed.append("failed_version")
        try:
            self._update(
                key,
                values,
                removed=removed,
                condition="#pending_version = :claimed",
                condition_values={":claimed": version},
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                # Not ours (any more): the claim expired and another invocation took over.
                return False
            raise StorageError("could not store a sync record") from exc
        return True

    def _update(
        self,
        key: dict[str, Any],
        values: dict[str, Any],
        *,
        removed: list[str] | tuple[str, ...] = (),
        condition: str | None = None,
        condition_values: dict[str, Any] | None = None,
        increments: dict[str, int] | None = None,
    ) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=key,
                **update_arguments(
                    values,
                    removed=removed,
                    condition=condition,
                    condition_values=condition_values,
                    increments=increments,
                ),
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                raise
            raise StorageError("could not store a sync record") from exc
        except BotoCoreError as exc:
            raise StorageError("could not store a sync record") from exc

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        try:
            answer = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not read a sync record") from exc
        item = answer.get("Item")
        return from_item(item) if item else None

    def _batch_get(self, account_id: str, sort_keys: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(sort_keys))
        try:
            for start in range(0, len(unique), 100):
                keys: list[Any] = [self._key(account_id, sk) for sk in unique[start : start + 100]]
                request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
                while request:
                    answer = self._client.batch_get_item(RequestItems=request)
                    found.extend(from_item(item) for item in answer.get("Responses", {}).get(self._table, []))
                    request = dict(answer.get("UnprocessedKeys") or {})
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not read the sync records of account {account_id}") from exc
        return found
