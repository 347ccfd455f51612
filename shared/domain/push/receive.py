"""The first stage: SQS records become messages with their events, or failures that say why.

A message that is not a valid event fails alone (dead-lettered with the reason). When its body still
names a known account and an invoice, the failure is also recorded on that invoice and its owner is
told, as for any other failure. An event too large to keep on its sync record (DynamoDB holds 400 KB
an item; SQS carries up to 1 MiB) fails before anything is sent to Xero, never after.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from shared.adapters.sync_records import MAX_KEPT_EVENT_BYTES, compress
from shared.domain.push.model import Fate, Message, Outcome
from shared.domain.push.outcomes import record_failure
from shared.errors import Rejected, StorageError
from shared.models.alerts import SyncFailure
from shared.models.events import parse_event
from shared.observability import logger

if TYPE_CHECKING:
    from shared.domain.push.context import PushParts

_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$")


def message_from_record(record: dict[str, Any]) -> Message:
    """An SQS Lambda record as a :class:`Message`."""
    attributes = record.get("attributes") or {}
    deferrals = (record.get("messageAttributes") or {}).get("deferrals") or {}
    try:
        receive_count = int(attributes.get("ApproximateReceiveCount", 1))
        deferred = int(deferrals.get("stringValue") or 0)
        published = int(attributes.get("SentTimestamp") or 0)
    except (TypeError, ValueError):
        receive_count, deferred, published = 1, 0, 0
    return Message(
        message_id=str(record.get("messageId", "")),
        receipt_handle=str(record.get("receiptHandle", "")),
        body=str(record.get("body", "")),
        receive_count=receive_count,
        deferrals=deferred,
        published_ms=published,
    )


def receive(parts: PushParts, messages: list[Message]) -> dict[str, list[Message]]:
    """Parse every message; the valid ones grouped by account, in the order they came."""
    accounts: dict[str, list[Message]] = {}
    for message in messages:
        try:
            message.event = parse_event(message.body)
        except ValidationError as exc:
            _malformed(parts, message, _describe(exc))
            continue
        if len(compress(message.body)) > MAX_KEPT_EVENT_BYTES:
            _refuse_size(parts, message)
            continue
        accounts.setdefault(message.event.account_id, []).append(message)
    return accounts


def _refuse_size(parts: PushParts, message: Message) -> None:
    assert message.event is not None
    failure = Rejected(
        "event_too_large",
        f"The event {message.event.event_id} is too large to sync ({len(message.body.encode()):,} bytes): its "
        "sync record could not be kept, so nothing was sent to Xero.",
        "Split the invoice into smaller ones (fewer or shorter lines) and publish it again.",
    )
    try:
        record_failure(parts, message.event, message, failure)
    except StorageError:
        logger.exception("could not record an oversized event", extra={"account_id": message.account_id})
    message.finish(Outcome(Fate.FAILED, failure.code, failure.message))


def _malformed(parts: PushParts, message: Message, reason: str) -> None:
    message.finish(Outcome(Fate.FAILED, "malformed_event", reason))
    subject = _subject(message.body)
    if subject is None:
        return
    account_id, invoice_id, number = subject
    failure = Rejected(
        "malformed_event",
        f"An event for invoice {number or invoice_id} could not be read: {reason}",
        "The platform must publish the event again, corrected; nothing was sent to Xero.",
    )
    try:
        if parts.connections.get(account_id) is None:
            return
        parts.records.note_malformed(account_id, invoice_id, failure, parts.now())
    except StorageError:
        logger.exception("could not record a malformed event", extra={"account_id": account_id})
        return
    message.failure = SyncFailure(
        invoice_id=invoice_id, invoice_number=number, code=failure.code, message=failure.message, fix=failure.fix
    )
    message.subject_account = account_id


def _subject(body: str) -> tuple[str, str, str | None] | None:
    """The account and invoice a malformed body still names, if it names them plainly."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("data"), dict):
        return None
    account_id, data = value.get("account_id"), value["data"]
    invoice_id = data.get("invoice_id")
    if not (isinstance(account_id, str) and _IDENTIFIER.match(account_id)):
        return None
    if not (isinstance(invoice_id, str) and _IDENTIFIER.match(invoice_id)):
        return None
    number = data.get("number")
    return account_id, invoice_id, number if isinstance(number, str) and 0 < len(number) <= 255 else None


def _describe(exc: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
        for e in exc.errors(include_url=False, include_input=False)
    ]
    return "the event is not valid: " + "; ".join(problems[:10])
