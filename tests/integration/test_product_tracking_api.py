"""Product and tracking mappings through the management API (local HTTP API, real handler, moto, the Xero
sandbox): what Xero offers, each mapping saved against fresh Xero data, and each refusal in plain words."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from local.xero_sandbox import catalogue
from local.xero_sandbox.seed import ARCHIVED_ITEM, AU_TENANT, NZ_TENANT
from tests.support import flows
from tests.support.api import ManagementApi

ITEMS_CALL = "GET /api.xro/2.0/Items"
TRACKING_CALL = "GET /api.xro/2.0/TrackingCategories"
BASE = "/v1/accounts/acct_nz"


@pytest.fixture
def api() -> ManagementApi:
    return ManagementApi()


@pytest.fixture
def nz(service_env, sandbox) -> str:
    sandbox.sandbox.state.consent.tenant_ids = [NZ_TENANT]
    result = flows.connect_account(service_env, "acct_nz")
    assert result.callback is not None
    assert result.callback["statusCode"] == 200
    return BASE


def calls(sandbox, key: str) -> int:
    return int(sandbox.sandbox.state.stats[key])


def option_id(sandbox, category: str, option: str) -> str:
    org = sandbox.sandbox.state.organisations[NZ_TENANT]
    found = next(c for c in org.tracking_categories if c["Name"] == category)
    return str(next(o["TrackingOptionID"] for o in found["Options"] if o["Name"] == option))


# --- what Xero offers ----------------------------------------------------------------------------


def test_items_offered_are_the_sold_ones_and_tracking_the_active_categories_and_options(sandbox, api, nz):
    items = api.get(f"{nz}/items")
    categories = api.get(f"{nz}/tracking-categories")

    assert items.status == 200
    codes = [i["code"] for i in items.body["items"]]
    assert "SOURDOUGH-LOAF" in codes
    assert "WHOLESALE-CROISSANTS-BOX-OF-12" in codes
    assert "FLOUR-25KG" not in codes, "only purchased, never sold"
    assert ARCHIVED_ITEM not in codes
    loaf = next(i for i in items.body["items"] if i["code"] == "SOURDOUGH-LOAF")
    assert (loaf["name"], loaf["sales_account_code"]) == ("Sourdough loaf", "200")
    assert {c["name"]: [o["name"] for o in c["options"]] for c in categories.body["tracking_categories"]} == {
        "Region": ["North", "South"],
        "Department": ["Retail", "Wholesale"],
    }
    api.get(f"{nz}/items")
    assert calls(sandbox, ITEMS_CALL) == 1, "the second list came from the shared cache"
    api.get(f"{nz}/items", query="refresh=true")
    assert calls(sandbox, ITEMS_CALL) == 2


# --- products ------------------------------------------------------------------------------------


def test_products_map_to_an_item_an_account_or_both_and_are_listed_set_and_deleted(sandbox, api, nz):
    replaced = api.put(
        f"{nz}/product-mappings",
        {
            "mappings": [
                {"platform_product_id": "prod-sourdough", "item_code": "SOURDOUGH-LOAF"},
                {"platform_product_id": "prod-delivery", "account_code": "260"},
            ]
        },
    )
    one = api.put(
        f"{nz}/product-mappings/{quote('cat/croissants', safe='')}",
        {
            "item_code": "WHOLESALE-CROISSANTS-BOX-OF-12",
            "account_code": "260",
        },
    )
    listed = api.get(f"{nz}/product-mappings")
    deleted = api.delete(f"{nz}/product-mappings/prod-delivery")

    assert replaced.status == 200, replaced.body
    assert one.status == 200, one.body
    assert one.body == {
        "platform_product_id": "cat/croissants",
        "item_code": "WHOLESALE-CROISSANTS-BOX-OF-12",
        "item_name": "Croissants, box of 12 (wholesale)",
        "account_code": "260",
        "account_name": "Other Revenue",
    }
    assert [(m["platform_product_id"], m["item_code"], m["account_code"]) for m in listed.body["mappings"]] == [
        ("cat/croissants", "WHOLESALE-CROISSANTS-BOX-OF-12", "260"),
        ("prod-delivery", None, "260"),
        ("prod-sourdough", "SOURDOUGH-LOAF", None),
    ]
    assert [m["platform_product_id"] for m in deleted.body["mappings"]] == ["cat/croissants", "prod-sourdough"]
    assert api.get(f"{nz}/settings").body["product_mapping_count"] == 2
    assert calls(sandbox, ITEMS_CALL) == 2, "every write that names an item read Xero afresh"


@pytest.mark.parametrize(
    ("body", "code", "says"),
    [
        ({"item_code": "NOPE"}, "unknown_item_code", "Xero lists no item with the code 'NOPE'"),
        ({"item_code": ARCHIVED_ITEM}, "unknown_item_code", "an archived item is not listed"),
        ({"item_code": "FLOUR-25KG"}, "item_not_sold", 'tick "I sell this item"'),
        ({"account_code": "999"}, "unknown_account_code", "no account with the code '999'"),
        ({"account_code": "299"}, "account_archived", "archived"),
        ({"item_code": "SOURDOUGH-LOAF", "account_code": "090"}, "account_not_for_sales", "a bank account"),
        ({}, "invalid_request", "give an item_code, an account_code, or both"),
    ],
)
def test_a_product_mapping_xero_cannot_use_is_refused_and_nothing_is_written(api, nz, body, code, says):
    answer = api.put(f"{nz}/product-mappings/prod-1", body)

    assert answer.status == 422
    assert answer.code == code
    assert says in answer.body["error"]["message"] + " ".join(answer.body["error"].get("details") or [])
    assert api.get(f"{nz}/product-mappings").body["mappings"] == []


def test_product_ids_must_be_as_invoice_lines_carry_them_and_unknown_ones_cannot_be_deleted(api, nz):
    spaced = api.put(f"{nz}/product-mappings/{quote('has space', safe='')}", {"account_code": "260"})
    missing = api.delete(f"{nz}/product-mappings/prod-none")

    assert (spaced.status, spaced.code) == (422, "invalid_request")
    assert (missing.status, missing.code) == (404, "unknown_product_mapping")


# --- tracking ------------------------------------------------------------------------------------


def test_a_dimension_maps_to_a_category_value_by_value_by_names_or_ids(sandbox, api, nz):
    south = option_id(sandbox, "Region", "South")
    saved = api.put(
        f"{nz}/tracking-mappings/location",
        {"category": "region", "options": {"Auckland": "North", "Christchurch": south}},
    )
    spaced = api.put(
        f"{nz}/tracking-mappings/{quote('sales channel', safe='')}",
        {
            "category": "Department",
            "options": {"shop": "Retail"},
        },
    )
    listed = api.get(f"{nz}/tracking-mappings")

    assert saved.status == 200, saved.body
    assert saved.body["category_name"] == "Region"
    assert [(o["value"], o["option_name"]) for o in saved.body["options"]] == [
        ("Auckland", "North"),
        ("Christchurch", "South"),
    ]
    assert spaced.status == 200, spaced.body
    assert [m["dimension"] for m in listed.body["mappings"]] == ["location", "sales channel"]
    assert listed.body["unmapped_dimensions"] == "refuse"
    assert api.get(f"{nz}/settings").body["tracking_mapping_count"] == 2
    removed = api.delete(f"{nz}/tracking-mappings/{quote('sales channel', safe='')}")
    assert [m["dimension"] for m in removed.body["mappings"]] == ["location"]


@pytest.mark.parametrize(
    ("body", "code", "says"),
    [
        ({"category": "Regions", "options": {"a": "North"}}, "unknown_tracking_category", "no tracking category"),
        ({"category": "Events 2025", "options": {"a": "Night Market"}}, "tracking_category_archived", "archived"),
        ({"category": "Region", "options": {"a": "Narnia"}}, "unknown_tracking_option", "no option 'Narnia'"),
        ({"category": "Region", "options": {"a": "West Coast"}}, "tracking_option_archived", "drops an archived"),
        ({"category": "Region", "options": {}}, "invalid_request", "at least 1"),
    ],
)
def test_a_tracking_mapping_to_anything_but_an_active_option_is_refused(api, nz, body, code, says):
    answer = api.put(f"{nz}/tracking-mappings/location", body)

    assert (answer.status, answer.code) == (422, code)
    assert says in answer.body["error"]["message"] + " ".join(answer.body["error"].get("details") or [])
    assert api.get(f"{nz}/tracking-mappings").body["mappings"] == []


def test_two_dimensions_never_share_a_category_and_at_most_two_are_mapped(api, nz):
    assert api.put(f"{nz}/tracking-mappings/location", {"category": "Region", "options": {"a": "North"}}).status == 200
    shared = api.put(f"{nz}/tracking-mappings/branch", {"category": "Region", "options": {"b": "South"}})
    three = api.put(
        f"{nz}/tracking-mappings",
        {
            "mappings": [
                {"dimension": d, "category": c, "options": {"x": o}}
                for d, c, o in (("a", "Region", "North"), ("b", "Department", "Retail"), ("c", "Region", "South"))
            ]
        },
    )

    assert (shared.status, shared.code) == (422, "tracking_category_taken")
    assert "'location' already goes to the Xero tracking category 'Region'" in shared.body["error"]["message"]
    assert (three.status, three.code) == (422, "invalid_request")


def test_an_option_renamed_in_xero_is_mapped_by_its_new_name_at_once_as_saving_reads_xero_afresh(sandbox, api, nz):
    assert api.get(f"{nz}/tracking-categories").status == 200  # now in the shared cache
    catalogue.rename_option(sandbox.sandbox.state.organisations[NZ_TENANT], "Region", "North", "Northland")

    stale = api.put(f"{nz}/tracking-mappings/location", {"category": "Region", "options": {"Auckland": "North"}})
    fresh = api.put(f"{nz}/tracking-mappings/location", {"category": "Region", "options": {"Auckland": "Northland"}})

    assert stale.code == "unknown_tracking_option"
    assert fresh.status == 200
    assert fresh.body["options"][0]["option_name"] == "Northland"


def test_unmapped_dimensions_are_refused_by_default_and_can_be_ignored(api, nz):
    patched = api.patch(f"{nz}/settings", {"unmapped_dimensions": "ignore"})
    replaced = api.put(f"{nz}/tracking-mappings", {"mappings": [], "unmapped_dimensions": "refuse"})
    wrong = api.patch(f"{nz}/settings", {"unmapped_dimensions": "drop"})

    assert patched.body["unmapped_dimensions"] == "ignore"
    assert replaced.body["unmapped_dimensions"] == "refuse"
    assert (wrong.status, wrong.code) == (422, "invalid_request")


def test_another_organisation_clears_the_product_and_tracking_mappings(service_env, sandbox, api):
    sandbox.sandbox.state.consent.tenant_ids = None
    assert flows.connect_account(service_env, "acct_two").callback is not None
    base = "/v1/accounts/acct_two"
    assert api.put(f"{base}/organisation", {"tenant_id": NZ_TENANT}).status == 200
    assert api.put(f"{base}/product-mappings/p1", {"item_code": "SOURDOUGH-LOAF"}).status == 200
    assert (
        api.put(f"{base}/tracking-mappings/location", {"category": "Region", "options": {"a": "North"}}).status == 200
    )

    switched = api.put(f"{base}/organisation", {"tenant_id": AU_TENANT})

    assert switched.body["cleared_settings"] == ["product_mappings", "tracking_mappings"]
    assert api.get(f"{base}/product-mappings").body["mappings"] == []
    assert api.get(f"{base}/tracking-mappings").body["mappings"] == []
    assert api.get(f"{base}/connection").body["settings_needed"] == [
        "sales_account_code",
        "payment_account",
        "tax_mappings",
    ]
