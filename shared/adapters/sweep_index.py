"""The sweep's reads and writes: the sparse ``SweepIndex`` and the conditional stage transitions.

Two kinds of item carry ``sweep_pk``/``sweep_due_on`` and so sit in the index:

| item                   | pk                  | sk                  | ``sweep_stage``              |
| ---------------------- | ------------------- | ------------------- | ---------------------------- |
| connection (connected) | ``ACCOUNT#<id>``    | ``CONNECTION``      | ``warn``, then ``disconnect`` |
| disconnect in progress | ``ACCOUNT#<id>``    | ``SWEEP#DISCONNECT`` | ``disconnecting``            |

The second is written (under a lease) before a connection is disconnected: disconnecting takes the
connection out of the index, and this item keeps the unfinished work (the owner's email) findable
until it is done, whatever crashes in between.

One day's work is one Query (``sweep_pk = SWEEP AND sweep_due_on <= today``), paged; items due later
are never read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.connections import CONNECTION_SK, SWEEP_PK
from shared.adapters.dynamo import account_pk, from_item, is_conditional_failure, to_attr
from shared.errors import StorageError
from shared.models.connection import ConnectionStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SWEEP_INDEX = "SweepIndex"
DISCONNECT_SK = "SWEEP#DISCONNECT"
WARN = "warn"
DISCONNECT = "disconnect"
DISCONNECTING = "disconnecting"


@dataclass(frozen=True)
class DueEntry:
    account_id: str
    stage: str
    due_on: date


@dataclass(frozen=True)
class DuePage:
    entries: list[DueEntry]
    items_read: int  # what DynamoDB read for this page (ScannedCount)


@dataclass(frozen=True)
class DisconnectClaim:
    account_id: str
    owner: str
    due_on: date
    revoked_at_xero: bool | None  # recorded by an earlier attempt that disconnected, if any


class SweepIndex:
    def __init__(self, client: DynamoDBClient, table_name: str, *, page_size: int = 100) -> None:
        self._client = client
        self._table = table_name
        self._page_size = page_size

    def due(self, today: date) -> Iterator[DuePage]:
        """Every index entry due on or before ``today``, a page at a time."""
        start: dict[str, Any] | None = None
        while True:
            args: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": SWEEP_INDEX,
                "KeyConditionExpression": "sweep_pk = :sweep AND sweep_due_on <= :today",
                "ExpressionAttributeValues": {":sweep": to_attr(SWEEP_PK), ":today": to_attr(today.isoformat())},
                "Limit": self._page_size,
            }
            if start:
                args["ExclusiveStartKey"] = start
            try:
                answer = self._client.query(**args)
            except (ClientError, BotoCoreError) as exc:
                raise StorageError("could not read the sweep index") from exc
            entries = [_entry(from_item(item)) for item in answer.get("Items", [])]
            yield DuePage([e for e in entries if e is not None], int(answer.get("ScannedCount", len(entries))))
            start = answer.get("LastEvaluatedKey")
            if not start:
                return

    def move_to_disconnect(self, account_id: str, *, seen_due: date, disconnect_on: date) -> bool:
        """Warned: the connection's next action is the disconnect. Only if nothing moved it meanwhile."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(account_id, CONNECTION_SK),
                UpdateExpression="SET sweep_stage = :disconnect, sweep_due_on = :on",
                ConditionExpression=(
                    "#status = :connected AND sweep_stage = :warn AND sweep_due_on = :seen AND sweep_pk = :sweep"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":disconnect": to_attr(DISCONNECT),
                    ":on": to_attr(disconnect_on.isoformat()),
                    ":connected": to_attr(ConnectionStatus.CONNECTED.value),
                    ":warn": to_attr(WARN),
                    ":seen": to_attr(seen_due.isoformat()),
                    ":sweep": to_attr(SWEEP_PK),
                },
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise StorageError(f"could not move account {account_id} to the disconnect stage") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not move account {account_id} to the disconnect stage") from exc
        return True

    def claim_disconnect(
        self, account_id: str, *, due_on: date, now: datetime, lease_seconds: int, existing_only: bool = False
    ) -> DisconnectClaim | None:
        """Start (or take over a lapsed) disconnect of ``account_id``; None while another sweep holds it.

        ``existing_only`` takes over an unfinished one and never starts a new one.
        """
        owner = uuid.uuid4().hex
        moment = int(now.timestamp())
        condition = "attribute_exists(pk) AND claimed_until < :now"
        if not existing_only:
            condition = f"attribute_not_exists(pk) OR ({condition})"
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=self._key(account_id, DISCONNECT_SK),
                UpdateExpression=(
                    "SET sweep_pk = :sweep, sweep_due_on = if_not_exists(sweep_due_on, :due), "
                    "sweep_stage = :disconnecting, account_id = :account, claim_owner = :owner, "
                    "claimed_until = :until"
                ),
                ConditionExpression=condition,
                ExpressionAttributeValues={
                    ":sweep": to_attr(SWEEP_PK),
                    ":due": to_attr(due_on.isoformat()),
                    ":disconnecting": to_attr(DISCONNECTING),
                    ":account": to_attr(account_id),
                    ":owner": to_attr(owner),
                    ":until": to_attr(moment + lease_seconds),
                    ":now": to_attr(moment),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return None
            raise StorageError(f"could not claim the disconnect of account {account_id}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not claim the disconnect of account {account_id}") from exc
        item = from_item(answer["Attributes"])
        revoked = item.get("revoked_at_xero")
        return DisconnectClaim(
            account_id, owner, date.fromisoformat(item["sweep_due_on"]), bool(revoked) if revoked is not None else None
        )

    def record_disconnected(self, claim: DisconnectClaim, *, revoked_at_xero: bool) -> None:
        self._owned_update(claim, "SET revoked_at_xero = :revoked", {":revoked": to_attr(revoked_at_xero)})

    def release(self, claim: DisconnectClaim) -> None:
        """Let the next run take over at once (a failure here, not a crash)."""
        self._owned_update(claim, "SET claimed_until = :zero", {":zero": to_attr(0)})

    def finish(self, claim: DisconnectClaim) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=self._key(claim.account_id, DISCONNECT_SK),
                ConditionExpression="claim_owner = :owner",
                ExpressionAttributeValues={":owner": to_attr(claim.owner)},
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise StorageError(f"could not finish the disconnect of account {claim.account_id}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not finish the disconnect of account {claim.account_id}") from exc

    def _owned_update(self, claim: DisconnectClaim, expression: str, values: dict[str, Any]) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(claim.account_id, DISCONNECT_SK),
                UpdateExpression=expression,
                ConditionExpression="claim_owner = :owner",
                ExpressionAttributeValues={":owner": to_attr(claim.owner), **values},
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise StorageError(f"could not update the disconnect of account {claim.account_id}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not update the disconnect of account {claim.account_id}") from exc

    def _key(self, account_id: str, sk: str) -> dict[str, Any]:
        return {"pk": to_attr(account_pk(account_id)), "sk": to_attr(sk)}


def _entry(item: dict[str, Any]) -> DueEntry | None:
    account_id, stage, due = item.get("account_id"), item.get("sweep_stage"), item.get("sweep_due_on")
    if not (account_id and stage and due):
        return None
    return DueEntry(str(account_id), str(stage), date.fromisoformat(str(due)))
