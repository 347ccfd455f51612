"""Routes of the push's results: an invoice's sync record, the account's recent failures, a retry, and
the progress of the account's backfill (its history being imported).

The push writes the records (:mod:`shared.adapters.sync_records`); these routes read them and queue
failed events again. A retry sends the invoice's last failed event (and its failed payments) back to
the queue, where the usual version checks make it harmless if it has meanwhile been synced.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from shared import wiring
from shared.api.errors import responses
from shared.api.paths import catch_all, id_in_path
from shared.domain.backlog import BackfillStatus
from shared.errors import RequestRefused, UnknownAccount
from shared.models.records import InvoiceRecord

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]

ACCOUNT = "/v1/accounts/<account_id>"
AccountId = Annotated[str, Path(min_length=1, max_length=128, description="The platform's id of the account")]
InvoiceId = Annotated[
    str,
    Path(
        min_length=1, max_length=128, description="The platform's id of the invoice, percent-encoded once in the path"
    ),
]
INVOICE_SYNC = f"{ACCOUNT}/invoices/<invoice_id>/sync"
INVOICE_RETRY = f"{ACCOUNT}/invoices/<invoice_id>/retry"
TAGS = ["Sync status"]


class SyncFailureView(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Stable failure code, e.g. unmapped_tax, xero_validation")
    message: str
    fix: str = Field(description="What the owner can do about it")
    xero_messages: list[str] = Field(default_factory=list, description="Xero's own validation messages")
    failed_at: str | None = None
    failed_version: int | None = None


class InvoiceSyncView(BaseModel):
    model_config = ConfigDict(frozen=True)

    invoice_id: str
    number: str | None = None
    state: str = Field(description="synced, failed, or pending (a push is under way)")
    last_version: int | None = Field(default=None, description="The newest version Xero holds")
    xero_invoice_id: str | None = None
    xero_status: str | None = None
    total: Decimal | None = Field(default=None, description="As Xero booked it, exact (a decimal string)")
    amount_due: Decimal | None = Field(default=None, description="As Xero has it now, exact (a decimal string)")
    last_pushed_at: str | None = None
    skipped_count: int = Field(default=0, description="Older versions received after a newer one and ignored")
    failure: SyncFailureView | None = None


class FailureItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    invoice_id: str
    payment_id: str | None = None
    credit_note_id: str | None = Field(default=None, description="A credit note's failure, or its refund's")
    refund_id: str | None = None
    number: str | None = None
    failure: SyncFailureView


class FailuresView(BaseModel):
    model_config = ConfigDict(frozen=True)

    failures: list[FailureItem]


class BackfillView(BaseModel):
    model_config = ConfigDict(frozen=True)

    waiting: int = Field(description="History events still waiting to go to Xero (exact up to 10,000)")
    more: bool = Field(default=False, description="More than `waiting` are waiting (the count stopped there)")
    synced: int = Field(description="History events done, invoices kept included")
    failed: int = Field(description="History events that failed (listed by the sync-failures route)")
    kept: int = Field(description="Invoices Xero already had under their number, matched and left as Xero has them")
    kept_numbers: list[str] = Field(default_factory=list, description="The first 100 of them, to check in Xero")
    drains_by: datetime | None = Field(
        default=None, description="When the last waiting history event is expected in Xero: an estimate"
    )
    resumes_at: datetime | None = Field(
        default=None, description="The day's calls for a backfill are spent: when it goes on (live events go on)"
    )
    calls_a_day: int = Field(description="Calls a day a backfill may spend: the day limit less the live reserve")
    started_at: datetime | None = None
    updated_at: datetime | None = None


class RetryAnswer(BaseModel):
    model_config = ConfigDict(frozen=True)

    invoice_id: str
    queued: int = Field(description="Events sent back to the queue (the invoice and its failed payments)")


# The id is used as API Gateway decoded it, never decoded again; an id with "/" (invoice ids may hold
# one) reaches the catch-all twin of each route (shared.api.paths).
@router.get(INVOICE_SYNC, summary="An invoice's sync status", tags=TAGS, responses=responses(404))
def get_invoice_sync(account_id: AccountId, invoice_id: InvoiceId) -> InvoiceSyncView:
    _known(account_id)
    record = wiring.sync_records().invoice(account_id, invoice_id)
    if record is None:
        raise RequestRefused("unknown_invoice", f"No event for invoice {invoice_id} has been received.", status=404)
    return invoice_view(record)


@router.get(catch_all(INVOICE_SYNC), include_in_schema=False)
def get_invoice_sync_any_id(account_id: AccountId) -> InvoiceSyncView:
    return get_invoice_sync(account_id, id_in_path(router, "invoices", "sync"))


@router.get(f"{ACCOUNT}/sync-failures", summary="Recent sync failures", tags=TAGS, responses=responses(404))
def get_failures(
    account_id: AccountId, limit: Annotated[int, Query(ge=1, le=200, description="How many, newest first")] = 50
) -> FailuresView:
    _known(account_id)
    items = wiring.sync_records().failures(account_id, limit=limit)
    return FailuresView(
        failures=[
            FailureItem(
                invoice_id=str(item.get("invoice_id", "")),
                payment_id=item.get("payment_id"),
                credit_note_id=item.get("credit_note_id"),
                refund_id=item.get("refund_id"),
                number=item.get("number"),
                failure=failure_view(item),
            )
            for item in items
        ]
    )


@router.get(f"{ACCOUNT}/backfill", summary="The backfill's progress", tags=TAGS, responses=responses(404))
def get_backfill(account_id: AccountId) -> BackfillView:
    """The account's history (events published with ``"origin": "history"``): waiting, synced, failed,
    kept as Xero has them, and when the rest drains under the organisation's day limit."""
    _known(account_id)
    status = wiring.backlog_reader().backfill(account_id) or BackfillStatus()
    return BackfillView(
        waiting=status.waiting,
        more=status.more,
        synced=status.synced,
        failed=status.failed,
        kept=status.kept,
        kept_numbers=list(status.kept_numbers),
        drains_by=status.drains_by,
        resumes_at=status.resumes_at,
        calls_a_day=status.calls_a_day,
        started_at=status.started_at,
        updated_at=status.updated_at,
    )


@router.post(
    INVOICE_RETRY,
    summary="Send a failed invoice again",
    tags=TAGS,
    responses=responses(404, 409, 503, success="Queued"),
)
def post_retry(account_id: AccountId, invoice_id: InvoiceId) -> RetryAnswer:
    """Queues the invoice's last failed event and its failed payments again (after the owner fixed the
    cause, e.g. mapped the tax rate). 409 ``nothing_to_retry`` when nothing of it has failed."""
    _known(account_id)
    queued = wiring.requeue().retry_invoice(account_id, invoice_id)
    if queued == 0:
        raise RequestRefused("nothing_to_retry", f"Nothing of invoice {invoice_id} has failed.", status=409)
    return RetryAnswer(invoice_id=invoice_id, queued=queued)


@router.post(catch_all(INVOICE_RETRY), include_in_schema=False)
def post_retry_any_id(account_id: AccountId) -> RetryAnswer:
    return post_retry(account_id, id_in_path(router, "invoices", "retry"))


def invoice_view(record: InvoiceRecord) -> InvoiceSyncView:
    state = "pending" if record.pending_version else (record.state or "pending")
    return InvoiceSyncView(
        invoice_id=record.invoice_id,
        number=record.number,
        state=state,
        last_version=record.last_version,
        xero_invoice_id=record.xero_invoice_id,
        xero_status=record.xero_status,
        total=record.total,
        amount_due=record.amount_due,
        last_pushed_at=record.last_pushed_at,
        skipped_count=record.skipped_count,
        failure=failure_view(record.model_dump()) if record.error_code else None,
    )


def failure_view(record: dict[str, Any]) -> SyncFailureView:
    return SyncFailureView(
        code=str(record.get("error_code", "")),
        message=str(record.get("error_message", "")),
        fix=str(record.get("error_fix", "")),
        xero_messages=list(record.get("xero_messages") or []),
        failed_at=record.get("failed_at"),
        failed_version=record.get("failed_version"),
    )


def _known(account_id: str) -> None:
    if wiring.connections().get(account_id) is None:
        raise UnknownAccount(f"Account {account_id} has never connected Xero.")
