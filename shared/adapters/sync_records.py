"""What the push has done for each invoice, contact and payment of an account, in DynamoDB.

| item                        | pk                       | sk                         |
| --------------------------- | ------------------------ | -------------------------- |
| invoice sync record         | ``ACCOUNT#<account id>`` | ``INVOICE#<invoice id>``   |
| contact sync record         | ``ACCOUNT#<account id>`` | ``CONTACT#<contact id>``   |
| payment sync record         | ``ACCOUNT#<account id>`` | ``PAYMENT#<payment id>``   |
| credit note sync record     | ``ACCOUNT#<account id>`` | ``CREDIT_NOTE#<id>``       |
| refund sync record          | ``ACCOUNT#<account id>`` | ``REFUND#<refund id>``     |
| parked event (TTL)          | ``ACCOUNT#<account id>`` | ``PARKED#<event id>``      |

An invoice is *claimed* before anything is sent to Xero: one conditional write that succeeds only
when the version is newer than the last one pushed to the same organisation and no other invocation
holds a live claim. The claim records ``pending_version`` and adds the number about to be sent to
``numbers_sent``; a claim found expired means an earlier attempt may have reached Xero, so the push
looks in Xero (by every number sent) before creating anything (``uncertain``). Failed records carry
``failed_pk``/``failed_at``, which puts them in the sparse ``FailuresIndex``.

Every record names its organisation (``tenant_id``); a record of another organisation than the one
the account syncs to now is claimed as if it were new (see :mod:`shared.models.records`). Event
bodies are kept zlib-compressed (``last_event_z``) so that a large invoice still fits DynamoDB's
400 KB item.
Completed and failed records carry ``activity_pk``/``activity_at`` (the account, and when), which
puts them in the sparse ``ActivityIndex`` the settings page reads its recent syncs from
(:mod:`shared.adapters.activity`).
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.dynamo import account_pk, from_item, is_conditional_failure, to_attr, to_item, update_arguments
from shared.errors import StorageError
from shared.models.records import ContactRecord, CreditNoteRecord, InvoiceRecord, PaymentRecord, RefundRecord

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb import DynamoDBClient

    from shared.errors import Rejected

ClaimKind = Literal["claimed", "older", "busy"]
PARKED_DAYS = 60
# What a record may hold of an event, compressed, leaving room for the rest of its 400 KB item.
MAX_KEPT_EVENT_BYTES = 300_000
R = TypeVar("R", InvoiceRecord, PaymentRecord)
# An expired or released claim on a record of another organisation is not "older": it is new there.
OTHER_ORGANISATION = "(attribute_exists(#tenant_id) AND #tenant_id <> :tenant)"
FREE = "(attribute_not_exists(#pending_until) OR #pending_until < :now)"


@dataclass(frozen=True)
class Claim(Generic[R]):
    kind: ClaimKind
    record: R
    uncertain: bool = False


def compress(body: str) -> bytes:
    return zlib.compress(body.encode(), 6)


def decompress(blob: bytes) -> str:
    return zlib.decompress(blob).decode()


def keep_event(body: str) -> bool:
    """Whether a record can keep this event (compressed, it fits the record's item)."""
    return len(compress(body)) <= MAX_KEPT_EVENT_BYTES


def event_values(body: str) -> dict[str, Any]:
    """How an event body is kept on a record (and the legacy plain copy dropped); nothing of a body
    too large to keep."""
    blob = compress(body)
    if len(blob) > MAX_KEPT_EVENT_BYTES:
        return {"last_event_z": None, "last_event": None}
    return {"last_event_z": blob, "last_event": None}


def _stored(extra: dict[str, Any]) -> dict[str, Any]:
    """Extra values as stored: the event body compressed."""
    if "last_event" not in extra or extra["last_event"] is None:
        return extra
    return {**{k: v for k, v in extra.items() if k != "last_event"}, **event_values(str(extra["last_event"]))}


def failure_values(failure: Rejected, now: datetime, account_id: str) -> dict[str, Any]:
    return {
        "state": "failed",
        "error_code": failure.code,
        "error_message": failure.message,
        "error_fix": failure.fix,
        "xero_messages": list(failure.xero_messages) or None,
        "failed_pk": account_pk(account_id),
        "failed_at": now.isoformat(),
        "updated_at": now.isoformat(),
        **activity_values(account_id, now),
    }


def activity_values(account_id: str, now: datetime) -> dict[str, Any]:
    """What puts a record in the sparse ActivityIndex: the account's recent syncs, newest last."""
    return {"activity_pk": account_pk(account_id), "activity_at": now.isoformat()}


CLEARED_FAILURE = ("error_code", "error_message", "error_fix", "xero_messages", "failed_pk", "failed_at")


RecordKind = Literal["INVOICE", "CONTACT", "PAYMENT", "CREDIT_NOTE", "REFUND"]
AnyRecord = InvoiceRecord | ContactRecord | PaymentRecord | CreditNoteRecord | RefundRecord
RECORD_MODELS: dict[str, type[AnyRecord]] = {
    "INVOICE": InvoiceRecord,
    "CONTACT": ContactRecord,
    "PAYMENT": PaymentRecord,
    "CREDIT_NOTE": CreditNoteRecord,
    "REFUND": RefundRecord,
}
RECORD_IDS = {
    "INVOICE": "invoice_id",
    "CONTACT": "contact_id",
    "PAYMENT": "payment_id",
    "CREDIT_NOTE": "credit_note_id",
    "REFUND": "refund_id",
}
# Attributes of the claims of earlier versions: a whole record written by the push has none.
_NOT_STORED = frozenset({"pending_version", "pending_until", "last_event"})


def record_item(account_id: str, record: AnyRecord) -> dict[str, Any]:
    """A record as its DynamoDB item: keys, the event compressed, and the sparse indexes' keys."""
    if isinstance(record, InvoiceRecord):
        sk = f"INVOICE#{record.invoice_id}"
    elif isinstance(record, ContactRecord):
        sk = f"CONTACT#{record.contact_id}"
    elif isinstance(record, CreditNoteRecord):
        sk = f"CREDIT_NOTE#{record.credit_note_id}"
    elif isinstance(record, RefundRecord):
        sk = f"REFUND#{record.refund_id}"
    else:
        sk = f"PAYMENT#{record.payment_id}"
    values = {k: v for k, v in record.model_dump(mode="python").items() if k not in _NOT_STORED}
    values = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in values.items()}
    values = {k: (sorted(v) if isinstance(v, frozenset) else v) for k, v in values.items()}
    if isinstance(values.get("numbers_sent"), list):
        values["numbers_sent"] = set(values["numbers_sent"]) or None
    values["xero_messages"] = list(record.xero_messages) or None
    item = {"pk": account_pk(account_id), "sk": sk, **values}
    if record.last_event:
        item |= event_values(record.last_event)
        item.pop("last_event", None)
    if record.state == "failed" and record.failed_at:
        item |= {"failed_pk": account_pk(account_id)}
    if record.state and record.updated_at:
        item |= {"activity_pk": account_pk(account_id), "activity_at": record.updated_at}
    return {k: v for k, v in item.items() if v is not None}


def _plain_record(item: dict[str, Any]) -> dict[str, Any]:
    values = from_item(item)
    blob = values.pop("last_event_z", None)
    if isinstance(blob, bytes | bytearray):
        values["last_event"] = decompress(bytes(blob))
    return values


class SyncRecords:
    def __init__(self, client: DynamoDBClient, table_name: str, *, lease_seconds: int = 180) -> None:
        self._client = client
        self._table = table_name
        self._lease = lease_seconds

    # --- invoices ----------------------------------------------------------------------------

    def claim_invoice(
        self,
        account_id: str,
        invoice_id: str,
        version: int,
        now: datetime,
        *,
        tenant_id: str,
        number: str | None = None,
    ) -> Claim[InvoiceRecord]:
        """Take the right to push ``version`` of an invoice to ``tenant_id`` (see the module's description)."""
        stamp = int(now.timestamp())
        condition = f"(attribute_not_exists(#last_version) OR #last_version < :v OR {OTHER_ORGANISATION}) AND {FREE}"
        return self._claim(
            self._key(account_id, f"INVOICE#{invoice_id}"),
            {"invoice_id": invoice_id, "pending_version": version, "pending_until": stamp + self._lease},
            condition,
            {":v": version, ":now": stamp, ":tenant": tenant_id},
            additions={"numbers_sent": {number}} if number else None,
            parse=lambda values: InvoiceRecord.model_validate(values).in_organisation(tenant_id),
            older=lambda record: record.belongs_to(tenant_id) and record.last_version >= version,
        )

    def complete_invoice(
        self,
        account_id: str,
        invoice_id: str,
        version: int,
        values: dict[str, Any],
        *,
        now: datetime,
        mismatch: Rejected | None = None,
    ) -> None:
        """Record a pushed version and release the claim (only if the claim is still ours). With
        ``mismatch``, Xero took the version but booked it otherwise than predicted: it is recorded as
        pushed (a retry updates that invoice) and failed, so the owner sees it."""
        if mismatch is None:
            values = {**values, "state": "synced", **activity_values(account_id, now)}
        else:
            values = {**values, **failure_values(mismatch, now, account_id), "failed_version": version}
        self._finish(
            self._key(account_id, f"INVOICE#{invoice_id}"),
            {**values, "last_version": version},
            version,
            clear_failure=mismatch is None,
        )

    def fail_invoice(
        self,
        account_id: str,
        invoice_id: str,
        version: int,
        failure: Rejected,
        now: datetime,
        extra: dict[str, Any],
    ) -> None:
        """Record why a version could not be pushed; the last pushed version stays as it was."""
        values = {
            **_stored(extra),
            **failure_values(failure, now, account_id),
            "invoice_id": invoice_id,
            "failed_version": version,
        }
        key = self._key(account_id, f"INVOICE#{invoice_id}")
        if not self._finish(key, values, version, clear_failure=False):
            # Not (or no longer) claimed: record it unless a newer version was pushed or is in flight.
            self._record_unclaimed(
                key,
                values,
                f"(attribute_not_exists(#last_version) OR #last_version < :v) AND {FREE}",
                {":v": version, ":now": int(now.timestamp())},
            )

    def note_malformed(self, account_id: str, invoice_id: str, failure: Rejected, now: datetime) -> None:
        """An unreadable event that names this invoice: listed with the failures, and the record marked
        failed only if nothing was ever synced for the invoice (a good version in Xero stays as it is)."""
        values = {k: v for k, v in failure_values(failure, now, account_id).items() if k != "state" and v is not None}
        names = {f"#{k}": k for k in (*values, "state", "invoice_id")}
        attr_values = {f":{k}": to_attr(v) for k, v in values.items()}
        attr_values |= {":failed": to_attr("failed"), ":invoice_id": to_attr(invoice_id)}
        sets = ", ".join(f"#{k} = :{k}" for k in values)
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(account_id, f"INVOICE#{invoice_id}"),
                UpdateExpression=(
                    f"SET {sets}, #state = if_not_exists(#state, :failed), "
                    "#invoice_id = if_not_exists(#invoice_id, :invoice_id)"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=attr_values,
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not record a malformed event of invoice {invoice_id}") from exc

    def release_invoice(self, account_id: str, invoice_id: str, version: int) -> None:
        """Give a claim back for a retry, as an expired claim: whatever was sent may have reached Xero,
        so the next attempt looks in Xero before it creates anything."""
        self._expire(self._key(account_id, f"INVOICE#{invoice_id}"), version)

    def note_skipped(self, account_id: str, invoice_id: str, version: int, now: datetime) -> None:
        """An older version arrived after a newer one was pushed: counted, never sent."""
        self._update(
            self._key(account_id, f"INVOICE#{invoice_id}"),
            {"last_skipped_version": version, "last_skipped_at": now.isoformat()},
            increments={"skipped_count": 1},
        )

    def record_payment_on_invoice(
        self, account_id: str, invoice_id: str, *, amount_due: Any, status: str | None, now: datetime
    ) -> None:
        """Xero's amount due and status after a payment (PAID once nothing is due)."""
        values: dict[str, Any] = {"amount_due": str(amount_due), "updated_at": now.isoformat()}
        if status:
            values["xero_status"] = status
        try:
            self._update(
                self._key(account_id, f"INVOICE#{invoice_id}"),
                values,
                condition="attribute_exists(#xero_invoice_id)",
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise StorageError(f"could not record the payments of invoice {invoice_id}") from exc

    def reopen_invoice(self, account_id: str, invoice_id: str, version: int, *, forget_xero: bool) -> bool:
        """Let the push send ``version`` again (reconciliation's "resend"): the record says the version
        before it was pushed, and nothing of its content, so the whole invoice is written. With
        ``forget_xero`` (Xero no longer has it) the next push creates it anew. False when a newer
        version was pushed or is being pushed meanwhile."""
        values: dict[str, Any] = {"last_version": version - 1, "fingerprint": None}
        if forget_xero:
            values |= {"xero_invoice_id": None, "xero_status": None}
        try:
            self._update(
                self._key(account_id, f"INVOICE#{invoice_id}"),
                values,
                condition=f"#last_version = :seen AND {FREE}",
                condition_values={":seen": version, ":now": int(time.time())},
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise StorageError(f"could not reopen invoice {invoice_id}") from exc
        return True

    def invoice(self, account_id: str, invoice_id: str) -> InvoiceRecord | None:
        values = self._get(self._key(account_id, f"INVOICE#{invoice_id}"))
        return InvoiceRecord.model_validate(values) if values else None

    def invoices(self, account_id: str, invoice_ids: list[str]) -> dict[str, InvoiceRecord]:
        items = self._batch_get(account_id, [f"INVOICE#{i}" for i in invoice_ids])
        return {str(item["invoice_id"]): InvoiceRecord.model_validate(item) for item in items if "invoice_id" in item}

    def failures(self, account_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The account's recent failures (invoices and payments), newest first."""
        try:
            answer = self._client.query(
                TableName=self._table,
                IndexName="FailuresIndex",
                KeyConditionExpression="failed_pk = :pk",
                ExpressionAttributeValues={":pk": to_attr(account_pk(account_id))},
                ScanIndexForward=False,
                Limit=limit,
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not read the failures of account {account_id}") from exc
        return [_plain_record(item) for item in answer.get("Items", [])]

    # --- contacts ----------------------------------------------------------------------------

    def contacts(self, account_id: str, contact_ids: list[str]) -> dict[str, ContactRecord]:
        items = self._batch_get(account_id, [f"CONTACT#{c}" for c in contact_ids])
        return {str(item["contact_id"]): ContactRecord.model_validate(item) for item in items if "contact_id" in item}

    def save_contact(self, account_id: str, contact_id: str, values: dict[str, Any], version: int) -> bool:
        """Store a contact's Xero id and pushed content; False when a newer version is already stored."""
        try:
            self._update(
                self._key(account_id, f"CONTACT#{contact_id}"),
                {**values, "contact_id": contact_id, "version": version},
                condition="attribute_not_exists(#version) OR #version <= :v OR #tenant_id <> :tenant",
                condition_values={":v": version, ":tenant": values.get("tenant_id", "")},
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise StorageError(f"could not store contact {contact_id}") from exc
        return True

    # --- payments ----------------------------------------------------------------------------

    def claim_payment(
        self, account_id: str, payment_id: str, invoice_id: str, now: datetime, *, tenant_id: str
    ) -> Claim[PaymentRecord]:
        stamp = int(now.timestamp())
        return self._claim(
            self._key(account_id, f"PAYMENT#{payment_id}"),
            {
                "payment_id": payment_id,
                "invoice_id": invoice_id,
                "pending_version": 1,
                "pending_until": stamp + self._lease,
            },
            f"(attribute_not_exists(#xero_payment_id) OR {OTHER_ORGANISATION}) AND {FREE}",
            {":now": stamp, ":tenant": tenant_id},
            parse=lambda values: PaymentRecord.model_validate(values).in_organisation(tenant_id),
            older=lambda record: record.belongs_to(tenant_id) and bool(record.xero_payment_id),
        )

    def complete_payment(self, account_id: str, payment_id: str, values: dict[str, Any]) -> None:
        self._finish(self._key(account_id, f"PAYMENT#{payment_id}"), {**values, "state": "synced"}, 1)

    def fail_payment(
        self,
        account_id: str,
        payment_id: str,
        failure: Rejected,
        now: datetime,
        extra: dict[str, Any],
    ) -> None:
        values = {**_stored(extra), **failure_values(failure, now, account_id), "payment_id": payment_id}
        key = self._key(account_id, f"PAYMENT#{payment_id}")
        if not self._finish(key, values, 1, clear_failure=False):
            self._record_unclaimed(
                key,
                values,
                f"attribute_not_exists(#xero_payment_id) AND {FREE}",
                {":now": int(now.timestamp())},
            )

    def release_payment(self, account_id: str, payment_id: str) -> None:
        """As :meth:`release_invoice`: the next attempt first looks for the payment in Xero."""
        self._expire(self._key(account_id, f"PAYMENT#{payment_id}"), 1)

    def payment(self, account_id: str, payment_id: str) -> PaymentRecord | None:
        values = self._get(self._key(account_id, f"PAYMENT#{payment_id}"))
        return PaymentRecord.model_validate(values) if values else None

    def payments_of(self, account_id: str, invoice_id: str) -> list[dict[str, Any]]:
        """Failed payment records of an invoice (for the retry route)."""
        return [
            f
            for f in self.failures(account_id, limit=200)
            if f.get("payment_id") and f.get("invoice_id") == invoice_id and f.get("sk", "").startswith("PAYMENT#")
        ]

    # --- parked events -----------------------------------------------------------------------

    def park(self, account_id: str, event_id: str, body: str, reason: str, now: datetime) -> None:
        """Keep an event that cannot go to Xero until the account reconnects or finishes its setup."""
        item = {
            "pk": account_pk(account_id),
            "sk": f"PARKED#{event_id}",
            "body_z": compress(body),
            "reason": reason,
            "parked_at": now.isoformat(),
            "ttl": int((now + timedelta(days=PARKED_DAYS)).timestamp()),
        }
        try:
            self._client.put_item(TableName=self._table, Item=to_item(item))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not park event {event_id}") from exc

    def parked(self, account_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :parked)",
            "ExpressionAttributeValues": {":pk": to_attr(account_pk(account_id)), ":parked": to_attr("PARKED#")},
            "ConsistentRead": True,
        }
        try:
            while True:
                answer = self._client.query(**kwargs)
                for item in answer.get("Items", []):
                    values = from_item(item)
                    blob = values.pop("body_z", None)
                    if isinstance(blob, bytes | bytearray):
                        values["body"] = decompress(bytes(blob))
                    items.append(values)
                if "LastEvaluatedKey" not in answer:
                    return items
                kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not read the parked events of account {account_id}") from exc

    def unpark(self, account_id: str, sk: str) -> None:
        try:
            self._client.delete_item(TableName=self._table, Key=self._key(account_id, sk))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not release parked event {sk}") from exc

    # --- whole records, in batches (the push: one writer per organisation) ---------------------

    def load(self, account_id: str, kind: RecordKind, ids: list[str]) -> dict[str, Any]:
        """The records of ``ids`` (``kind``: "INVOICE", "CONTACT", "PAYMENT", "CREDIT_NOTE", "REFUND"), by id."""
        model = RECORD_MODELS[kind]
        items = self._batch_get(account_id, [f"{kind}#{i}" for i in ids])
        key = RECORD_IDS[kind]
        return {str(item[key]): model.model_validate(item) for item in items if key in item}

    def put_all(self, account_id: str, records: list[AnyRecord]) -> None:
        """Write whole records, 25 a request (BatchWriteItem). Only the push writes this way, and an
        organisation has one push at a time (its flush tickets share a FIFO message group)."""
        requests = [{"PutRequest": {"Item": to_item(record_item(account_id, r))}} for r in records]
        self._batch_write(requests, f"could not store the sync records of account {account_id}")

    def _batch_write(self, requests: list[dict[str, Any]], problem: str) -> None:
        try:
            for start in range(0, len(requests), 25):
                pending: dict[str, Any] = {self._table: requests[start : start + 25]}
                for _ in range(8):
                    answer = self._client.batch_write_item(RequestItems=pending)
                    pending = dict(answer.get("UnprocessedItems") or {})
                    if not pending:
                        break
                else:
                    raise StorageError(problem)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(problem) from exc

    # --- plumbing ----------------------------------------------------------------------------

    def _key(self, account_id: str, sk: str) -> dict[str, Any]:
        return {"pk": to_attr(account_pk(account_id)), "sk": to_attr(sk)}

    def _claim(
        self,
        key: dict[str, Any],
        values: dict[str, Any],
        condition: str,
        condition_values: dict[str, Any],
        *,
        parse: Callable[[dict[str, Any]], R],
        older: Callable[[R], bool],
        additions: dict[str, set[str]] | None = None,
    ) -> Claim[R]:
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=key,
                ReturnValues="ALL_OLD",
                **update_arguments(values, condition=condition, condition_values=condition_values, additions=additions),
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise StorageError("could not claim a sync record") from exc
            current = parse(self._get(key) or {**values, "pending_version": None, "pending_until": None})
            return Claim("older" if older(current) else "busy", current)
        except BotoCoreError as exc:
            raise StorageError("could not claim a sync record") from exc
        old = _plain_record(answer.get("Attributes", {}))
        merged = {**old, **values}
        for name, members in (additions or {}).items():
            merged[name] = set(old.get(name) or ()) | members
        record = parse(merged)
        # An expired claim: an earlier attempt stopped somewhere after claiming, maybe after Xero had
        # already committed what it sent. A record of another organisation starts afresh there.
        uncertain = "pending_until" in old and old.get("tenant_id") in (None, condition_values[":tenant"])
        return Claim("claimed", record, uncertain=uncertain)

    def _record_unclaimed(
        self, key: dict[str, Any], values: dict[str, Any], condition: str, condition_values: dict[str, Any]
    ) -> None:
        try:
            self._update(key, values, condition=condition, condition_values=condition_values)
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise StorageError("could not store a sync record") from exc

    def _expire(self, key: dict[str, Any], version: int) -> None:
        try:
            self._update(
                key,
                {"pending_until": 0},
                condition="#pending_version = :claimed",
                condition_values={":claimed": version},
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise StorageError("could not release a sync record") from exc

    def _finish(self, key: dict[str, Any], values: dict[str, Any], version: int, *, clear_failure: bool = True) -> bool:
        removed = ["pending_version", "pending_until", *(CLEARED_FAILURE if clear_failure else ())]
        if clear_failure:
            removed.append("failed_version")
        try:
            self._update(
                key,
                values,
                removed=removed,
                condition="#pending_version = :claimed",
                condition_values={":claimed": version},
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                # Not ours (any more): the claim expired and another invocation took over.
                return False
            raise StorageError("could not store a sync record") from exc
        return True

    def _update(
        self,
        key: dict[str, Any],
        values: dict[str, Any],
        *,
        removed: list[str] | tuple[str, ...] = (),
        condition: str | None = None,
        condition_values: dict[str, Any] | None = None,
        increments: dict[str, int] | None = None,
        additions: dict[str, set[str]] | None = None,
    ) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=key,
                **update_arguments(
                    values,
                    removed=removed,
                    condition=condition,
                    condition_values=condition_values,
                    increments=increments,
                    additions=additions,
                ),
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                raise
            raise StorageError("could not store a sync record") from exc
        except BotoCoreError as exc:
            raise StorageError("could not store a sync record") from exc

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        try:
            answer = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not read a sync record") from exc
        item = answer.get("Item")
        return _plain_record(item) if item else None

    def _batch_get(self, account_id: str, sort_keys: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(sort_keys))
        try:
            for start in range(0, len(unique), 100):
                keys: list[Any] = [self._key(account_id, sk) for sk in unique[start : start + 100]]
                request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
                while request:
                    answer = self._client.batch_get_item(RequestItems=request)
                    found.extend(_plain_record(item) for item in answer.get("Responses", {}).get(self._table, []))
                    request = dict(answer.get("UnprocessedKeys") or {})
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not read the sync records of account {account_id}") from exc
        return found
