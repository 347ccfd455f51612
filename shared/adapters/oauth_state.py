"""Single-use OAuth ``state`` records, kept for ten minutes (DynamoDB TTL plus an explicit expiry check).

Only a hash of the state is stored, so someone reading the table cannot complete another user's
consent; the PKCE verifier lives here for the same ten minutes.
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

STATE_SK = "OAUTHSTATE"


class PendingConsent(BaseModel):
    model_config = ConfigDict(frozen=True)

    account_id: str
    code_verifier: str = Field(repr=False)
    browser_binding: str = Field(repr=False, description="sha256 of the cookie set on the browser at connect")
    redirect_uri: str
    expires_at: int


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class OAuthStateStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    @staticmethod
    def _key(state: str) -> dict[str, object]:
        return {"pk": to_attr(f"OAUTHSTATE#{digest(state)}"), "sk": to_attr(STATE_SK)}

    def put(self, state: str, pending: PendingConsent) -> None:
        item = {
            "pk": f"OAUTHSTATE#{digest(state)}",
            "sk": STATE_SK,
            **pending.model_dump(),
            "ttl": pending.expires_at,
        }
        try:
            self._client.put_item(
                TableName=self._table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)"
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not store the OAuth state") from exc

    def consume(self, state: str) -> PendingConsent | None:
        """Delete and return the record: of two callbacks with one state, exactly one gets it."""
        try:
            answer = self._client.delete_item(
                TableName=self._table,
                Key=self._key(state),  # type: ignore[arg-type]
                ConditionExpression="attribute_exists(pk)",
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return None
            raise StorageError("could not read the OAuth state") from exc
        except BotoCoreError as exc:
            raise StorageError("could not read the OAuth state") from exc
        attributes = from_item(answer.get("Attributes", {}))
        return PendingConsent.model_validate(attributes)
