"""The sync-status events the service sends the platform on its EventBridge bus: the one definition.

Each event is an EventBridge event with ``source`` ``xero-invoice-sync``, ``detail-type`` the event's
type and ``detail`` one of the models below. Every detail carries ``schema_version``, ``account_id``
and ``occurred_at``; none ever carries a token, a code or a secret (the models forbid any other
field). ``python -m shared.models.status_events`` writes their JSON Schemas to ``events/schema/status/``.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SOURCE = "xero-invoice-sync"


class _Detail(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    account_id: str = Field(description="The platform account")
    occurred_at: datetime = Field(description="When it happened, ISO 8601 UTC")


class InvoiceSynced(_Detail):
    """An invoice version reached Xero (created, updated, voided or deleted there)."""

    type: Literal["invoice.synced"] = "invoice.synced"
    invoice_id: str = Field(description="The platform's id of the invoice")
    number: str | None = None
    version: int = Field(description="The version Xero now holds")
    tenant_id: str | None = Field(default=None, description="The Xero organisation")
    xero_invoice_id: str | None = None
    xero_status: str | None = Field(default=None, description="DRAFT, AUTHORISED, PAID, VOIDED, DELETED")
    total: Decimal | None = Field(default=None, description="As Xero booked it, exact (a decimal string)")
    amount_due: Decimal | None = Field(default=None, description="As Xero has it, exact (a decimal string)")


class InvoiceSyncFailed(_Detail):
    """An invoice version could not be sent and will not be retried by itself; the owner was emailed."""

    type: Literal["invoice.sync_failed"] = "invoice.sync_failed"
    invoice_id: str
    number: str | None = None
    version: int | None = None
    code: str = Field(description="Stable failure code, e.g. unmapped_tax, xero_validation")
    message: str
    fix: str = Field(default="", description="What the owner can do about it")
    xero_messages: list[str] = Field(default_factory=list, description="Xero's own validation messages")


class ConnectionNeedsReconnect(_Detail):
    """Xero no longer accepts the connection (the grant was revoked or expired): the owner must reconnect."""

    type: Literal["connection.needs_reconnect"] = "connection.needs_reconnect"
    reason: str


class ConnectionDisconnected(_Detail):
    """The account's Xero connection was ended: by its owner, or by the inactivity sweep."""

    type: Literal["connection.disconnected"] = "connection.disconnected"
    reason: str
    revoked_at_xero: bool = Field(description="False when Xero could not confirm the revocation")


StatusEvent = InvoiceSynced | InvoiceSyncFailed | ConnectionNeedsReconnect | ConnectionDisconnected
STATUS_EVENT_TYPES: dict[str, type[_Detail]] = {
    "invoice.synced": InvoiceSynced,
    "invoice.sync_failed": InvoiceSyncFailed,
    "connection.needs_reconnect": ConnectionNeedsReconnect,
    "connection.disconnected": ConnectionDisconnected,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    schemas = {}
    for name, model in STATUS_EVENT_TYPES.items():
        schema = model.model_json_schema(mode="serialization")
        schema["description"] = (
            f"The detail of EventBridge events with source {SOURCE!r} and detail-type {name!r}. "
            + str(schema.get("description", ""))
        ).strip()
        schemas[name] = schema
    return schemas


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in json_schemas().items():
        path = folder / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def main() -> int:
    default = Path(__file__).resolve().parents[2] / "events" / "schema" / "status"
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    for path in write_schemas(target):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
