"""A platform account's connection to Xero, as stored (tokens only ever as KMS ciphertext)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class ConnectionStatus(StrEnum):
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"
    DISCONNECTED = "disconnected"


class Tenant(BaseModel):
    """An organisation granted at consent."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    tenant_name: str = ""
    tenant_type: str = "ORGANISATION"
    connection_id: str = Field(description="Xero's id of this tenant connection, for DELETE /connections")


class Connection(BaseModel):
    model_config = ConfigDict(frozen=True)

    account_id: str
    status: ConnectionStatus
    status_reason: str | None = None
    status_changed_at: datetime | None = None
    tenants: tuple[Tenant, ...] = ()
    tenant_id: str | None = Field(default=None, description="The organisation chosen for this account")
    scopes: tuple[str, ...] = ()
    connected_at: datetime
    connected_email: str | None = Field(default=None, description="Xero user who consented (id_token)")
    xero_user_id: str | None = None
    last_activity_at: datetime
    token_version: int = 0
    access_expires_at: int = 0
    access_token_ct: bytes = Field(default=b"", repr=False)
    refresh_token_ct: bytes = Field(default=b"", repr=False)
    refresh_lock_owner: str | None = None
    refresh_lock_until: int | None = None
    refresh_unanswered_at: int | None = Field(
        default=None,
        description="When a refresh got no answer from Xero; the old refresh token stays valid 30 minutes",
    )
    sweep_stage: str | None = Field(default=None, description="The inactivity sweep's next action: warn, disconnect")
    sweep_due_on: date | None = Field(default=None, description="When the sweep's next action is due (UTC day)")

    @property
    def tenant(self) -> Tenant | None:
        return next((t for t in self.tenants if t.tenant_id == self.tenant_id), None)

    def lock_free(self, now: int) -> bool:
        return self.refresh_lock_until is None or self.refresh_lock_until <= now


def utc_now() -> datetime:
    return datetime.now(UTC)


def day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()
