"""Products and tracking through the push: the real handler against the Xero sandbox over HTTP, mappings
saved through the management API. What lands in Xero, and every line refused before anything is sent for
what Xero would otherwise drop or refuse: the sandbox drops an unknown option silently, as Xero does, so
these tests prove the push never relies on Xero to notice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from local.xero_sandbox import SandboxServer, catalogue
from local.xero_sandbox.seed import ARCHIVED_ITEM, NZ_TENANT
from shared import wiring
from shared.models.records import InvoiceRecord
from tests.support.api import ManagementApi
from tests.support.push import configure, dead_letters, invoke, message, org, sqs_event

pytestmark = pytest.mark.usefixtures("service_env")
ACCOUNT = "acct-demo"
BASE = f"/v1/accounts/{ACCOUNT}"
REGION_OPTIONS = {"Auckland": "North", "Christchurch": "South"}
REGION = {"category": "Region", "options": REGION_OPTIONS}


@pytest.fixture
def api() -> ManagementApi:
    return ManagementApi()


@pytest.fixture
def account(service_env: dict[str, str], sandbox: SandboxServer, api: ManagementApi) -> dict[str, str]:
    """acct-demo on the NZ organisation, with the sample's products and its location mapped."""
    configure(service_env, sandbox, ACCOUNT)
    products = {
        "mappings": [
            {"platform_product_id": "prod-sourdough", "item_code": "SOURDOUGH-LOAF"},
            {"platform_product_id": "prod-delivery", "account_code": "260"},
        ]
    }
    assert api.put(f"{BASE}/product-mappings", products).status == 200
    assert api.put(f"{BASE}/tracking-mappings/location", REGION).status == 200
    return service_env


def xero_org(sandbox: SandboxServer) -> Any:
    return sandbox.sandbox.state.organisations[NZ_TENANT]


def record(invoice_id: str = "inv-5006") -> InvoiceRecord:
    found = wiring.sync_records().invoice(ACCOUNT, invoice_id)
    assert found is not None
    return found


def products_invoice(**changes: Any) -> dict[str, Any]:
    return message("10-invoice-products.json", **changes)


def line(product_id: str | None = None, tracking: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"description": "Item", "quantity": "2", "unit_price": "10.00", "tax_id": "gst-15"}
    if product_id:
        body["product_id"] = product_id
    return body | {"tracking": tracking or {}} | extra


def refused_before_sending(sandbox: SandboxServer, code: str, *says: str) -> InvoiceRecord:
    failed = record()
    assert failed.state == "failed"
    assert failed.error_code == code, failed.error_message
    for text in says:
        assert text in f"{failed.error_message} {failed.error_fix}"
    assert "line 1" in (failed.error_message or ""), "the refusal names the line"
    assert org(sandbox).invoices == [], "nothing was sent to Xero"
    assert org(sandbox).contacts == [], "not even the contact"
    return failed


# --- each mapping --------------------------------------------------------------------------------


def test_mapped_products_and_locations_land_on_the_invoice_with_the_lines_own_prices(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    assert invoke(sqs_event([products_invoice()])) == []

    booked = org(sandbox).invoice("INV-5006")
    loaf, delivery, gift = booked["LineItems"]
    north = {"Name": "Region", "Option": "North"}
    assert (loaf["ItemCode"], loaf["AccountCode"], loaf["UnitAmount"], loaf["Quantity"]) == (
        "SOURDOUGH-LOAF",
        "200",  # the item's own sales account
        Decimal("8.5"),  # the line's price, not the item's 7.90
        Decimal(12),
    )
    assert [{k: t[k] for k in north} for t in loaf["Tracking"]] == [north]
    assert ("ItemCode" not in delivery, delivery["AccountCode"]) == (True, "260")
    assert [{k: t[k] for k in north} for t in delivery["Tracking"]] == [north]
    assert (gift.get("ItemCode"), gift["AccountCode"], gift["Tracking"]) == (None, "200", [])  # unmapped: sales
    assert Decimal(str(booked["Total"])) == Decimal("159.55")
    assert record().state == "synced"


def test_a_mapped_account_overrides_the_items_and_a_lines_own_account_overrides_both(
    account: dict[str, str], sandbox: SandboxServer, api: ManagementApi
) -> None:
    assert (
        api.put(f"{BASE}/product-mappings/consulting", {"item_code": "CONSULT-HOUR", "account_code": "270"}).status
        == 200
    )
    assert api.put(f"{BASE}/product-mappings/wrap", {"item_code": "GIFT-WRAP"}).status == 200
    lines = [line("consulting"), line("consulting", account_code="200"), line("wrap"), line("prod-sourdough")]

    assert invoke(sqs_event([products_invoice(line_items=lines, totals=None)])) == []

    booked = org(sandbox).invoice("INV-5006")["LineItems"]
    assert [(b.get("ItemCode"), b["AccountCode"]) for b in booked] == [
        ("CONSULT-HOUR", "270"),  # the mapping's account over the item's 260
        ("CONSULT-HOUR", "200"),  # the line's own account over everything
        ("GIFT-WRAP", "200"),  # an item without a sales account: the account's sales account
        ("SOURDOUGH-LOAF", "200"),
    ]


def test_unmapped_dimensions_can_be_left_off_and_the_log_says_which(
    account: dict[str, str], sandbox: SandboxServer, api: ManagementApi, log_lines: Any
) -> None:
    assert api.patch(f"{BASE}/settings", {"unmapped_dimensions": "ignore"}).status == 200
    lines = [line("prod-sourdough", {"location": "Auckland", "salesperson": "Ana"})]

    assert invoke(sqs_event([products_invoice(line_items=lines, totals=None)])) == []

    booked = org(sandbox).invoice("INV-5006")["LineItems"][0]
    assert [t["Option"] for t in booked["Tracking"]] == ["North"]
    logged = log_lines.getvalue()
    assert "invoice sent without unmapped dimensions" in logged
    assert '"left_off":["line 1: salesperson=Ana"]' in logged


# --- each refusal, before anything is sent --------------------------------------------------------


def test_a_dimension_no_mapping_names_is_refused_by_default(account: dict[str, str], sandbox: SandboxServer) -> None:
    lines = [line("prod-sourdough", {"salesperson": "Ana"})]
    assert invoke(sqs_event([products_invoice(line_items=lines, totals=None)])) == []

    refused_before_sending(sandbox, "unmapped_dimension", "'salesperson' ('Ana')", "Map 'salesperson'")
    codes = [m["MessageAttributes"]["failure_code"]["StringValue"] for m in dead_letters(account)]
    assert codes == ["unmapped_dimension"]


def test_a_value_the_mapped_dimension_does_not_map_is_refused(account: dict[str, str], sandbox: SandboxServer) -> None:
    lines = [line(tracking={"location": "Wellington"})]
    assert invoke(sqs_event([products_invoice(line_items=lines, totals=None)])) == []

    refused_before_sending(sandbox, "unmapped_dimension_value", "location 'Wellington'", "Map 'Wellington'")


def test_an_item_archived_in_xero_after_mapping_is_refused(account: dict[str, str], sandbox: SandboxServer) -> None:
    catalogue.archive_item(xero_org(sandbox), "SOURDOUGH-LOAF")
    assert invoke(sqs_event([products_invoice()])) == []

    refused_before_sending(sandbox, "item_unavailable", "'prod-sourdough'", "no longer lists", "Restore the item")


def test_an_item_whose_code_changed_in_xero_is_refused(account: dict[str, str], sandbox: SandboxServer) -> None:
    loaf = next(i for i in xero_org(sandbox).items if i["Code"] == "SOURDOUGH-LOAF")
    loaf["Code"] = "LOAF-800G"
    assert invoke(sqs_event([products_invoice()])) == []

    refused_before_sending(sandbox, "item_changed", "whose code is now 'LOAF-800G'", "Map the product")


def test_an_archived_item_cannot_be_mapped_in_the_first_place(account: dict[str, str], api: ManagementApi) -> None:
    assert api.put(f"{BASE}/product-mappings/hamper", {"item_code": ARCHIVED_ITEM}).code == "unknown_item_code"


def test_an_option_archived_in_xero_after_mapping_is_refused_not_dropped(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    catalogue.archive_option(xero_org(sandbox), "Region", "North")
    assert invoke(sqs_event([products_invoice()])) == []

    refused_before_sending(
        sandbox, "tracking_option_unavailable", "'Region: North'", "without a word", "Restore the option"
    )


def test_a_category_archived_in_xero_after_mapping_is_refused(account: dict[str, str], sandbox: SandboxServer) -> None:
    next(c for c in xero_org(sandbox).tracking_categories if c["Name"] == "Region")["Status"] = "ARCHIVED"
    assert invoke(sqs_event([products_invoice()])) == []

    refused_before_sending(sandbox, "tracking_category_unavailable", "'Region'", "Restore 'Region'")


def test_an_option_renamed_in_xero_between_mapping_and_push_is_refused_until_mapped_again(
    account: dict[str, str], sandbox: SandboxServer, api: ManagementApi
) -> None:
    catalogue.rename_option(xero_org(sandbox), "Region", "North", "Northland")
    assert invoke(sqs_event([products_invoice()])) == []
    refused_before_sending(sandbox, "tracking_renamed", "now called 'Region: Northland'", "save its mapping again")

    remapped = {"category": "Region", "options": {"Auckland": "Northland", "Christchurch": "South"}}
    assert api.put(f"{BASE}/tracking-mappings/location", remapped).status == 200
    assert invoke(sqs_event([products_invoice()])) == []  # the retry

    booked = org(sandbox).invoice("INV-5006")["LineItems"][0]
    assert [t["Option"] for t in booked["Tracking"]] == ["Northland"]
    assert record().state == "synced"


# --- what the push reads, and the race it cannot prevent --------------------------------------------


def test_xero_is_read_only_for_lines_that_need_it_and_at_most_once_in_a_few_minutes(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    stats = xero_org(sandbox).stats

    def reads() -> tuple[int, int]:
        return stats["GET /api.xro/2.0/Items"], stats["GET /api.xro/2.0/TrackingCategories"]

    saving = reads()  # the management API read both to check the mappings
    assert invoke(sqs_event([message("03-invoice-sent.json")])) == []
    assert reads() == saving, "an invoice without products or dimensions reads nothing"

    assert invoke(sqs_event([products_invoice()])) == []
    second = products_invoice(invoice_id="inv-5007", number="INV-5007")
    assert invoke(sqs_event([second])) == []

    assert len(org(sandbox).invoices) == 3
    assert reads() == (saving[0] + 1, saving[1] + 1), "once for both invoices"


def test_a_mapping_saved_after_the_push_last_read_xero_is_checked_against_xero_now(
    account: dict[str, str], sandbox: SandboxServer, api: ManagementApi
) -> None:
    assert invoke(sqs_event([products_invoice()])) == []  # the push now holds Region as it was
    region = next(c for c in xero_org(sandbox).tracking_categories if c["Name"] == "Region")
    region["Options"].append(catalogue.category("Region", {"Central": "ACTIVE"})["Options"][0])
    mapped = {"category": "Region", "options": {**REGION_OPTIONS, "Wellington": "Central"}}
    assert api.put(f"{BASE}/tracking-mappings/location", mapped).status == 200

    later = products_invoice(
        invoice_id="inv-5007", number="INV-5007", line_items=[line(tracking={"location": "Wellington"})], totals=None
    )
    assert invoke(sqs_event([later])) == []

    assert [t["Option"] for t in org(sandbox).invoice("INV-5007")["LineItems"][0]["Tracking"]] == ["Central"]


def test_an_option_archived_in_the_minutes_since_the_push_read_xero_fails_loudly_when_xero_drops_it(
    account: dict[str, str], sandbox: SandboxServer
) -> None:
    assert invoke(sqs_event([products_invoice()])) == []  # Region read, and kept a few minutes
    xero_org(sandbox).tracking_categories[0]["Options"][1]["Status"] = "ARCHIVED"  # South, behind the push's back
    later = products_invoice(
        invoice_id="inv-5007", number="INV-5007", line_items=[line(tracking={"location": "Christchurch"})], totals=None
    )

    assert invoke(sqs_event([later])) == []

    assert org(sandbox).invoice("INV-5007")["LineItems"][0]["Tracking"] == [], "Xero dropped it without a word"
    failed = record("inv-5007")
    assert failed.error_code == "xero_dropped_tracking"
    assert "line 1: Region: South" in (failed.error_message or "")
    assert failed.xero_invoice_id, "the invoice Xero made is recorded"
