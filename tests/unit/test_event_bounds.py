"""The event contract bounds every number the platform sends to what DynamoDB and Xero hold, so one
absurd value fails its own event at parsing (malformed, with the reason), never a write later."""

from __future__ import annotations

import decimal
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from shared.adapters.dynamo import to_attr
from shared.models.events import MAX_EVENT_BYTES, VERSION_MAX, parse_event

MESSAGES = Path(__file__).resolve().parents[2] / "events" / "messages"
VERSIONED = ["02-invoice-draft.json", "08-invoice-voided.json", "01-contact-upserted.json"]


def message(name: str, **data: Any) -> str:
    event = json.loads((MESSAGES / name).read_text())
    event["data"] |= data
    return json.dumps(event)


def problems(body: str) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        parse_event(body)
    return [dict(e) for e in caught.value.errors(include_url=False)]


@pytest.mark.parametrize("name", VERSIONED)
@pytest.mark.parametrize("version", [10**40, VERSION_MAX + 1, -(2**63), 0])
def test_a_version_beyond_a_signed_64_bit_integer_is_refused_at_parsing(name: str, version: int) -> None:
    found = problems(message(name, version=version))

    assert [(e["loc"][-1], e["type"]) for e in found] == [
        ("version", "less_than_equal" if version > 0 else "greater_than_equal")
    ]


@pytest.mark.parametrize("name", VERSIONED)
def test_the_largest_signed_64_bit_version_is_accepted_and_fits_dynamodb(name: str) -> None:
    event = parse_event(message(name, version=VERSION_MAX))

    version = event.data.model_dump()["version"]
    assert version == VERSION_MAX
    assert to_attr(version) == {"N": str(VERSION_MAX)}, "the sync record's write takes it"


def test_what_the_bound_keeps_out_is_what_dynamodb_cannot_store() -> None:
    with pytest.raises(decimal.Rounded):  # what failed every message of the batch, on every receive
        to_attr(10**40)


def test_the_version_bound_is_in_the_published_schema() -> None:
    schema = json.loads((MESSAGES.parent / "schema" / "invoice.upserted.schema.json").read_text())
    version = schema["$defs"]["Invoice"]["properties"]["version"]

    assert (version["minimum"], version["maximum"]) == (1, VERSION_MAX)
    assert "64-bit" in version["description"]


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        ("04-payment-partial.json", "amount", "1E+40"),
        ("04-payment-partial.json", "amount", 1e308),
        ("04-payment-partial.json", "amount", "NaN"),
        ("04-payment-partial.json", "amount", "Infinity"),
        ("04-payment-partial.json", "amount", "0.001"),
    ],
)
def test_amounts_are_finite_with_at_most_15_digits_and_2_places(name: str, field: str, value: Any) -> None:
    assert [e["loc"][-1] for e in problems(message(name, **{field: value}))] == [field]


def test_every_amount_the_contract_allows_is_exact_in_dynamodb_and_in_xero_json() -> None:
    event = parse_event(message("04-payment-partial.json", amount="9999999999999.99"))

    amount = event.data.model_dump()["amount"]
    assert amount == Decimal("9999999999999.99")
    assert Decimal(str(float(amount))) == amount, "the float Xero receives is the same number"


def test_a_body_larger_than_sqs_carries_is_refused_with_its_size() -> None:
    event = json.loads((MESSAGES / "02-invoice-draft.json").read_text())
    line = event["data"]["line_items"][0]
    event["data"]["line_items"] = [line | {"description": "x" * 4000} for _ in range(270)]
    body = json.dumps(event)
    assert len(body) > MAX_EVENT_BYTES

    found = problems(body)

    assert [e["type"] for e in found] == ["event_too_large"]
    assert f"at most {MAX_EVENT_BYTES} bytes" in found[0]["msg"]
