"""Which platform account holds each unique key in a Xero organisation.

Several platform accounts may connect the same Xero organisation. Xero's unique keys (a sales
invoice number, a ContactNumber) are per organisation, while the platform's ids are per account: two
accounts may both have an invoice INV-1 and a contact ``cus-1``. Before the push creates or renumbers
anything in an organisation it claims the key here with a conditional write, so nothing one account
sends can ever adopt, update or void what another account created.

| item                    | pk                     | sk                                  |
| ----------------------- | ---------------------- | ----------------------------------- |
| invoice number held     | ``TENANT#<tenant id>`` | ``HOLD#INVOICE#<number, casefolded>`` |
| contact number held     | ``TENANT#<tenant id>`` | ``HOLD#CONTACT#<number>``           |

Xero's documentation does not say whether invoice numbers are unique regardless of case, so the
registry treats ``inv-1`` and ``INV-1`` as the same number (the safe side).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.dynamo import from_item, is_conditional_failure, to_attr, to_item
from shared.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KeyKind = Literal["INVOICE", "CONTACT"]


@dataclass(frozen=True)
class Holder:
    account_id: str
    object_id: str  # the platform's invoice or contact id


@dataclass(frozen=True)
class ContactInXero:
    """What the organisation's contact index knows of a contact number's contact in Xero."""

    xero_contact_id: str
    status: str = "ACTIVE"
    merged_to: str | None = None


class OrganisationRegistry:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def hold(self, tenant_id: str, kind: KeyKind, key: str, holder: Holder) -> Holder | None:
        """Hold ``key`` for ``holder``; None when it is held by them now, else whoever holds it."""
        item = {
            "pk": f"TENANT#{tenant_id}",
            "sk": _sk(kind, key),
            "key": key,
            "account_id": holder.account_id,
            "object_id": holder.object_id,
        }
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(pk) OR (account_id = :account AND object_id = :object)",
                ExpressionAttributeValues={
                    ":account": to_attr(holder.account_id),
                    ":object": to_attr(holder.object_id),
                },
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise StorageError(f"could not hold {kind.lower()} number {key}") from exc
            current = self.holders(tenant_id, kind, [key]).get(key)
            return current or Holder("", "")
        except BotoCoreError as exc:
            raise StorageError(f"could not hold {kind.lower()} number {key}") from exc
        return None

    def hold_all(self, tenant_id: str, kind: KeyKind, wanted: dict[str, Holder]) -> dict[str, Holder]:
        """Hold every key not held yet; who holds each key afterwards. Two requests for any number of
        keys (a read, then a batch write): the push is the only writer of an organisation's holds and an
        organisation has one push at a time, so no condition is needed."""
        holders = self.holders(tenant_id, kind, list(wanted))
        new = {k: h for k, h in wanted.items() if k not in holders}
        requests = [
            {
                "PutRequest": {
                    "Item": to_item(
                        {
                            "pk": f"TENANT#{tenant_id}",
                            "sk": _sk(kind, key),
                            "key": key,
                            "account_id": holder.account_id,
                            "object_id": holder.object_id,
                        }
                    )
                }
            }
            for key, holder in new.items()
        ]
        try:
            for start in range(0, len(requests), 25):
                pending: dict[str, Any] = {self._table: requests[start : start + 25]}
                while pending:
                    answer = self._client.batch_write_item(RequestItems=pending)
                    pending = dict(answer.get("UnprocessedItems") or {})
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not hold {kind.lower()} numbers") from exc
        return {**holders, **new}

    def holders(self, tenant_id: str, kind: KeyKind, keys: list[str]) -> dict[str, Holder]:
        """Who holds each of ``keys`` (absent: nobody)."""
        found = {
            str(item["key"]): Holder(str(item["account_id"]), str(item["object_id"]))
            for item in self._items(tenant_id, kind, keys)
        }
        # A casefolded invoice key read back under another spelling still answers for the one asked.
        if kind == "INVOICE":
            by_fold = {k.casefold(): h for k, h in found.items()}
            return {k: by_fold[k.casefold()] for k in keys if k.casefold() in by_fold}
        return found

    def _items(self, tenant_id: str, kind: KeyKind, keys: list[str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(keys))
        try:
            for start in range(0, len(unique), 100):
                request: dict[str, Any] = {
                    self._table: {
                        "Keys": [
                            {"pk": to_attr(f"TENANT#{tenant_id}"), "sk": to_attr(_sk(kind, k))}
                            for k in unique[start : start + 100]
                        ],
                        "ConsistentRead": True,
                    }
                }
                while request:
                    answer = self._client.batch_get_item(RequestItems=request)
                    items.extend(from_item(item) for item in answer.get("Responses", {}).get(self._table, []))
                    request = dict(answer.get("UnprocessedKeys") or {})
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not read who holds {kind.lower()} numbers") from exc
        return items

    # --- the organisation's contact index ------------------------------------------------------

    def contacts_in_xero(self, tenant_id: str, numbers: list[str]) -> dict[str, ContactInXero]:
        """For contact numbers held here: what Xero last said of their contact (absent: nothing changed)."""
        found: dict[str, ContactInXero] = {}
        for item in self._items(tenant_id, "CONTACT", numbers):
            if item.get("xero_status"):
                found[str(item["key"])] = ContactInXero(
                    str(item.get("xero_contact_id", "")), str(item["xero_status"]), item.get("merged_to")
                )
        return found

    def note_contacts(self, tenant_id: str, changed: dict[str, ContactInXero]) -> None:
        """Record what a delta read of Xero's contacts said of numbers held here."""
        held = self.holders(tenant_id, "CONTACT", list(changed))
        for number in held:
            contact = changed[number]
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key={"pk": to_attr(f"TENANT#{tenant_id}"), "sk": to_attr(_sk("CONTACT", number))},
                    UpdateExpression="SET xero_contact_id = :id, xero_status = :status, merged_to = :merged",
                    ExpressionAttributeValues={
                        ":id": to_attr(contact.xero_contact_id),
                        ":status": to_attr(contact.status),
                        ":merged": to_attr(contact.merged_to),
                    },
                )
            except (ClientError, BotoCoreError) as exc:
                raise StorageError(f"could not update contact number {number}") from exc

    def contacts_seen_at(self, tenant_id: str) -> float | None:
        try:
            answer = self._client.get_item(
                TableName=self._table,
                Key={"pk": to_attr(f"TENANT#{tenant_id}"), "sk": to_attr("HOLD#CONTACTS")},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not read when the contacts of {tenant_id} were read") from exc
        item = from_item(answer.get("Item") or {})
        return float(item["seen_at"]) if "seen_at" in item else None

    def mark_contacts_seen(self, tenant_id: str, at: float) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item({"pk": f"TENANT#{tenant_id}", "sk": "HOLD#CONTACTS", "seen_at": at}),
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not note when the contacts of {tenant_id} were read") from exc

    def release(self, tenant_id: str, kind: KeyKind, key: str, holder: Holder) -> None:
        """Let go of a number no longer used (an invoice renumbered); only its holder can."""
        try:
            self._client.delete_item(
                TableName=self._table,
                Key={"pk": to_attr(f"TENANT#{tenant_id}"), "sk": to_attr(_sk(kind, key))},
                ConditionExpression="account_id = :account AND object_id = :object",
                ExpressionAttributeValues={
                    ":account": to_attr(holder.account_id),
                    ":object": to_attr(holder.object_id),
                },
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise StorageError(f"could not release {kind.lower()} number {key}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not release {kind.lower()} number {key}") from exc


def _sk(kind: KeyKind, key: str) -> str:
    return f"HOLD#{kind}#{key.casefold() if kind == 'INVOICE' else key}"
