"""DynamoDB's wire format, and the key design of the service's single table.

| item                       | pk                        | sk                 |
| -------------------------- | ------------------------- | ------------------ |
| connection of an account   | ``ACCOUNT#<account id>``  | ``CONNECTION``     |
| settings of an account     | ``ACCOUNT#<account id>``  | ``SETTINGS``       |
| OAuth state (TTL)          | ``OAUTHSTATE#<sha256>``   | ``OAUTHSTATE``     |

Later items (sync records, budgets, email records, idempotency records) add rows to this table; the
README's "Data model" section is the full list. Connections carry ``sweep_pk``/``sweep_due_on``
while connected, which puts them in the sparse ``SweepIndex`` that the daily sweep reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def account_pk(account_id: str) -> str:
    return f"ACCOUNT#{account_id}"


def to_attr(value: Any) -> AttributeValueTypeDef:
    return _serializer.serialize(_dynamo_safe(value))


def to_item(values: dict[str, Any]) -> dict[str, AttributeValueTypeDef]:
    return {k: to_attr(v) for k, v in values.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _dynamo_safe(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _dynamo_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_dynamo_safe(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), bytes):  # boto3 Binary
        return bytes(value.value)
    return value


def update_arguments(
    values: dict[str, Any],
    *,
    removed: Iterable[str] = (),
    condition: str | None = None,
    condition_values: dict[str, Any] | None = None,
    increments: dict[str, int] | None = None,
    additions: dict[str, set[str]] | None = None,
) -> dict[str, Any]:
    """UpdateItem arguments that SET ``values`` (None values are REMOVEd), REMOVE ``removed``, count
    up ``increments`` and ADD the members of ``additions`` to string sets, every attribute name
    escaped, under an optional condition written with ``#name`` placeholders and ``:value`` names
    from ``condition_values``."""
    gone = [*removed, *(k for k, v in values.items() if v is None)]
    kept = {k: v for k, v in values.items() if v is not None}
    parts = []
    if kept or increments:
        sets = [f"#{k} = :{k}" for k in kept]
        sets += [f"#{k} = if_not_exists(#{k}, :zero) + :{k}" for k in increments or {}]
        parts.append("SET " + ", ".join(sets))
    if gone:
        parts.append("REMOVE " + ", ".join(f"#{k}" for k in gone))
    added = {k: v for k, v in (additions or {}).items() if v}
    if added:
        parts.append("ADD " + ", ".join(f"#{k} :{k}" for k in added))
    expression = " ".join(parts)
    arguments: dict[str, Any] = {"UpdateExpression": expression}
    names = set(re.findall(r"#(\w+)", f"{expression} {condition or ''}"))
    arguments["ExpressionAttributeNames"] = {f"#{n}": n for n in names}
    attr_values = {f":{k}": to_attr(v) for k, v in kept.items()}
    attr_values |= {f":{k}": to_attr(v) for k, v in (increments or {}).items()}
    if increments:
        attr_values[":zero"] = to_attr(0)
    attr_values |= {f":{k}": to_attr(set(v)) for k, v in added.items()}
    attr_values |= {k: to_attr(v) for k, v in (condition_values or {}).items()}
    if attr_values:
        arguments["ExpressionAttributeValues"] = attr_values
    if condition:
        arguments["ConditionExpression"] = condition
    return arguments


def is_conditional_failure(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") in (
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
    )
