"""Each Xero organisation's outbox: the events waiting to be pushed to it, in DynamoDB.

| item                    | pk                      | sk                                             |
| ----------------------- | ----------------------- | ---------------------------------------------- |
| waiting event           | ``OUTBOX#<tenant id>``  | ``E#<lane>#<sent at, ms>#<SQS message id>``    |
| flush generation        | ``OUTBOX#<tenant id>``  | ``HEAD``                                       |
| in-flight note          | ``OUTBOX#<tenant id>``  | ``INFLIGHT#<account id>``                      |

The intake writes events here (25 a request) and sends the organisation a flush ticket; the push
(one flush per organisation at a time) reads them oldest first, lane 0 (live events) before lane 1
(an account's history being backfilled), and deletes or reschedules each as its fate says. An event
written twice (SQS delivers at least once) lands on the same key. The flush generation, bumped when
a flush starts, names the flush ticket (its deduplication id), so a ticket sent after a flush began
is never swallowed by the deduplication of the one being worked. The in-flight note names what a
flush sent to Xero and has not recorded yet: after a crash the next flush looks for those in Xero
before creating anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.dynamo import from_item, to_attr, to_item
from shared.adapters.sync_records import compress, decompress
from shared.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LIVE, BACKFILL = 0, 1
PAGE = 1000


@dataclass(frozen=True)
class OutboxItem:
    key: str  # the sort key
    account_id: str
    body: str
    message_id: str
    sent_at: float  # when it reached the outbox (epoch seconds, the push's clock)
    lane: int = LIVE
    attempts: int = 0  # tries that ended in a retry
    deferrals: int = 0
    not_before: float = 0.0
    subject: str = ""  # what the event is about (an invoice, a payment, a contact): versions share it

    @staticmethod
    def new(
        account_id: str,
        body: str,
        message_id: str,
        queued_at: float,
        lane: int = LIVE,
        *,
        published_ms: int = 0,
        subject: str = "",
    ) -> OutboxItem:
        """An event queued now; its key orders it by when the platform published it (the same key when
        SQS delivers the message again)."""
        key = f"E#{lane}#{(published_ms or int(queued_at * 1000)):013d}#{message_id}"
        return OutboxItem(key, account_id, body, message_id, queued_at, lane, subject=subject)


@dataclass
class InFlight:
    """What a flush sent to Xero for one account and has not recorded: invoice ids with the numbers
    sent, and payment ids."""

    invoices: dict[str, set[str]] = field(default_factory=dict)
    payments: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.invoices or self.payments)

    def add(self, other: InFlight) -> None:
        for invoice_id, numbers in other.invoices.items():
            self.invoices.setdefault(invoice_id, set()).update(numbers)
        self.payments |= other.payments

    def without(self, invoices: set[str], payments: set[str]) -> InFlight:
        return InFlight({i: n for i, n in self.invoices.items() if i not in invoices}, self.payments - payments)


@dataclass
class Depth:
    """One account's events in its organisation's outbox (:meth:`Outbox.depth`)."""

    account: int = 0  # the account's events waiting
    through_last: int = 0  # the organisation's events up to and including the account's last one
    oldest: float | None = None  # when the account's oldest waiting event was queued
    complete: bool = True  # False: the count stopped at its limit


class Outbox:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # --- the intake ------------------------------------------------------------------------------

    def put(self, tenant_id: str, items: list[OutboxItem]) -> None:
        self._write([{"PutRequest": {"Item": to_item(self._item(tenant_id, i))}} for i in items])

    def generations(self, tenant_ids: list[str]) -> dict[str, int]:
        """Each organisation's flush generation (0 before its first flush), read consistently."""
        found: dict[str, int] = dict.fromkeys(tenant_ids, 0)
        unique = list(dict.fromkeys(tenant_ids))
        try:
            for start in range(0, len(unique), 100):
                keys = [self._key(t, "HEAD") for t in unique[start : start + 100]]
                request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
                while request:
                    answer = self._client.batch_get_item(RequestItems=request)
                    for item in answer.get("Responses", {}).get(self._table, []):
                        values = from_item(item)
                        found[str(values["pk"]).removeprefix("OUTBOX#")] = int(values.get("generation", 0))
                    request = dict(answer.get("UnprocessedKeys") or {})
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not read the outboxes' flush generations") from exc
        return found

    # --- the flush -------------------------------------------------------------------------------

    def start_flush(self, tenant_id: str) -> int:
        """A flush begins: the generation moves on (later tickets are new tickets)."""
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=self._key(tenant_id, "HEAD"),
                UpdateExpression="ADD generation :one",
                ExpressionAttributeValues={":one": to_attr(1)},
                ReturnValues="UPDATED_NEW",
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not start the flush of organisation {tenant_id}") from exc
        return int(from_item(answer.get("Attributes", {})).get("generation", 1))

    def read(self, tenant_id: str, limit: int, lane: int | None = None) -> list[OutboxItem]:
        """The oldest ``limit`` waiting events, live lane first, or of one ``lane`` (strongly consistent:
        nothing written before this flush began is missed)."""
        items: list[OutboxItem] = []
        prefix = "E#" if lane is None else f"E#{lane}#"
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :e)",
            "ExpressionAttributeValues": {":pk": to_attr(f"OUTBOX#{tenant_id}"), ":e": to_attr(prefix)},
            "ConsistentRead": True,
            "Limit": min(limit, PAGE),
        }
        try:
            while len(items) < limit:
                answer = self._client.query(**kwargs)
                items.extend(self._outbox_item(from_item(i)) for i in answer.get("Items", []))
                if "LastEvaluatedKey" not in answer:
                    break
                kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not read the outbox of organisation {tenant_id}") from exc
        return items[:limit]

    def count(self, tenant_id: str) -> dict[int, int]:
        """How many events wait, per lane (for the backlog figure)."""
        counts = {LIVE: 0, BACKFILL: 0}
        for lane in counts:
            kwargs: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :e)",
                "ExpressionAttributeValues": {":pk": to_attr(f"OUTBOX#{tenant_id}"), ":e": to_attr(f"E#{lane}#")},
                "Select": "COUNT",
            }
            try:
                while True:
                    answer = self._client.query(**kwargs)
                    counts[lane] += int(answer.get("Count", 0))
                    if "LastEvaluatedKey" not in answer:
                        break
                    kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
            except (ClientError, BotoCoreError) as exc:
                raise StorageError(f"could not count the outbox of organisation {tenant_id}") from exc
        return counts

    def waiting(self, tenant_id: str, *, limit: int) -> int:
        """How many events wait in the organisation's outbox, counted up to about ``limit`` (whoever's
        they are): what the push still needs calls for."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :e)",
            "ExpressionAttributeValues": {":pk": to_attr(f"OUTBOX#{tenant_id}"), ":e": to_attr("E#")},
            "Select": "COUNT",
        }
        count = 0
        try:
            while count < limit:
                answer = self._client.query(**kwargs)
                count += int(answer.get("Count", 0))
                if "LastEvaluatedKey" not in answer:
                    break
                kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not count the outbox of organisation {tenant_id}") from exc
        return count

    def depth(self, tenant_id: str, account_id: str, *, limit: int, lane: int | None = None) -> Depth:
        """How many of ``account_id``'s events wait here (on one ``lane``, or all), and how many of the
        organisation's go before its last one is pushed (oldest first); read up to ``limit`` events
        (eventually consistent: a figure for a page, not for the push)."""
        depth = Depth()
        seen = 0
        prefix = "E#" if lane is None else f"E#{lane}#"
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :e)",
            "ExpressionAttributeValues": {":pk": to_attr(f"OUTBOX#{tenant_id}"), ":e": to_attr(prefix)},
            "ProjectionExpression": "account_id, sent_at",
        }
        try:
            while seen < limit:
                kwargs["Limit"] = min(PAGE, limit - seen)
                answer = self._client.query(**kwargs)
                for item in answer.get("Items", []):
                    seen += 1
                    values = from_item(item)
                    if values.get("account_id") == account_id:
                        depth.account += 1
                        depth.through_last = seen
                        sent = float(values.get("sent_at", 0))
                        depth.oldest = min(depth.oldest or sent, sent)
                if "LastEvaluatedKey" not in answer:
                    return depth
                kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not count the outbox of organisation {tenant_id}") from exc
        depth.complete = False
        return depth

    def settle(self, tenant_id: str, done: list[str], later: list[OutboxItem]) -> None:
        """Delete the events that are settled; store the new schedule of those that wait."""
        requests: list[dict[str, Any]] = [{"DeleteRequest": {"Key": self._key(tenant_id, k)}} for k in done]
        requests += [{"PutRequest": {"Item": to_item(self._item(tenant_id, i))}} for i in later]
        self._write(requests)

    def in_flight(self, tenant_id: str) -> dict[str, InFlight]:
        """What earlier flushes sent to Xero and did not record, per account."""
        try:
            answer = self._client.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :f)",
                ExpressionAttributeValues={":pk": to_attr(f"OUTBOX#{tenant_id}"), ":f": to_attr("INFLIGHT#")},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not read the in-flight notes of organisation {tenant_id}") from exc
        found: dict[str, InFlight] = {}
        for item in answer.get("Items", []):
            values = from_item(item)
            invoices = {k: set(v) for k, v in (values.get("invoices") or {}).items()}
            found[str(values["account_id"])] = InFlight(invoices, set(values.get("payments") or ()))
        return found

    def note_in_flight(self, tenant_id: str, account_id: str, sent: InFlight) -> None:
        """Before a write to Xero: what it carries (kept until the flush has recorded the answer)."""
        if not sent:
            self.clear_in_flight(tenant_id, account_id)
            return
        item = {
            **self._key_values(tenant_id, f"INFLIGHT#{account_id}"),
            "account_id": account_id,
            "invoices": {k: sorted(v) for k, v in sent.invoices.items()} or None,
            "payments": set(sent.payments) or None,
        }
        try:
            self._client.put_item(TableName=self._table, Item=to_item(item))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not note what is in flight to organisation {tenant_id}") from exc

    def clear_in_flight(self, tenant_id: str, account_id: str) -> None:
        try:
            self._client.delete_item(TableName=self._table, Key=self._key(tenant_id, f"INFLIGHT#{account_id}"))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not clear what was in flight to organisation {tenant_id}") from exc

    # --- plumbing --------------------------------------------------------------------------------

    def _write(self, requests: list[dict[str, Any]]) -> None:
        # One request per key (DynamoDB refuses a batch naming a key twice): SQS may hand the intake
        # one message twice in a batch; the later request for a key is the one kept.
        requests = list({_request_key(r): r for r in requests}.values())
        try:
            for start in range(0, len(requests), 25):
                pending: dict[str, Any] = {self._table: requests[start : start + 25]}
                for _ in range(8):
                    answer = self._client.batch_write_item(RequestItems=pending)
                    pending = dict(answer.get("UnprocessedItems") or {})
                    if not pending:
                        break
                else:
                    raise StorageError("the outbox kept refusing writes")
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not write to the outbox") from exc

    @staticmethod
    def _key_values(tenant_id: str, sk: str) -> dict[str, str]:
        return {"pk": f"OUTBOX#{tenant_id}", "sk": sk}

    def _key(self, tenant_id: str, sk: str) -> dict[str, Any]:
        return {"pk": to_attr(f"OUTBOX#{tenant_id}"), "sk": to_attr(sk)}

    def _item(self, tenant_id: str, item: OutboxItem) -> dict[str, Any]:
        return {
            **self._key_values(tenant_id, item.key),
            "account_id": item.account_id,
            "body_z": compress(item.body),
            "message_id": item.message_id,
            "sent_at": item.sent_at,
            "lane": item.lane,
            "attempts": item.attempts or None,
            "deferrals": item.deferrals or None,
            "not_before": item.not_before or None,
            "subject": item.subject or None,
        }

    @staticmethod
    def _outbox_item(values: dict[str, Any]) -> OutboxItem:
        blob = values.get("body_z")
        return OutboxItem(
            key=str(values["sk"]),
            account_id=str(values["account_id"]),
            body=decompress(bytes(blob)) if isinstance(blob, bytes | bytearray) else "",
            message_id=str(values.get("message_id", "")),
            sent_at=float(values.get("sent_at", 0)),
            lane=int(values.get("lane", LIVE)),
            attempts=int(values.get("attempts", 0)),
            deferrals=int(values.get("deferrals", 0)),
            not_before=float(values.get("not_before", 0)),
            subject=str(values.get("subject") or ""),
        )


def rescheduled(item: OutboxItem, *, not_before: float, retried: bool) -> OutboxItem:
    if retried:
        return replace(item, not_before=not_before, attempts=item.attempts + 1)
    return replace(item, not_before=not_before, deferrals=item.deferrals + 1)


def _request_key(request: dict[str, Any]) -> tuple[str, str]:
    key = request["DeleteRequest"]["Key"] if "DeleteRequest" in request else request["PutRequest"]["Item"]
    return str(key["pk"]["S"]), str(key["sk"]["S"])
