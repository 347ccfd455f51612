"""Contacts: Xero's rules on names, numbers, emails and batches, and its lookups."""

from __future__ import annotations

import pytest

from local.xero_sandbox import contacts as rules
from local.xero_sandbox.state import SandboxState
from tests.sandbox.conftest import Api, contact, create_contact, create_invoice


def test_put_creates_a_contact_with_addresses_and_phones_stored(xero: Api):
    address = {"AddressType": "POBOX", "AddressLine1": "PO Box 1", "City": "Wellington", "PostalCode": "6011"}
    phone = {"PhoneType": "MOBILE", "PhoneNumber": "555-1212", "PhoneAreaCode": "021"}
    answer = xero.put(
        "Contacts",
        {
            "Contacts": [
                contact(
                    "Acme Ltd", ContactNumber="C-1", EmailAddress="ap@acme.test", Addresses=[address], Phones=[phone]
                )
            ]
        },
    )

    assert answer.status == 200
    created = answer.one("Contacts")
    assert created["StatusAttributeString"] == "OK"
    assert created["ContactStatus"] == "ACTIVE"
    fetched = xero.get(f"Contacts/{created['ContactID']}").one("Contacts")
    assert fetched["Addresses"] == [address]
    assert fetched["Phones"] == [phone]
    assert fetched["EmailAddress"] == "ap@acme.test"
    assert fetched["UpdatedDateUTC"].startswith("/Date(")
    assert xero.get("Contacts/C-1").one("Contacts")["ContactID"] == created["ContactID"]  # by ContactNumber


def test_name_must_be_unique_among_active_contacts_and_archived_ones_free_their_name(xero: Api):
    first = create_contact(xero, "Acme Ltd")

    again = xero.put("Contacts", {"Contacts": [contact("Acme Ltd")]})
    assert again.status == 400
    assert again.messages() == [rules.name_taken("Acme Ltd")]
    assert again.messages()[0] == (
        "The contact name Acme Ltd is already assigned to another contact. "
        "The contact name must be unique across all active contacts."
    )

    archived = xero.post(f"Contacts/{first}", {"Contacts": [{"ContactStatus": "ARCHIVED"}]})
    assert archived.one("Contacts")["ContactStatus"] == "ARCHIVED"
    assert xero.put("Contacts", {"Contacts": [contact("Acme Ltd")]}).status == 200


def test_contact_number_is_unique_across_all_contacts(xero: Api):
    create_contact(xero, "One", ContactNumber="C-1")

    answer = xero.put("Contacts", {"Contacts": [contact("Two", ContactNumber="C-1")]})

    assert answer.status == 400
    assert answer.messages() == [rules.number_taken("C-1")]


def test_contact_number_over_fifty_characters_is_refused(sandbox_app, xero: Api):
    too_long = "X" * 51
    strict = xero.put("Contacts", {"Contacts": [contact("Long", ContactNumber=too_long)]})
    assert strict.status == 400  # the spec's maxLength: 50, in strict mode
    assert "ContactNumber" in strict.body["Message"]
    assert sandbox_app.spec.take()

    sandbox_app.spec.strict = False
    lenient = xero.put("Contacts", {"Contacts": [contact("Long", ContactNumber=too_long)]})
    assert lenient.status == 400
    assert lenient.messages() == [rules.NUMBER_TOO_LONG]  # Xero's own rule, past the spec
    assert sandbox_app.spec.take()
    assert xero.get("Contacts").items("Contacts") == []


@pytest.mark.parametrize("email", ["not-an-address", "a@b", "two@@signs.test"])
def test_email_address_must_look_like_one(xero: Api, email: str):
    answer = xero.put("Contacts", {"Contacts": [contact("Mail", EmailAddress=email)]})

    assert answer.status == 400
    assert answer.messages() == ["Email address must be valid."]


def test_is_customer_and_is_supplier_are_derived_by_xero_not_written(xero: Api):
    contact_id = create_contact(xero, "Buyer", IsCustomer=True, IsSupplier=True)
    fetched = xero.get(f"Contacts/{contact_id}").one("Contacts")
    assert fetched["IsCustomer"] is False
    assert fetched["IsSupplier"] is False

    create_invoice(xero, contact_id)

    fetched = xero.get(f"Contacts/{contact_id}").one("Contacts")
    assert fetched["IsCustomer"] is True
    assert fetched["IsSupplier"] is False


def test_post_updates_by_contact_id_and_an_unknown_id_is_an_element_error(xero: Api):
    contact_id = create_contact(xero, "Old Name")

    updated = xero.post("Contacts", {"Contacts": [{"ContactID": contact_id, "Name": "New Name"}]})
    unknown = xero.post("Contacts", {"Contacts": [{"ContactID": "00000000-0000-0000-0000-000000000001", "Name": "X"}]})

    assert updated.one("Contacts")["Name"] == "New Name"
    assert len(xero.get("Contacts").items("Contacts")) == 1
    assert unknown.status == 400
    assert unknown.messages() == [rules.not_found("00000000-0000-0000-0000-000000000001")]


def test_post_with_a_known_contact_number_updates_that_contact_and_put_never_updates(xero: Api):
    contact_id = create_contact(xero, "Numbered", ContactNumber="C-9")

    posted = xero.post("Contacts", {"Contacts": [contact("Renamed", ContactNumber="C-9")]})
    put = xero.put("Contacts", {"Contacts": [{"ContactID": contact_id, "Name": "Again"}]})

    assert posted.one("Contacts")["ContactID"] == contact_id
    assert posted.one("Contacts")["Name"] == "Renamed"
    assert put.status == 400
    assert put.messages() == [rules.already_exists(contact_id)]


def test_batch_with_one_bad_element_is_a_400_listing_it_and_the_good_ones_are_saved(xero: Api):
    create_contact(xero, "Taken")
    body = {"Contacts": [contact("Fine One"), contact("Taken"), contact("Fine Two")]}

    answer = xero.put("Contacts", body)

    assert answer.status == 400
    assert answer.body["Type"] == "ValidationException"
    assert answer.body["ErrorNumber"] == 10
    assert answer.body["Message"] == "A validation exception occurred"
    assert [e["Name"] for e in answer.body["Elements"]] == ["Taken"]
    names = sorted(c["Name"] for c in xero.get("Contacts").items("Contacts"))
    assert names == ["Fine One", "Fine Two", "Taken"]  # as at Xero: the valid ones were created anyway


def test_summarize_errors_false_answers_200_with_every_element_and_marks_the_failed_ones(xero: Api):
    create_contact(xero, "Taken")

    answer = xero.put("Contacts", {"Contacts": [contact("Fine"), contact("Taken")]}, summarizeErrors="false")

    assert answer.status == 200
    fine, taken = answer.items("Contacts")
    assert fine["StatusAttributeString"] == "OK"
    assert fine["HasValidationErrors"] is False
    assert taken["StatusAttributeString"] == "ERROR"
    assert taken["HasValidationErrors"] is True
    assert taken["ValidationErrors"] == [{"Message": rules.name_taken("Taken")}]
    assert "ContactID" not in taken


def test_where_finds_a_batch_of_fifty_by_number_name_or_id_joined_by_or(xero: Api):
    batch = [contact(f"Customer {n}", ContactNumber=f"N-{n}") for n in range(60)]
    ids = [c["ContactID"] for c in xero.put("Contacts", {"Contacts": batch}).items("Contacts")]
    wanted = [f'ContactNumber=="N-{n}"' for n in range(48)] + ['Name=="Customer 50"', f'ContactID==guid("{ids[55]}")']

    found = xero.get("Contacts", where=" OR ".join(wanted)).items("Contacts")

    assert len(found) == 50
    assert {c["ContactNumber"] for c in found} == {f"N-{n}" for n in [*range(48), 50, 55]}


def test_ids_filter_paging_of_one_hundred_and_include_archived(xero: Api):
    batch = [contact(f"Paged {n:03}") for n in range(105)]
    ids = [c["ContactID"] for c in xero.put("Contacts", {"Contacts": batch}).items("Contacts")]
    xero.post(f"Contacts/{ids[0]}", {"Contacts": [{"ContactStatus": "ARCHIVED"}]})

    first = xero.get("Contacts", page=1)
    second = xero.get("Contacts", page=2)
    with_archived = xero.get("Contacts", page=2, includeArchived="true")
    by_ids = xero.get("Contacts", IDs=f"{ids[1]},{ids[2]}").items("Contacts")

    assert len(first.items("Contacts")) == 100
    assert len(second.items("Contacts")) == 4
    assert len(with_archived.items("Contacts")) == 5
    assert first.body["pagination"] == {"page": 1, "pageSize": 100, "pageCount": 2, "itemCount": 104}
    assert {c["ContactID"] for c in by_ids} == {ids[1], ids[2]}


def test_unsupported_where_clause_is_refused(xero: Api):
    answer = xero.get("Contacts", where='Name.StartsWith("A")')

    assert answer.status == 400


def test_scopes_are_enforced_for_reads_and_writes(sandbox_app, xero: Api):
    state: SandboxState = sandbox_app.state
    read_only = xero.with_token(state.grant_access(["accounting.contacts.read"]))
    invoices_only = xero.with_token(state.grant_access(["accounting.invoices"]))

    assert read_only.get("Contacts").status == 200
    assert read_only.put("Contacts", {"Contacts": [contact("Nope")]}).status == 403
    assert invoices_only.get("Contacts").status == 403
    assert xero.with_token("not-a-token").get("Contacts").status == 401
    assert xero.get("Contacts").items("Contacts") == []
