"""A credit note or refund that could not be synced: its failed sync record, and what the email says."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.errors import StorageError
from shared.models.alerts import SyncFailure
from shared.models.events import CreditNoteUpserted, RefundRecorded
from shared.models.records import CreditNoteRecord, RefundRecord

if TYPE_CHECKING:
    from shared.domain.push.context import PushParts
    from shared.domain.push.ledger import Ledger
    from shared.errors import Rejected


def record(
    parts: PushParts,
    event: CreditNoteUpserted | RefundRecorded,
    failure: Rejected,
    now: datetime,
    extra: dict[str, Any],
    ledger: Ledger | None,
) -> SyncFailure:
    """Stage the failed record on ``ledger`` (or write it now, outside a flush); the email's subject."""
    if isinstance(event, CreditNoteUpserted):
        note = event.data
        if ledger is not None:
            ledger.fail_credit_note(note.credit_note_id, note.version, failure, now, {**extra, "number": note.number})
        else:
            blank = CreditNoteRecord(credit_note_id=note.credit_note_id, number=note.number)
            _write_now(parts, event.account_id, blank, failure)
        return SyncFailure(
            subject_kind="credit_note",
            credit_note_id=note.credit_note_id,
            credit_note_number=note.number,
            currency=note.currency,
            code=failure.code,
            message=failure.message,
            fix=failure.fix,
            xero_messages=tuple(failure.xero_messages),
        )
    refund = event.data
    number: str | None = None
    currency: str | None = None
    try:
        found = (ledger.credit_notes([refund.credit_note_id]) if ledger else {}).get(refund.credit_note_id)
    except StorageError:
        found = None
    if found is not None:
        number, currency = found.number, found.currency
    if ledger is not None:
        ledger.fail_refund(
            refund.refund_id, failure, now, {**extra, "credit_note_id": refund.credit_note_id, "amount": refund.amount}
        )
    else:
        _write_now(parts, event.account_id, RefundRecord(refund_id=refund.refund_id, amount=refund.amount), failure)
    return SyncFailure(
        subject_kind="refund",
        payment_id=refund.refund_id,
        amount=refund.amount,
        currency=currency,
        credit_note_id=refund.credit_note_id,
        credit_note_number=number,
        code=failure.code,
        message=failure.message,
        fix=failure.fix,
        xero_messages=tuple(failure.xero_messages),
    )


def _write_now(parts: PushParts, account_id: str, blank: CreditNoteRecord | RefundRecord, failure: Rejected) -> None:
    """Outside a flush (an oversized event, retries spent): the failure is kept on the record as it is."""
    found: dict[str, Any]
    if isinstance(blank, CreditNoteRecord):
        found, key = parts.records.load(account_id, "CREDIT_NOTE", [blank.credit_note_id]), blank.credit_note_id
    else:
        found, key = parts.records.load(account_id, "REFUND", [blank.refund_id]), blank.refund_id
    current = found.get(key, blank)
    now = parts.now().isoformat()
    failed = current.model_copy(
        update={
            "state": "failed",
            "error_code": failure.code,
            "error_message": failure.message,
            "error_fix": failure.fix,
            "xero_messages": tuple(failure.xero_messages),
            "failed_at": now,
            "updated_at": now,
        }
    )
    parts.records.put_all(account_id, [failed])
