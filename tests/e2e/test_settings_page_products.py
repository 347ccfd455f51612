"""The settings page's products and tracking sections over plain HTTP against the local stack: what the user
sees, each form, and each refusal shown on the page (escaped), through the management API's own checks."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from local.xero_sandbox import SandboxServer
from local.xero_sandbox.seed import NZ_TENANT
from tests.e2e.test_settings_page_security import connect, csrf, open_page

ACCOUNT = "acct-products"


@pytest.fixture
def page(local_stack: LocalStack, sandbox: SandboxServer):
    connect(local_stack, sandbox, ACCOUNT, [NZ_TENANT])
    browser, opened = open_page(local_stack, ACCOUNT)
    yield browser, opened
    browser.close()


def option_value(page: httpx.Response, label: str) -> str:
    found = re.search(rf'<option value="([^"]+)">{re.escape(label)}</option>', page.text)
    assert found, label
    return found.group(1)


def api(stack: LocalStack, path: str) -> dict[str, Any]:
    answer: dict[str, Any] = stack.client().request("GET", f"/v1/accounts/{ACCOUNT}{path}").json()
    return answer


def test_products_are_mapped_refused_and_removed_from_the_page(local_stack, page):
    browser, opened = page
    token = csrf(opened)
    assert '<h2 id="products-title">Products</h2>' in opened.text
    assert "SOURDOUGH-LOAF · Sourdough loaf" in opened.text

    saved = browser.post(
        "/xero/settings/product-map",
        data={"csrf_token": token, "product_id": "prod-sourdough", "item_code": "SOURDOUGH-LOAF", "account_code": ""},
    )
    not_sold = browser.post(
        "/xero/settings/product-map",
        data={"csrf_token": token, "product_id": "prod-flour", "item_code": "FLOUR-25KG", "account_code": ""},
    )
    forged = browser.post("/xero/settings/product-map", data={"product_id": "x", "account_code": "260"})

    assert saved.status_code == 303
    assert saved.headers["location"].endswith("notice=product_mapped#products")
    shown = browser.get(saved.headers["location"])
    assert "Product mapping saved." in shown.text
    assert "<th scope=row>prod-sourdough</th><td>SOURDOUGH-LOAF · Sourdough loaf</td>" in shown.text
    assert not_sold.status_code == 422
    assert "tick &quot;I sell this item&quot;" in not_sold.text
    assert forged.status_code == 403
    assert [m["platform_product_id"] for m in api(local_stack, "/product-mappings")["mappings"]] == ["prod-sourdough"]

    removed = browser.post("/xero/settings/product-unmap", data={"csrf_token": token, "product_id": "prod-sourdough"})
    assert removed.status_code == 303
    assert api(local_stack, "/product-mappings")["mappings"] == []


def test_tracking_values_are_mapped_one_by_one_kept_to_one_category_and_removed(local_stack, page):
    browser, opened = page
    token = csrf(opened)
    north, south = option_value(opened, "Region: North"), option_value(opened, "Region: South")

    def post(action: str, **fields: str) -> httpx.Response:
        return browser.post(f"/xero/settings/{action}", data={"csrf_token": token, **fields})

    assert post("tracking-map", dimension="location", value="Auckland", option=north).status_code == 303
    assert post("tracking-map", dimension="location", value="Christchurch", option=south).status_code == 303
    elsewhere = post(
        "tracking-map", dimension="location", value="Hamilton", option=option_value(opened, "Department: Retail")
    )
    unchosen = post("tracking-map", dimension="location", value="Hamilton", option="")

    mapped = api(local_stack, "/tracking-mappings")["mappings"]
    assert [(o["value"], o["option_name"]) for o in mapped[0]["options"]] == [
        ("Auckland", "North"),
        ("Christchurch", "South"),
    ]
    assert elsewhere.status_code == 422
    assert "goes to the Xero tracking category &#x27;Region&#x27;" in elsewhere.text
    assert unchosen.status_code == 422
    assert "Choose the Xero tracking option" in unchosen.text

    assert post("tracking-unmap", dimension="location", value="Auckland").status_code == 303
    assert post("tracking-policy", policy="ignore").status_code == 303
    after = api(local_stack, "/tracking-mappings")
    assert [o["value"] for o in after["mappings"][0]["options"]] == ["Christchurch"]
    assert after["unmapped_dimensions"] == "ignore"
    page_now = browser.get("/xero/settings")
    assert "<td>Region: South</td>" in page_now.text
    assert 'id="policy-ignore" value="ignore" checked' in page_now.text
