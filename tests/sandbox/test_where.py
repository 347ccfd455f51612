"""where=, parsed as Xero parses it: doubled quotes, Xero's QueryParseException, Name without case or accents."""

from __future__ import annotations

import pytest

from local.xero_sandbox.where import SYNTAX_ERROR, UNTERMINATED, no_such_field, quote
from tests.sandbox.conftest import Api, create_contact, create_invoice


def names(api: Api, where: str, resource: str = "Contacts") -> list[str]:
    answer = api.get(resource, where=where)
    assert answer.status == 200, answer.body
    return sorted(c["Name"] for c in answer.items(resource))


def test_name_is_case_and_accent_insensitive(xero: Api):
    create_contact(xero, "Café Crème")
    create_contact(xero, "Cafe Creme Two")

    assert names(xero, 'Name=="cafe creme"') == ["Café Crème"]
    assert names(xero, 'Name=="CAFÉ CRÈME"') == ["Café Crème"]


def test_an_invoices_contact_name_is_insensitive_too(xero: Api):
    customer = create_contact(xero, "Zoë Ltd")
    create_invoice(xero, customer, "INV-ZOE")

    found = xero.get("Invoices", where='Contact.Name=="ZOE LTD"').items("Invoices")

    assert [i["InvoiceNumber"] for i in found] == ["INV-ZOE"]


def test_contact_number_matches_exactly(xero: Api):
    create_contact(xero, "Numbered", ContactNumber="N-1")

    assert names(xero, 'ContactNumber=="N-1"') == ["Numbered"]
    assert names(xero, 'ContactNumber=="n-1"') == []


def test_a_double_quote_inside_a_value_is_written_twice(xero: Api):
    create_contact(xero, 'O"Brien Ltd')

    assert quote('O"Brien Ltd') == '"O""Brien Ltd"'
    assert names(xero, 'Name=="O""Brien Ltd"') == ['O"Brien Ltd']
    name = 'O"Brien Ltd'
    assert names(xero, f'Name=={quote(name)} OR Name=="Nobody"') == [name]


def test_a_backslash_is_an_ordinary_character(xero: Api):
    create_contact(xero, "Back\\Slash")

    assert names(xero, 'Name=="Back\\Slash"') == ["Back\\Slash"]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ('Name=="O\\"Brien Ltd"', SYNTAX_ERROR),  # backslash escaping is not Xero's: the string ends at \"
        ('Name=="O"Brien Ltd"', SYNTAX_ERROR),
        ('Name=="never closed', UNTERMINATED),
        ('Name=="A" OR', SYNTAX_ERROR),
        ('Name=="A" XOR Name=="B"', SYNTAX_ERROR),
        ("Name==A", SYNTAX_ERROR),
        ('Nmae=="A"', no_such_field("Nmae", "Contact")),
    ],
)
def test_malformed_clauses_get_xeros_query_parse_exception(xero: Api, where: str, message: str):
    answer = xero.get("Contacts", where=where)

    assert answer.status == 400
    assert answer.body == {"ErrorNumber": 16, "Type": "QueryParseException", "Message": message}


def test_joins_and_equals_as_xero_writes_them(xero: Api):
    for name in ("One", "Two", "Three"):
        create_contact(xero, name, ContactNumber=name.upper())

    assert names(xero, 'Name="One" or Name=="Two"') == ["One", "Two"]
    assert names(xero, 'Name=="One" || ContactNumber=="THREE"') == ["One", "Three"]
    assert names(xero, 'Name=="One" && ContactNumber=="ONE" OR Name=="Two" AND ContactNumber=="NOPE"') == ["One"]


def test_invoice_fields_xero_has_but_the_sandbox_does_not_compare_are_refused_plainly(xero: Api):
    answer = xero.get("Invoices", where='Total=="10"')
    unknown = xero.get("Invoices", where='Totl=="10"')

    assert answer.status == unknown.status == 400
    assert "not supported: filtering on Total" in answer.body["Message"]
    assert unknown.body["Message"] == no_such_field("Totl", "Invoice")
