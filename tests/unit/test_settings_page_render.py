"""The settings page's HTML for the states a user can meet, every value escaped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.domain.backlog import BackfillStatus, Backlog
from shared.domain.settings_page import Activity, ActivityRow, FailureRow, Loaded, PageView
from shared.models import api
from shared.web.page import PageContext, render_message, render_page

X = '<b onclick="x()">&</b>'
CTX = PageContext(brand=X, base="/xero/settings", csrf_token="tok", asset_version="v1")


def connection(status: api.ConnectionState, **values: object) -> api.ConnectionView:
    return api.ConnectionView.model_validate({"account_id": "a", "status": status, **values})


def test_a_connection_that_needs_reconnecting_says_why_and_offers_reconnect_only():
    view = PageView(
        account_id="a",
        connection=connection(
            "needs_reconnect",
            status_reason=X,
            organisations=[{"tenant_id": "t1", "name": X, "chosen": True}],
            organisation={"tenant_id": "t1", "name": X, "chosen": True},
        ),
        settings=Loaded(problem=X),
        tax_mappings=Loaded(value=api.TaxMappingsView(account_id="a", mappings=[])),
    )

    html = render_page(view, CTX)

    assert "Needs reconnecting" in html
    assert "Reconnect to Xero" in html
    assert "Reconnect Xero to change this." in html
    assert "Disconnect…" not in html
    assert X not in html
    assert "&lt;b onclick=&quot;x()&quot;&gt;&amp;&lt;/b&gt;" in html


def test_sections_that_cannot_be_read_say_so_and_the_rest_still_shows():
    view = PageView(
        account_id="a",
        connection=connection(
            "connected",
            organisations=[{"tenant_id": "t1", "name": "Org", "chosen": True}],
            organisation={"tenant_id": "t1", "name": "Org", "chosen": True},
        ),
        payment_accounts=Loaded(problem="Xero is unavailable"),
        sales_accounts=Loaded(problem="Xero is unavailable"),
        tax_rates=Loaded(problem="Xero is unavailable"),
        tax_mappings=Loaded(problem="storage"),
        activity=Activity(failures=Loaded(problem="f"), recent=Loaded(problem="r"), backlog=None),
    )

    html = render_page(view, CTX)

    assert html.count('role="alert"') >= 5
    assert "Enable payments to this account" in html  # the help text shows even without the list
    assert "Disconnect…" in html


def test_sync_activity_lists_failures_payments_and_a_backlog_figure():
    activity = Activity(
        failures=Loaded(
            value=[
                FailureRow(
                    "inv-1", "pay-1", "INV-1", "payment_account", X, "Choose one", [X], "2026-12-01T09:00:00+00:00"
                )
            ]
        ),
        recent=Loaded(value=[ActivityRow("inv-2", None, None, "failed", None, None, "not a time", "unmapped_tax")]),
        backlog=Backlog(waiting=3, drains_by=datetime(2026, 12, 1, 10, tzinfo=UTC)),
        watching="inv-1",
    )
    view = PageView(account_id="a", connection=connection("disconnected"), activity=activity)

    html = render_page(view, PageContext(**{**CTX.__dict__, "notice": "retry", "since": "2026-12-01"}))

    assert "Payment pay-1 of invoice INV-1" in html
    assert "3 event(s) waiting for Xero, expected in Xero by" in html
    assert 'data-refresh="/xero/settings/activity?watch=inv-1&amp;since=2026-12-01"' in html
    assert "The invoice was sent to the queue again." in html
    assert X not in html


@pytest.mark.parametrize(
    ("backlog", "says"),
    [
        (None, "No backlog figure right now."),
        (Backlog(waiting=0), "Nothing is waiting for Xero."),
        (Backlog(waiting=10_000, more=True), "More than 10000 event(s) waiting for Xero"),
    ],
)
def test_the_backlog_figure_says_what_is_known(backlog: Backlog | None, says: str) -> None:
    activity = Activity(failures=Loaded(value=[]), recent=Loaded(value=[]), backlog=backlog)
    view = PageView(account_id="a", connection=connection("connected"), activity=activity)
    assert says in render_page(view, CTX)


def test_a_message_page_links_back_to_the_platform():
    html = render_message(
        X, "Signed out", X, asset_version="v", base="/xero/settings", link="https://p.example/s?a=1&b=2"
    )

    assert 'href="https://p.example/s?a=1&amp;b=2"' in html
    assert X not in html


def test_products_and_tracking_show_their_mappings_and_forms_with_every_value_escaped():
    ready = connection(
        "connected",
        organisations=[{"tenant_id": "t1", "name": "Org", "chosen": True}],
        organisation={"tenant_id": "t1", "name": "Org", "chosen": True},
    )
    view = PageView(
        account_id="a",
        connection=ready,
        items=Loaded(value=api.ItemsView(account_id="a", items=[api.ItemView(item_id="i1", code="LOAF", name=X)])),
        product_mappings=Loaded(
            value=api.ProductMappingsView(
                account_id="a",
                mappings=[api.ProductMappingView(platform_product_id=X, item_code="LOAF", item_name=X)],
            )
        ),
        tracking_categories=Loaded(
            value=api.TrackingCategoriesView(
                account_id="a",
                tracking_categories=[
                    api.TrackingCategoryView(
                        tracking_category_id="c1",
                        name=X,
                        options=[api.TrackingOptionView(option_id="o1", name="North")],
                    )
                ],
            )
        ),
        tracking_mappings=Loaded(
            value=api.TrackingMappingsView(
                account_id="a",
                unmapped_dimensions="ignore",
                mappings=[
                    api.TrackingMappingView(
                        dimension=X,
                        tracking_category_id="c1",
                        category_name="Region",
                        options=[api.TrackingOptionMappingView(value=X, option_id="o1", option_name="North")],
                    )
                ],
            )
        ),
    )

    html = render_page(view, PageContext(**{**CTX.__dict__, "notice": "tracking_mapped"}))

    assert '<h2 id="products-title">Products</h2>' in html
    assert '<h2 id="tracking-title">Tracking</h2>' in html
    assert 'action="/xero/settings/product-map"' in html
    assert 'action="/xero/settings/tracking-map"' in html
    assert '<option value="c1:o1">' in html  # one choice names its category and option
    assert 'id="policy-ignore" value="ignore" checked' in html
    assert "Tracking mapping saved." in html
    assert "Region: North" in html
    assert X not in html
    assert "&lt;b onclick=&quot;x()&quot;&gt;&amp;&lt;/b&gt;" in html


def test_products_and_tracking_wait_for_an_organisation_and_say_what_is_unmapped():
    view = PageView(
        account_id="a",
        connection=connection("connected", organisations=[{"tenant_id": "t1", "name": "Org"}]),
        product_mappings=Loaded(value=api.ProductMappingsView(account_id="a", mappings=[])),
        tracking_mappings=Loaded(
            value=api.TrackingMappingsView(account_id="a", mappings=[], unmapped_dimensions="refuse")
        ),
    )

    html = render_page(view, CTX)

    assert "No product is mapped yet: every line goes to the sales account." in html
    assert "No dimension is mapped to Xero tracking yet." in html
    assert html.count("Choose the organisation first.") >= 2
    assert 'action="/xero/settings/product-map"' not in html


def test_the_history_import_shows_its_progress_and_the_invoices_kept_as_xero_has_them() -> None:
    status = BackfillStatus(
        waiting=1200,
        synced=18_800,
        failed=3,
        kept=2,
        kept_numbers=("INV-<1>", "INV-2"),
        drains_by=datetime(2026, 12, 8, 0, 3, tzinfo=UTC),
        resumes_at=datetime(2026, 12, 8, tzinfo=UTC),
        calls_a_day=780,
    )
    activity = Activity(failures=Loaded(value=[]), recent=Loaded(value=[]), backlog=Backlog(waiting=0), backfill=status)
    html = render_page(PageView(account_id="a", connection=connection("connected"), activity=activity), CTX)

    assert "History import: 1200 waiting, 18800 synced, 3 failed, 2 already in Xero and kept as Xero has them." in html
    assert "uses up to 780 of the organisation's Xero calls a day" in html
    assert "it goes on <time" in html
    assert "INV-&lt;1&gt;, INV-2" in html
    assert "<1>" not in html
