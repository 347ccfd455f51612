"""Items and tracking categories as Xero has them, and what a line naming them becomes: an unknown item
refused, an unknown, archived or renamed tracking option silently dropped, as at Xero."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from local.xero_sandbox import Sandbox, catalogue
from local.xero_sandbox.seed import ARCHIVED_ITEM, NZ_TENANT
from tests.sandbox.conftest import Api, create_contact, create_invoice, flask_sender, invoice, line


@pytest.fixture
def customer(xero: Api) -> str:
    return create_contact(xero, "Acme Ltd")


def region(xero: Api) -> dict[str, Any]:
    return next(c for c in xero.get("TrackingCategories").items("TrackingCategories") if c["Name"] == "Region")


def option_id(category: dict[str, Any], name: str) -> str:
    return str(next(o["TrackingOptionID"] for o in category["Options"] if o["Name"] == name))


def booked_tracking(xero: Api, customer: str, *entries: dict[str, Any], number: str = "INV-T") -> list[Any]:
    created = create_invoice(xero, customer, number, LineItems=[line(Tracking=list(entries))])
    return list(created["LineItems"][0]["Tracking"])


# --- items -----------------------------------------------------------------------------------------


def test_items_are_listed_without_the_archived_one_and_codes_hold_at_most_30_characters(xero: Api):
    items = xero.get("Items").items("Items")

    codes = [i["Code"] for i in items]
    assert "SOURDOUGH-LOAF" in codes
    assert ARCHIVED_ITEM not in codes
    assert max(len(c) for c in codes) == catalogue.ITEM_CODE_MAX
    loaf = next(i for i in items if i["Code"] == "SOURDOUGH-LOAF")
    assert loaf["SalesDetails"] == {"UnitPrice": 7.9, "AccountCode": "200", "TaxType": "OUTPUT2"}
    assert xero.get(f"Items/{loaf['ItemID']}").one("Items")["Code"] == "SOURDOUGH-LOAF"
    assert xero.get("Items/SOURDOUGH-LOAF").one("Items")["ItemID"] == loaf["ItemID"]
    assert xero.get(f"Items/{ARCHIVED_ITEM}").status == 404


def test_items_are_found_by_a_where_clause_on_their_ids(xero: Api):
    items = {i["Code"]: i["ItemID"] for i in xero.get("Items").items("Items")}
    wanted = f'ItemID==guid("{items["GIFT-WRAP"]}") OR ItemID==guid("{items["CONSULT-HOUR"].upper()}")'

    assert sorted(i["Code"] for i in xero.get("Items", where=wanted).items("Items")) == ["CONSULT-HOUR", "GIFT-WRAP"]
    assert xero.get("Items", where='Colour=="red"').status == 400


def test_items_and_tracking_categories_need_the_settings_scope(sandbox_app: Sandbox):
    without = Api(flask_sender(sandbox_app), sandbox_app.state.grant_access(["accounting.invoices"]))
    reading = Api(flask_sender(sandbox_app), sandbox_app.state.grant_access(["accounting.settings.read"]))

    assert without.get("Items").status == 403
    assert without.get("TrackingCategories").status == 403
    assert reading.get("Items").status == 200
    assert reading.get("TrackingCategories").status == 200


def test_a_line_naming_an_unknown_or_archived_item_is_refused_in_xeros_words(xero: Api, customer: str):
    body = {
        "Invoices": [
            invoice(customer, "INV-U", LineItems=[line(ItemCode="NOPE")]),
            invoice(customer, "INV-A", LineItems=[line(ItemCode=ARCHIVED_ITEM)]),
        ]
    }
    answer = xero.put("Invoices", body, summarizeErrors="false")

    results = answer.items("Invoices")
    assert [r["ValidationErrors"][0]["Message"] for r in results] == [
        "Item code 'NOPE' is not valid.",
        f"Item code '{ARCHIVED_ITEM}' is not valid.",
    ]


def test_an_item_fills_in_only_what_the_line_leaves_out(xero: Api, customer: str):
    bare = {"ItemCode": "SOURDOUGH-LOAF", "Quantity": Decimal(2)}
    priced = line("8.50", 2, ItemCode="SOURDOUGH-LOAF", AccountCode="260", Description="Our loaf")
    created = create_invoice(xero, customer, LineItems=[bare, priced])

    from_item, ours = created["LineItems"]
    assert (from_item["Description"], from_item["UnitAmount"], from_item["AccountCode"]) == (
        "Sourdough loaf, 800 g",
        7.9,
        "200",
    )
    assert (ours["Description"], ours["UnitAmount"], ours["AccountCode"], ours["ItemCode"]) == (
        "Our loaf",
        8.5,
        "260",
        "SOURDOUGH-LOAF",
    )
    assert created["Total"] == 37.72  # (15.80 + 17.00) + 15 % tax, per line


# --- tracking categories ---------------------------------------------------------------------------


def test_tracking_categories_show_active_options_and_archived_ones_only_when_asked(xero: Api):
    active = xero.get("TrackingCategories").items("TrackingCategories")
    everything = xero.get("TrackingCategories", includeArchived="true").items("TrackingCategories")

    assert {c["Name"]: [o["Name"] for o in c["Options"]] for c in active} == {
        "Region": ["North", "South"],
        "Department": ["Retail", "Wholesale"],
    }
    assert {c["Name"]: c["Status"] for c in everything} == {
        "Region": "ACTIVE",
        "Department": "ACTIVE",
        "Events 2025": "ARCHIVED",
    }
    assert "West Coast" in [o["Name"] for o in everything[0]["Options"]]


def test_a_line_keeps_tracking_named_by_ids_or_by_names_and_answers_both(xero: Api, customer: str):
    found = region(xero)
    north, south = option_id(found, "North"), option_id(found, "South")

    by_ids = booked_tracking(
        xero, customer, {"TrackingCategoryID": found["TrackingCategoryID"], "TrackingOptionID": north}, number="I-1"
    )
    by_names = booked_tracking(xero, customer, {"Name": "region", "Option": "south"}, number="I-2")

    assert by_ids == [
        {
            "Name": "Region",
            "Option": "North",
            "TrackingCategoryID": found["TrackingCategoryID"],
            "TrackingOptionID": north,
        }
    ]
    assert by_names[0]["TrackingOptionID"] == south


@pytest.mark.parametrize(
    "entry",
    [
        {"Name": "Region", "Option": "Narnia"},  # an option Xero does not know
        {"Name": "Region", "Option": "West Coast"},  # archived
        {"Name": "Events 2025", "Option": "Night Market"},  # an archived category
        {"Name": "Regio", "Option": "North"},  # a category Xero does not know
    ],
)
def test_tracking_xero_cannot_match_is_dropped_without_a_word(xero: Api, customer: str, entry: dict[str, Any]):
    created = create_invoice(xero, customer, LineItems=[line(Tracking=[entry])])

    assert created["Status"] == "AUTHORISED"
    assert created["LineItems"][0]["Tracking"] == []


def test_an_option_renamed_after_it_was_read_is_dropped_when_sent_with_its_old_name(
    sandbox_app: Sandbox, xero: Api, customer: str
):
    found = region(xero)
    north = option_id(found, "North")
    catalogue.rename_option(sandbox_app.state.organisations[NZ_TENANT], "Region", "North", "Northland")
    stale = {"TrackingCategoryID": found["TrackingCategoryID"], "Name": "Region", "TrackingOptionID": north}

    assert booked_tracking(xero, customer, stale | {"Option": "North"}, number="I-1") == []
    assert booked_tracking(xero, customer, stale | {"Option": "Northland"}, number="I-2")[0]["Option"] == "Northland"


def test_more_than_two_tracking_entries_are_refused_and_one_category_twice_keeps_the_last(xero: Api, customer: str):
    three = [{"Name": "Region", "Option": "North"}, {"Name": "Department", "Option": "Retail"}] * 2
    answer = xero.put("Invoices", {"Invoices": [invoice(customer, LineItems=[line(Tracking=three[:3])])]})
    twice = booked_tracking(
        xero, customer, {"Name": "Region", "Option": "North"}, {"Name": "Region", "Option": "South"}
    )

    assert answer.messages() == [catalogue.TOO_MANY_TRACKING]
    assert [t["Option"] for t in twice] == ["South"]
