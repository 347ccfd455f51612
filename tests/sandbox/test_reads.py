"""Reads the service needs: summaryOnly, If-Modified-Since, createdByMyApp, pageSize, and bytes read (egress)."""

from __future__ import annotations

import pytest

from local.xero_sandbox.formats import iso_timestamp
from local.xero_sandbox.seed import NZ_TENANT
from tests.sandbox.conftest import START, Api, contact, create_contact, create_invoice, pay

FULL = contact(
    "Detailed Ltd",
    ContactNumber="D-1",
    EmailAddress="ap@detailed.example",
    BankAccountDetails="12-3456-7890123-00",
    TaxNumber="123-456-789",
    Addresses=[{"AddressType": "STREET", "City": "Wellington"}],
    Phones=[{"PhoneType": "DEFAULT", "PhoneNumber": "555 0101"}],
)


def test_a_contact_summary_leaves_out_addresses_phones_and_tax_details(xero: Api):
    xero.put("Contacts", {"Contacts": [FULL]})

    full = xero.get("Contacts").one("Contacts")
    summary = xero.get("Contacts", summaryOnly="true")

    brief = summary.one("Contacts")
    assert {"Addresses", "Phones", "TaxNumber"} <= set(full)
    assert not {"Addresses", "Phones", "TaxNumber", "ContactPersons", "ContactGroups"} & set(brief)
    for kept in ("ContactID", "Name", "ContactNumber", "EmailAddress", "BankAccountDetails", "UpdatedDateUTC"):
        assert brief[kept] == full[kept]
    assert summary.body["pagination"] == {"page": 1, "pageSize": 100, "pageCount": 1, "itemCount": 1}


def test_a_summary_is_paged_and_takes_page_size(xero: Api):
    xero.put("Contacts", {"Contacts": [contact(f"Summary {n}") for n in range(5)]})

    second = xero.get("Contacts", summaryOnly="true", page=2, pageSize=2)

    assert [c["Name"] for c in second.items("Contacts")] == ["Summary 2", "Summary 3"]
    assert second.body["pagination"] == {"page": 2, "pageSize": 2, "pageCount": 3, "itemCount": 5}


def test_an_invoice_summary_has_totals_but_no_lines_or_allocations(xero: Api):
    customer = create_contact(xero, "Summarised")
    invoice_id = create_invoice(xero, customer, "INV-SUM")["InvoiceID"]
    pay(xero, invoice_id, "10.00")

    paged_full = xero.get("Invoices", page=1).one("Invoices")
    summary = xero.get("Invoices", summaryOnly="true", page=1)

    brief = summary.one("Invoices")
    assert "LineItems" in paged_full
    for omitted in ("LineItems", "Payments", "CreditNotes", "Prepayments", "Overpayments"):
        assert omitted not in brief
    for kept in ("InvoiceID", "InvoiceNumber", "Status", "Total", "AmountDue", "AmountPaid", "UpdatedDateUTC"):
        assert brief[kept] == paged_full[kept]
    assert summary.body["pagination"]["itemCount"] == 1


def _at(seconds: float) -> str:
    return iso_timestamp(seconds)  # 2026-05-28T20:26:45, UTC without an offset, as Xero's docs write it


def test_if_modified_since_returns_only_contacts_changed_later(sandbox_app, xero: Api):
    clock = sandbox_app.state.clock
    old = create_contact(xero, "Old Ltd")
    clock.advance(10)
    create_contact(xero, "New Ltd")
    clock.advance(10)

    def changed_since(value: str) -> list[str]:
        answer = xero.call("GET", "Contacts", headers={"If-Modified-Since": value})
        assert answer.status == 200, answer.body
        return sorted(c["Name"] for c in answer.items("Contacts"))

    assert changed_since(_at(START + 5)) == ["New Ltd"]
    assert changed_since(_at(START)) == ["New Ltd"]  # strictly later: Old Ltd was changed at START itself
    assert changed_since("Thu, 28 May 2026 20:26:45 GMT") == ["New Ltd"]  # an HTTP date, START + 5
    assert changed_since("2026-05-28T08:26:45-12:00") == ["New Ltd"]  # an offset
    xero.post(f"Contacts/{old}", {"Contacts": [{"EmailAddress": "new@old.example"}]})
    assert changed_since(_at(START + 15)) == ["Old Ltd"]


def test_if_modified_since_returns_only_invoices_changed_later_and_a_payment_changes_one(sandbox_app, xero: Api):
    clock = sandbox_app.state.clock
    customer = create_contact(xero, "Changing")
    first = create_invoice(xero, customer, "INV-OLD")["InvoiceID"]
    clock.advance(10)
    create_invoice(xero, customer, "INV-NEW")
    clock.advance(10)
    pay(xero, first, "1.00")

    def changed_since(seconds: float) -> list[str]:
        answer = xero.call("GET", "Invoices", headers={"If-Modified-Since": _at(seconds)})
        return sorted(i["InvoiceNumber"] for i in answer.items("Invoices"))

    assert changed_since(START + 5) == ["INV-NEW", "INV-OLD"]  # INV-OLD was paid at START + 20
    assert changed_since(START + 15) == ["INV-OLD"]
    assert changed_since(START + 20) == []


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01T00:00:00", "/Date(1780000000000)/"])
def test_an_unreadable_if_modified_since_is_a_400(xero: Api, value: str):
    answer = xero.call("GET", "Invoices", headers={"If-Modified-Since": value})

    assert answer.status == 400
    assert "If-Modified-Since" in answer.body["Detail"]


def test_created_by_my_app_lists_only_the_invoices_this_app_created(sandbox_app, xero: Api):
    scopes = ["accounting.invoices", "accounting.contacts"]
    other = xero.with_token(sandbox_app.state.grant_access(scopes, client_id="OTHERAPP"))
    customer = create_contact(xero, "Shared Customer")
    mine = create_invoice(xero, customer, "INV-MINE")["InvoiceID"]
    create_invoice(other, customer, "INV-THEIRS")
    other.post(f"Invoices/{mine}", {"Invoices": [{"Reference": "changed by the other app"}]})

    def listed(api: Api, **params: str) -> list[str]:
        return sorted(i["InvoiceNumber"] for i in api.get("Invoices", **params).items("Invoices"))

    assert listed(xero, createdByMyApp="true") == ["INV-MINE"]  # changing it did not make it theirs
    assert listed(other, createdByMyApp="true") == ["INV-THEIRS"]
    assert listed(xero, createdByMyApp="false") == listed(xero) == ["INV-MINE", "INV-THEIRS"]


def test_invoices_take_page_size_as_contacts_do(xero: Api):
    customer = create_contact(xero, "Paged Invoices")
    for n in range(5):
        create_invoice(xero, customer, f"INV-P{n}")

    second = xero.get("Invoices", page=2, pageSize=2)

    assert [i["InvoiceNumber"] for i in second.items("Invoices")] == ["INV-P2", "INV-P3"]
    assert all("LineItems" in i for i in second.items("Invoices"))
    assert second.body["pagination"] == {"page": 2, "pageSize": 2, "pageCount": 3, "itemCount": 5}


def test_bytes_read_counts_the_body_of_every_get_answered_and_no_write(sandbox_app, xero: Api):
    customer = create_contact(xero, "Egress Ltd")
    create_invoice(xero, customer, "INV-EGRESS")
    reads = [xero.get("Contacts"), xero.get("Invoices", page=1), xero.get("Organisation"), xero.get("Invoices/nope")]

    org = sandbox_app.state.organisations[NZ_TENANT]
    assert org.stats["bytes read"] == sum(len(answer.raw) for answer in reads)
    assert sandbox_app.state.stats["bytes read"] == org.stats["bytes read"]


def test_search_term_finds_contacts_by_any_of_the_searched_fields_ignoring_case(xero: Api):
    xero.put(
        "Contacts",
        {
            "Contacts": [
                contact('O"Brien Ltd', EmailAddress="ap@obrien.example"),
                contact("Other", ContactNumber="cus-OBRIEN"),
                contact("Unrelated"),
            ]
        },
    )
    found = xero.get("Contacts", searchTerm="obrien").body["Contacts"]
    assert sorted(c["Name"] for c in found) == ['O"Brien Ltd', "Other"]
