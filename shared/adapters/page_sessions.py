"""Settings-page sessions, stored server-side; the browser's cookie holds only an opaque random id.

| item                       | pk                              | sk              |
| -------------------------- | ------------------------------- | --------------- |
| settings-page session      | ``PAGESESSION#<sha256 of id>``  | ``PAGESESSION`` |
| settings link, once used   | ``SETTINGSLINK#<sha256 of sig>``| ``SETTINGSLINK``|

Only a hash of the session id is stored, so reading the table gives no usable session. Each session
is bound to one account for its life and carries its CSRF token, its absolute expiry and when it was
last used (for the idle expiry); DynamoDB's TTL removes it after the absolute expiry. A settings link
opens one session only: its signature is recorded, conditionally, until the link expires.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from shared.adapters.dynamo import from_item, is_conditional_failure, to_attr, to_item
from shared.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

SESSION_SK = "PAGESESSION"
LINK_SK = "SETTINGSLINK"


class PageSession(BaseModel):
    model_config = ConfigDict(frozen=True)

    session_hash: str = Field(repr=False)
    account_id: str
    csrf_token: str = Field(repr=False)
    created_at: int
    last_seen_at: int
    expires_at: int = Field(description="Absolute expiry, Unix time")


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class PageSessionStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def use_link(self, signature: str, expires_at: int) -> bool:
        """Record a settings link as used; False when it was used before."""
        item = {"pk": f"SETTINGSLINK#{digest(signature.lower())}", "sk": LINK_SK, "ttl": expires_at + 60}
        try:
            self._client.put_item(
                TableName=self._table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise StorageError("could not record the settings link") from exc
        except BotoCoreError as exc:
            raise StorageError("could not record the settings link") from exc
        return True

    def create(self, session_id: str, session: PageSession) -> None:
        item = {
            "pk": f"PAGESESSION#{digest(session_id)}",
            "sk": SESSION_SK,
            **session.model_dump(exclude={"session_hash"}),
            "ttl": session.expires_at,
        }
        try:
            self._client.put_item(
                TableName=self._table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)"
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not store the settings session") from exc

    def get(self, session_id: str) -> PageSession | None:
        hashed = digest(session_id)
        try:
            answer = self._client.get_item(TableName=self._table, Key=self._key(hashed), ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not read the settings session") from exc
        item = answer.get("Item")
        if not item:
            return None
        return PageSession.model_validate({**from_item(item), "session_hash": hashed})

    def touch(self, session: PageSession, now: int) -> None:
        """Note that the session was used now (it stays alive for another idle period)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(session.session_hash),
                UpdateExpression="SET last_seen_at = :now",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":now": to_attr(now)},
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):  # ended meanwhile: nothing to keep alive
                raise StorageError("could not update the settings session") from exc
        except BotoCoreError as exc:
            raise StorageError("could not update the settings session") from exc

    def end(self, session: PageSession) -> None:
        try:
            self._client.delete_item(TableName=self._table, Key=self._key(session.session_hash))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not end the settings session") from exc

    @staticmethod
    def _key(hashed: str) -> dict[str, AttributeValueTypeDef]:
        return {"pk": to_attr(f"PAGESESSION#{hashed}"), "sk": to_attr(SESSION_SK)}
