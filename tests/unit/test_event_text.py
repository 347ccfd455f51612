"""Text in events is normalised before it can reach Xero: no invisible or control characters, one
space for any run of whitespace, NFC; a blank name is refused (it made a look-alike contact in Xero)."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from shared.domain.mapping import contact_element
from shared.models.events import ContactUpserted, InvoiceUpserted, parse_event
from shared.models.text import normalise_line, normalise_multiline

MESSAGES = Path(__file__).resolve().parents[2] / "events" / "messages"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
REFUSED = [chr(c) for c in (*range(0x09), 0x0E, 0x1B, 0x7F, 0x80, 0x9F)]


def contact(**data: Any) -> str:
    event = json.loads((MESSAGES / "01-contact-upserted.json").read_text())
    event["data"] |= data
    return json.dumps(event)


def invoice(**data: Any) -> str:
    event = json.loads((MESSAGES / "02-invoice-draft.json").read_text())
    event["data"] |= data
    return json.dumps(event)


def refusal(body: str) -> dict[str, Any]:
    with pytest.raises(ValidationError) as caught:
        parse_event(body)
    (error,) = caught.value.errors(include_url=False)
    return dict(error)


@pytest.mark.parametrize("name", [ZERO_WIDTH, "\u200b", " \u00a0\u3000\t\r\n", "\u3164\u2800", "\u034f\ufe0f"])
def test_a_contact_name_that_is_only_invisible_characters_is_refused(name: str) -> None:
    error = refusal(contact(name=name))

    assert error["loc"][-1] == "name"
    assert error["type"] == "blank_text"
    assert "blank" in error["msg"]


@pytest.mark.parametrize("char", REFUSED)
@pytest.mark.parametrize("field", ["name", "first_name", "last_name", "phone", "tax_number", "email"])
def test_nul_and_other_control_characters_are_refused_naming_the_character(char: str, field: str) -> None:
    error = refusal(contact(**{field: f"Harbour{char}Cafe" if field != "email" else f"a{char}@b.example"}))

    assert error["loc"][-1] == field
    assert error["type"] == "control_character"
    assert f"U+{ord(char):04X}" in error["msg"]


def test_names_are_normalised_before_they_reach_xero() -> None:
    event = parse_event(
        contact(
            name="  Harbour\u200b Cafe\r\n\tLtd\u00a0 ",
            first_name="Jose\u0301",
            last_name="O\u2060Neil\u200d",
            phone="+64\u202f9\t555 0100",
            tax_number="\ufeff123-456-789",
            addresses=[{"kind": "street", "line1": "1 Quay\nStreet", "city": "Auckland\u200e"}],
        )
    )
    assert isinstance(event, ContactUpserted)

    element = contact_element(event.data, xero_contact_id=None, name=event.data.name)

    assert element["Name"] == "Harbour Cafe Ltd"
    assert element["FirstName"] == "Jos\u00e9"  # one composed character
    assert element["LastName"] == "ONeil"
    assert element["Phones"][0]["PhoneNumber"] == "+64 9 555 0100"
    assert element["TaxNumber"] == "123-456-789"
    assert element["Addresses"][0]["AddressLine1"] == "1 Quay Street"
    assert element["Addresses"][0]["City"] == "Auckland"


def test_two_spellings_of_one_name_become_the_same_name() -> None:
    typed = parse_event(contact(name="Caf\u00e9 Ltd"))
    decomposed = parse_event(contact(name="Cafe\u0301\u00a0\u200bLtd"))

    assert typed.data.model_dump()["name"] == decomposed.data.model_dump()["name"] == "Caf\u00e9 Ltd"


def test_invoice_numbers_and_references_are_normalised_and_a_blank_number_refused() -> None:
    event = parse_event(invoice(number="INV\u200b-0042 ", reference="PO\t 77\r\n"))
    assert isinstance(event, InvoiceUpserted)

    assert (event.data.number, event.data.reference) == ("INV-0042", "PO 77")
    assert refusal(invoice(number="\u200b\u200b"))["type"] == "blank_text"
    assert refusal(invoice(number="INV\x000042"))["type"] == "control_character"


def test_line_descriptions_keep_their_line_breaks_but_not_controls() -> None:
    event = json.loads(invoice())
    event["data"]["line_items"][0]["description"] = "Consulting\r\n  March\u200b 2026\t(remote)\rsecond line\n\n"
    parsed = parse_event(json.dumps(event))
    assert isinstance(parsed, InvoiceUpserted)

    assert parsed.data.line_items[0].description == "Consulting\nMarch 2026 (remote)\nsecond line"
    event["data"]["line_items"][0]["description"] = "Consulting\x00"
    assert refusal(json.dumps(event))["type"] == "control_character"
    event["data"]["line_items"][0]["description"] = "\u200b\n\r\n"
    assert refusal(json.dumps(event))["type"] == "blank_text"


# --- the normalisers' properties ---------------------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8"), max_size=40) | st.text(
    st.sampled_from([*ZERO_WIDTH, " ", "\t", "\r", "\n", "\u00a0", "\u2028", "\u0301", "e", "\u00e9", "A", "\x00"]),
    max_size=20,
)


def _attempt(normalise: Any, value: str) -> str | None:
    """The normalised value, or None when it was refused for a control character (the only refusal)."""
    refused: list[str] = []
    try:
        result: str = normalise(value)
    except PydanticCustomError as exc:
        refused.append(exc.type)
    if refused:
        assert refused == ["control_character"]
        return None
    return result


def _has_control(value: str, *, allowed: str = "") -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cf", "Cs") and c not in allowed for c in value)


@given(TEXT)
@example("e\u200b\u0301")  # removing the invisible character lets the accent compose
@example("\u0958")  # a composition exclusion: NFC does not recompose it
def test_a_normalised_line_is_stable_single_line_and_free_of_controls(value: str) -> None:
    result = _attempt(normalise_line, value)
    if result is None:
        return
    assert normalise_line(result) == result, "idempotent"
    assert not _has_control(result)
    assert "  " not in result
    assert result == result.strip()
    assert unicodedata.is_normalized("NFC", result)


@given(TEXT)
def test_a_normalised_description_is_stable_and_keeps_only_line_feeds(value: str) -> None:
    result = _attempt(normalise_multiline, value)
    if result is None:
        return
    assert normalise_multiline(result) == result, "idempotent"
    assert not _has_control(result, allowed="\n")
    assert unicodedata.is_normalized("NFC", result)


@given(TEXT)
def test_an_accepted_name_is_never_blank(value: str) -> None:
    refusals: set[str] = set()
    try:
        event = parse_event(contact(name=value))
    except ValidationError as caught:
        refusals = {e["type"] for e in caught.errors()}
    if refusals:
        assert refusals <= {"blank_text", "control_character"}
        return
    name = event.data.model_dump()["name"]
    assert name.strip()
    assert normalise_line(name) == name
