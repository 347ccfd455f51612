"""Routes of the credit notes' sync records: what Xero holds of a credit note (its status, what of it
is allocated to each invoice and refunded), or why it could not be synced. A credit note is sent
again by publishing it again (``credit_note.upserted``; the version checks make a copy harmless).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from shared import wiring
from shared.api.errors import responses
from shared.api.paths import catch_all, id_in_path
from shared.api.sync import AccountId, SyncFailureView, failure_view
from shared.errors import RequestRefused, UnknownAccount
from shared.models.records import CreditNoteRecord

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]
ACCOUNT = "/v1/accounts/<account_id>"
CreditNoteId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=128,
        description="The platform's id of the credit note, percent-encoded once in the path",
    ),
]
CREDIT_NOTE_SYNC = f"{ACCOUNT}/credit-notes/<credit_note_id>/sync"
TAGS = ["Sync status"]
CENT = Decimal("0.01")


class CreditNoteSyncView(BaseModel):
    model_config = ConfigDict(frozen=True)

    credit_note_id: str
    number: str | None = None
    state: str = Field(description="synced, failed, or pending (not pushed yet)")
    last_version: int | None = Field(default=None, description="The newest version Xero holds")
    xero_credit_note_id: str | None = None
    xero_status: str | None = Field(default=None, description="DRAFT, AUTHORISED, PAID (all used), VOIDED, DELETED")
    total: Decimal | None = Field(default=None, description="As Xero booked it, exact (a decimal string)")
    applied: dict[str, Decimal] = Field(
        default_factory=dict, description="What the newest version applies to each invoice (platform invoice ids)"
    )
    allocated: dict[str, Decimal] = Field(
        default_factory=dict, description="What of it Xero has allocated to each invoice; less than applied: waiting"
    )
    refunded: Decimal = Field(default=Decimal(0), description="Paid back to the customer out of the credit note")
    remaining_credit: Decimal | None = None
    last_pushed_at: str | None = None
    failure: SyncFailureView | None = None


@router.get(CREDIT_NOTE_SYNC, summary="A credit note's sync status", tags=TAGS, responses=responses(404))
def get_credit_note_sync(account_id: AccountId, credit_note_id: CreditNoteId) -> CreditNoteSyncView:
    if wiring.connections().get(account_id) is None:
        raise UnknownAccount(f"Account {account_id} has never connected Xero.")
    found = wiring.sync_records().load(account_id, "CREDIT_NOTE", [credit_note_id]).get(credit_note_id)
    if not isinstance(found, CreditNoteRecord):
        raise RequestRefused(
            "unknown_credit_note", f"No event for credit note {credit_note_id} has been received.", status=404
        )
    return credit_note_view(found)


@router.get(catch_all(CREDIT_NOTE_SYNC), include_in_schema=False)
def get_credit_note_sync_any_id(account_id: AccountId) -> CreditNoteSyncView:
    return get_credit_note_sync(account_id, id_in_path(router, "credit-notes", "sync"))


def credit_note_view(record: CreditNoteRecord) -> CreditNoteSyncView:
    failed = record.state == "failed"
    return CreditNoteSyncView(
        credit_note_id=record.credit_note_id,
        number=record.number,
        state=record.state or "pending",
        last_version=record.last_version or None,
        xero_credit_note_id=record.xero_credit_note_id,
        xero_status=record.xero_status,
        total=record.total,
        applied={k: _cents(v) for k, v in record.applied.items()},
        allocated={k: _cents(v) for k, v in record.allocated.items()},
        refunded=_cents(record.refunded),
        remaining_credit=_cents(record.remaining_credit) if record.remaining_credit is not None else None,
        last_pushed_at=record.last_pushed_at,
        failure=failure_view(record.model_dump()) if failed else None,
    )


def _cents(value: Decimal) -> Decimal:
    """Stored numbers lose their trailing zeros (DynamoDB): money is shown to the cent."""
    return value.quantize(CENT)
