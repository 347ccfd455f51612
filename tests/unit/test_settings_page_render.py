"""The settings page's HTML for the states a user can meet, every value escaped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.domain.backlog import Backlog
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
