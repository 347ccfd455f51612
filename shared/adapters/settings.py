"""Account settings in DynamoDB (``ACCOUNT#<id>`` / ``SETTINGS``), one item, optimistic locking."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.dynamo import account_pk, from_item, is_conditional_failure, to_attr, to_item
from shared.errors import StorageError, SyncError
from shared.models.settings import AccountSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SETTINGS_SK = "SETTINGS"


class SettingsConflict(SyncError):
    """Someone else changed the settings since they were read; read again and retry."""

    code = "settings_conflict"
    retryable = True


class SettingsRepository:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, account_id: str) -> AccountSettings:
        """The account's settings; an account that never saved any gets the empty defaults."""
        try:
            answer = self._client.get_item(
                TableName=self._table,
                Key={"pk": to_attr(account_pk(account_id)), "sk": to_attr(SETTINGS_SK)},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not read the settings of account {account_id}") from exc
        item = answer.get("Item")
        if not item:
            return AccountSettings(account_id=account_id)
        return AccountSettings.model_validate(from_item(item))

    def save(self, settings: AccountSettings, *, now: datetime) -> AccountSettings:
        """Write ``settings`` if nobody wrote since it was read (its ``version``); returns what was stored."""
        stored = settings.model_copy(update={"version": settings.version + 1, "updated_at": now})
        values: dict[str, Any] = stored.model_dump(mode="json")
        item = to_item({"pk": account_pk(settings.account_id), "sk": SETTINGS_SK, **values})
        condition = "attribute_not_exists(pk)" if settings.version == 0 else "version = :seen"
        extra: dict[str, Any] = (
            {} if settings.version == 0 else {"ExpressionAttributeValues": {":seen": to_attr(settings.version)}}
        )
        try:
            self._client.put_item(TableName=self._table, Item=item, ConditionExpression=condition, **extra)
        except ClientError as exc:
            if is_conditional_failure(exc):
                raise SettingsConflict(f"the settings of account {settings.account_id} changed meanwhile") from None
            raise StorageError(f"could not store the settings of account {settings.account_id}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not store the settings of account {settings.account_id}") from exc
        return stored

    def save_choosing_tenant(self, settings: AccountSettings, tenant_id: str, *, now: datetime) -> AccountSettings:
        """Store ``settings`` and make ``tenant_id`` the connection's chosen organisation, both or neither.

        The connection must still be connected; the settings must not have changed since read.
        """
        from shared.errors import ConnectionUnavailable  # noqa: PLC0415 - keeps the module's imports as they were

        stored = settings.model_copy(update={"version": settings.version + 1, "updated_at": now})
        item = to_item({"pk": account_pk(settings.account_id), "sk": SETTINGS_SK, **stored.model_dump(mode="json")})
        put: dict[str, Any] = {"TableName": self._table, "Item": item}
        if settings.version == 0:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :seen"
            put["ExpressionAttributeValues"] = {":seen": to_attr(settings.version)}
        choose = {
            "TableName": self._table,
            "Key": {"pk": to_attr(account_pk(settings.account_id)), "sk": to_attr("CONNECTION")},
            "UpdateExpression": "SET tenant_id = :tenant",
            "ConditionExpression": "#status = :connected",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":tenant": to_attr(tenant_id), ":connected": to_attr("connected")},
        }
        try:
            items: list[Any] = [{"Update": choose}, {"Put": put}]
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise StorageError(f"could not store the organisation of account {settings.account_id}") from exc
            cancelled: list[dict[str, Any]] = exc.response.get("CancellationReasons", [])  # type: ignore[assignment]
            reasons = [r.get("Code") for r in cancelled]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise ConnectionUnavailable(
                    "Xero is no longer connected for this account.", status="not_connected"
                ) from None
            raise SettingsConflict(f"the settings of account {settings.account_id} changed meanwhile") from None
        except BotoCoreError as exc:
            raise StorageError(f"could not store the organisation of account {settings.account_id}") from exc
        return stored
