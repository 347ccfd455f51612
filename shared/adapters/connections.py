"""Connections in DynamoDB: conditional writes keep concurrent invocations from trampling each other."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.dynamo import account_pk, from_item, is_conditional_failure, to_attr, update_arguments
from shared.errors import StorageError
from shared.models.connection import Connection, ConnectionStatus, Tenant, day

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CONNECTION_SK = "CONNECTION"
SWEEP_PK = "SWEEP"


@dataclass(frozen=True)
class InactivityPolicy:
    """When an idle connection is warned and then disconnected (days after its last activity)."""

    inactivity_days: int = 60
    warning_days: int = 7

    def warn_on(self, last_active: datetime) -> str:
        return (day(last_active) + timedelta(days=self.inactivity_days - self.warning_days)).isoformat()

    def disconnect_on(self, last_active: datetime) -> str:
        return (day(last_active) + timedelta(days=self.inactivity_days)).isoformat()


@dataclass(frozen=True)
class EncryptedTokens:
    access_token_ct: bytes
    refresh_token_ct: bytes
    access_expires_at: int


class ConnectionRepository:
    def __init__(self, client: DynamoDBClient, table_name: str, policy: InactivityPolicy) -> None:
        self._client = client
        self._table = table_name
        self.policy = policy

    def _key(self, account_id: str) -> dict[str, Any]:
        return {"pk": to_attr(account_pk(account_id)), "sk": to_attr(CONNECTION_SK)}

    def get(self, account_id: str) -> Connection | None:
        try:
            answer = self._client.get_item(TableName=self._table, Key=self._key(account_id), ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not read the connection of account {account_id}") from exc
        item = answer.get("Item")
        return _connection(item) if item else None

    def organisations_of(self, account_ids: list[str]) -> dict[str, tuple[str | None, str]]:
        """For each account that ever connected: the organisation it syncs to (None: none chosen) and
        the connection's status."""
        found: dict[str, tuple[str | None, str]] = {}
        unique = list(dict.fromkeys(account_ids))
        try:
            for start in range(0, len(unique), 100):
                request: dict[str, Any] = {
                    self._table: {
                        "Keys": [self._key(a) for a in unique[start : start + 100]],
                        "ProjectionExpression": "account_id, tenant_id, #status",
                        "ExpressionAttributeNames": {"#status": "status"},
                        # Strongly consistent: an event read as "never connected" just after its account
                        # connected would be parked after the connection released the parked ones.
                        "ConsistentRead": True,
                    }
                }
                while request:
                    answer = self._client.batch_get_item(RequestItems=request)
                    for item in answer.get("Responses", {}).get(self._table, []):
                        values = from_item(item)
                        found[str(values["account_id"])] = (values.get("tenant_id"), str(values.get("status", "")))
                    request = dict(answer.get("UnprocessedKeys") or {})
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not read which organisations the accounts sync to") from exc
        return found

    def save_grant(
        self,
        account_id: str,
        *,
        tokens: EncryptedTokens,
        tenants: list[Tenant],
        scopes: tuple[str, ...],
        email: str | None,
        xero_user_id: str | None,
        now: datetime,
    ) -> Connection:
        """Store a (re)connection. Tokens and tenants are replaced; settings and the chosen
        organisation survive when that organisation is still granted."""
        for _ in range(3):
            existing = self.get(account_id)
            chosen = existing.tenant_id if existing else None
            granted = {t.tenant_id for t in tenants}
            if chosen not in granted:
                chosen = tenants[0].tenant_id if len(tenants) == 1 else None
            values: dict[str, Any] = {
                "account_id": account_id,
                "status": ConnectionStatus.CONNECTED.value,
                "status_changed_at": now.isoformat(),
                "tenants": [t.model_dump() for t in tenants],
                "scopes": list(scopes),
                "connected_at": now.isoformat(),
                "connected_email": email,
                "xero_user_id": xero_user_id,
                "access_token_ct": tokens.access_token_ct,
                "refresh_token_ct": tokens.refresh_token_ct,
                "access_expires_at": tokens.access_expires_at,
                "token_version": (existing.token_version if existing else 0) + 1,
                "tenant_id": chosen,
                **self._activity_values(now),
            }
            removed = ["status_reason", "refresh_lock_owner", "refresh_lock_until", "refresh_unanswered_at"]
            condition, cond_values = (
                ("token_version = :seen", {":seen": existing.token_version})
                if existing
                else ("attribute_not_exists(pk)", {})
            )
            try:
                return self._update(account_id, values, removed, condition, cond_values)
            except ClientError as exc:
                if not is_conditional_failure(exc):
                    raise StorageError(f"could not store the connection of account {account_id}") from exc
        raise StorageError(f"the connection of account {account_id} kept changing while it was stored")

    def try_lock_refresh(self, account_id: str, *, owner: str, now: int, seconds: int, version: int) -> bool:
        """Take the refresh lock if it is free and the tokens are still at ``version``."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(account_id),
                UpdateExpression="SET refresh_lock_owner = :owner, refresh_lock_until = :until",
                ConditionExpression=(
                    "#status = :connected AND token_version = :version AND "
                    "(attribute_not_exists(refresh_lock_until) OR refresh_lock_until <= :now)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":owner": to_attr(owner),
                    ":until": to_attr(now + seconds),
                    ":now": to_attr(now),
                    ":version": to_attr(version),
                    ":connected": to_attr(ConnectionStatus.CONNECTED.value),
                },
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise StorageError(f"could not lock the tokens of account {account_id}") from exc
        return True

    def store_refreshed(self, account_id: str, *, owner: str, tokens: EncryptedTokens, version: int) -> Connection:
        """Store rotated tokens and release the lock: if this caller still holds it, or if nobody has
        stored newer tokens since ``version`` (the lock ran out during a slow refresh, yet these are
        the tokens Xero rotated to last, and losing them would lose the connection)."""
        values = {
            "access_token_ct": tokens.access_token_ct,
            "refresh_token_ct": tokens.refresh_token_ct,
            "access_expires_at": tokens.access_expires_at,
        }
        try:
            return self._update(
                account_id,
                values,
                ["refresh_lock_owner", "refresh_lock_until", "refresh_unanswered_at"],
                "refresh_lock_owner = :owner OR token_version = :version",
                {":owner": owner, ":version": version},
                increment_version=True,
            )
        except ClientError as exc:
            raise StorageError(f"could not store the refreshed tokens of account {account_id}") from exc

    def release_lock(self, account_id: str, *, owner: str, unanswered_at: int | None = None) -> None:
        values = {"refresh_unanswered_at": unanswered_at} if unanswered_at is not None else {}
        try:
            self._update(
                account_id,
                values,
                ["refresh_lock_owner", "refresh_lock_until"],
                "refresh_lock_owner = :owner",
                {":owner": owner},
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise StorageError(f"could not unlock the tokens of account {account_id}") from exc

    def mark_status(
        self,
        account_id: str,
        status: ConnectionStatus,
        *,
        reason: str,
        now: datetime,
        owner: str | None = None,
    ) -> Connection | None:
        """Move a connection out of ``connected`` (it then leaves the sweep index)."""
        condition = "attribute_exists(pk)"
        cond_values: dict[str, Any] = {}
        if owner is not None:
            condition += " AND refresh_lock_owner = :owner"
            cond_values[":owner"] = owner
        values = {"status": status.value, "status_reason": reason, "status_changed_at": now.isoformat()}
        try:
            return self._update(
                account_id,
                values,
                ["refresh_lock_owner", "refresh_lock_until", "sweep_pk", "sweep_due_on", "sweep_stage"],
                condition,
                cond_values,
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return None
            raise StorageError(f"could not update the connection of account {account_id}") from exc

    def record_activity(self, account_id: str, now: datetime) -> bool:
        """Note activity at most once a day per connection; pushes the sweep's next date forward."""
        today = day(now).isoformat()
        try:
            self._update(
                account_id,
                self._activity_values(now),
                [],
                "#status = :connected AND (attribute_not_exists(last_active_on) OR last_active_on < :today)",
                {":connected": ConnectionStatus.CONNECTED.value, ":today": today},
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise StorageError(f"could not record activity for account {account_id}") from exc
        return True

    def _activity_values(self, now: datetime) -> dict[str, Any]:
        return {
            "last_activity_at": now.isoformat(),
            "last_active_on": day(now).isoformat(),
            "sweep_pk": SWEEP_PK,
            "sweep_due_on": self.policy.warn_on(now),
            "sweep_stage": "warn",
        }

    def _update(
        self,
        account_id: str,
        values: dict[str, Any],
        removed: list[str],
        condition: str,
        cond_values: dict[str, Any],
        *,
        increment_version: bool = False,
    ) -> Connection:
        answer = self._client.update_item(
            TableName=self._table,
            Key=self._key(account_id),
            ReturnValues="ALL_NEW",
            **update_arguments(
                values,
                removed=removed,
                condition=condition,
                condition_values=cond_values,
                increments={"token_version": 1} if increment_version else None,
            ),
        )
        return _connection(answer["Attributes"])


def _connection(item: dict[str, Any]) -> Connection:
    return Connection.model_validate(from_item(item))
