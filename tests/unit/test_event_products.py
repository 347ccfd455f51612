"""A line's product and its dimensions in the event contract: normalised like all text, bounded, and never
two names that would silently become one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from shared.models.events import MAX_DIMENSIONS, InvoiceUpserted, parse_event

MESSAGES = Path(__file__).resolve().parents[2] / "events" / "messages"


def with_line(**line: Any) -> str:
    event = json.loads((MESSAGES / "10-invoice-products.json").read_text())
    event["data"]["line_items"][0] |= line
    return json.dumps(event)


def first_line(body: str) -> Any:
    event = parse_event(body)
    assert isinstance(event, InvoiceUpserted)
    return event.data.line_items[0]


def refused(body: str) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        parse_event(body)
    return [(str(e["loc"][-1]), str(e["type"])) for e in caught.value.errors(include_url=False)]


def test_the_sample_carries_products_and_a_location_on_its_lines() -> None:
    event = parse_event((MESSAGES / "10-invoice-products.json").read_text())

    assert isinstance(event, InvoiceUpserted)
    lines = event.data.line_items
    assert [line.product_id for line in lines] == ["prod-sourdough", "prod-delivery", "prod-gift-card"]
    assert [line.tracking for line in lines] == [{"location": "Auckland"}, {"location": "Auckland"}, {}]


def test_dimension_names_and_values_are_normalised_like_other_text() -> None:
    line = first_line(with_line(tracking={" loca\u200btion ": "Wel\u00a0 lington\n"}))

    assert line.tracking == {"location": "Wel lington"}


def test_a_line_without_product_or_dimensions_is_as_it_was() -> None:
    line = first_line(with_line(product_id=None, tracking={}))

    assert (line.product_id, line.tracking) == (None, {})


@pytest.mark.parametrize(
    ("tracking", "problem"),
    [
        ({"location": " \u200b "}, ("location", "blank_text")),
        ({"location": "Wellington\x00"}, ("location", "control_character")),
        ({"location": "x" * 101}, ("location", "too_long")),
        ({str(n): "v" for n in range(MAX_DIMENSIONS + 1)}, ("tracking", "too_long")),
        ({"location": "A", "loca\u200btion": "B"}, ("tracking", "value_error")),
    ],
)
def test_blank_oversized_too_many_or_colliding_dimensions_are_refused_at_parsing(
    tracking: dict[str, str], problem: tuple[str, str]
) -> None:
    assert problem in refused(with_line(tracking=tracking))


@pytest.mark.parametrize("product_id", ["", "has space", "x" * 129])
def test_a_product_id_is_an_identifier(product_id: str) -> None:
    assert [loc for loc, _ in refused(with_line(product_id=product_id))] == ["product_id"]
