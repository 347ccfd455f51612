"""Alert dedupe records: ``ACCOUNT#<id>`` / ``ALERT#<kind>#<key>``, with a TTL of a few days.

Sending is claim → send → complete. The claim is a conditional write that only one caller wins
(so two invocations, or a re-run, never send the same alert twice); a failed send deletes the claim
so the retry can send; a caller that dies between claim and completion leaves a claim that expires
after ``lease_seconds`` and the next attempt sends then (an alert is late, never lost).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.dynamo import account_pk, is_conditional_failure, to_attr
from shared.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

SENDING = "sending"
SENT = "sent"


def alert_sk(kind: str, key: str) -> str:
    return f"ALERT#{kind}#{key}"


class AlertRecords:
    def __init__(self, client: DynamoDBClient, table_name: str, *, ttl_days: int = 7, lease_seconds: int = 300) -> None:
        self._client = client
        self._table = table_name
        self._ttl = timedelta(days=ttl_days)
        self._lease = lease_seconds

    def claim(self, account_id: str, kind: str, key: str, now: datetime) -> str | None:
        """A claim token when this caller may send the alert now; None when it was sent or is being sent."""
        owner = uuid.uuid4().hex
        moment = int(now.timestamp())
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(account_id, kind, key),
                UpdateExpression=(
                    "SET #state = :sending, claim_owner = :owner, claimed_until = :until, kind = :kind, "
                    "account_id = :account, #ttl = :ttl"
                ),
                ConditionExpression="attribute_not_exists(pk) OR (#state = :sending AND claimed_until < :now)",
                ExpressionAttributeNames={"#state": "state", "#ttl": "ttl"},
                ExpressionAttributeValues={
                    ":sending": to_attr(SENDING),
                    ":owner": to_attr(owner),
                    ":until": to_attr(moment + self._lease),
                    ":now": to_attr(moment),
                    ":kind": to_attr(kind),
                    ":account": to_attr(account_id),
                    ":ttl": to_attr(int((now + self._ttl).timestamp())),
                },
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return None
            raise StorageError(f"could not claim the {kind} alert of account {account_id}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not claim the {kind} alert of account {account_id}") from exc
        return owner

    def complete(self, account_id: str, kind: str, key: str, owner: str, *, message_id: str, now: datetime) -> bool:
        """Mark the alert sent; False if this caller's claim had lapsed meanwhile (it was sent all the same)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(account_id, kind, key),
                UpdateExpression="SET #state = :sent, sent_at = :at, message_id = :id REMOVE claimed_until",
                ConditionExpression="claim_owner = :owner",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":sent": to_attr(SENT),
                    ":at": to_attr(now.isoformat()),
                    ":id": to_attr(message_id),
                    ":owner": to_attr(owner),
                },
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise StorageError(f"could not record the {kind} alert of account {account_id}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not record the {kind} alert of account {account_id}") from exc
        return True

    def release(self, account_id: str, kind: str, key: str, owner: str) -> None:
        """Give the claim up after a failed send, so the retry is not blocked by it."""
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=self._key(account_id, kind, key),
                ConditionExpression="claim_owner = :owner AND #state = :sending",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":owner": to_attr(owner), ":sending": to_attr(SENDING)},
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise StorageError(f"could not release the {kind} alert of account {account_id}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not release the {kind} alert of account {account_id}") from exc

    def _key(self, account_id: str, kind: str, key: str) -> dict[str, AttributeValueTypeDef]:
        return {"pk": to_attr(account_pk(account_id)), "sk": to_attr(alert_sk(kind, key))}
