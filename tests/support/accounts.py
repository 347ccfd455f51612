"""Accounts for the alert and sweep tests: really connected through the sandbox, or seeded in bulk."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import boto3

from local.xero_sandbox import SandboxServer
from local.xero_sandbox.seed import NZ_TENANT
from shared.adapters.connections import SWEEP_PK, InactivityPolicy
from shared.adapters.dynamo import account_pk, to_item
from shared.models.connection import day
from tests.support import flows


def owner_email(account_id: str) -> str:
    return f"owner-{account_id}@example.com"


def connect(env: dict[str, Any], sandbox: SandboxServer, account_id: str) -> str:
    """Consent as a Xero user of the account's own (so each account has its own grant); their email."""
    state = sandbox.sandbox.state
    user = state.add_user(owner_email(account_id))
    state.consent.user_id = user.user_id
    state.consent.tenant_ids = [NZ_TENANT]
    result = flows.connect_account(env, account_id)
    assert result.callback is not None
    assert result.callback["statusCode"] == 200, result.callback.get("body")
    return user.email


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def backdate(table: str, account_id: str, last_active: datetime, policy: InactivityPolicy | None = None) -> None:
    """As if the account's last activity was at ``last_active`` (and the sweep never ran since)."""
    policy = policy or InactivityPolicy()
    boto3.client("dynamodb").update_item(
        TableName=table,
        Key={"pk": {"S": account_pk(account_id)}, "sk": {"S": "CONNECTION"}},
        UpdateExpression=(
            "SET last_activity_at = :at, last_active_on = :on, sweep_pk = :sweep, sweep_due_on = :due, "
            "sweep_stage = :warn"
        ),
        ExpressionAttributeValues={
            ":at": {"S": last_active.isoformat()},
            ":on": {"S": day(last_active).isoformat()},
            ":sweep": {"S": SWEEP_PK},
            ":due": {"S": policy.warn_on(last_active)},
            ":warn": {"S": "warn"},
        },
    )


def seed_connections(table: str, accounts: dict[str, datetime], policy: InactivityPolicy | None = None) -> None:
    """Write connected accounts straight into the table (BatchWriteItem), last active as given."""
    policy = policy or InactivityPolicy()
    client = boto3.client("dynamodb")
    items = [
        to_item(
            {
                "pk": account_pk(account_id),
                "sk": "CONNECTION",
                "account_id": account_id,
                "status": "connected",
                "connected_at": last_active.isoformat(),
                "connected_email": owner_email(account_id),
                "last_activity_at": last_active.isoformat(),
                "last_active_on": day(last_active).isoformat(),
                "sweep_pk": SWEEP_PK,
                "sweep_due_on": policy.warn_on(last_active),
                "sweep_stage": "warn",
            }
        )
        for account_id, last_active in accounts.items()
    ]
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        answer = client.batch_write_item(RequestItems={table: batch})  # type: ignore[dict-item]
        assert not answer.get("UnprocessedItems"), "moto does not throttle"
