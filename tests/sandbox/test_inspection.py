"""What the sandbox shows about itself: JSON per organisation, an HTML page, the clock, the stats."""

from __future__ import annotations

from local.xero_sandbox.formats import from_json
from local.xero_sandbox.inspection import org_snapshot
from local.xero_sandbox.seed import AU_TENANT, NZ_TENANT
from tests.sandbox.conftest import START, Api, contact, create_contact, create_invoice, line, pay


def test_orgs_lists_every_organisation_with_counts(sandbox_app, xero: Api):
    create_contact(xero, "Listed")

    orgs = sandbox_app.flask.test_client().get("/_sandbox/orgs").get_json()

    by_id = {o["tenant_id"]: o for o in orgs}
    assert set(by_id) == {NZ_TENANT, AU_TENANT}
    assert by_id[NZ_TENANT]["contacts"] == 1
    assert by_id[NZ_TENANT]["base_currency"] == "NZD"
    assert by_id[AU_TENANT]["contacts"] == 0


def test_one_org_shows_contacts_invoices_with_lines_and_totals_payments_and_call_counts(sandbox_app, xero: Api):
    sandbox_app.state.limiter.configure(minute=8)
    customer = create_contact(xero, "Shown Ltd")
    invoice_id = create_invoice(xero, customer, "INV-S", LineItems=[line("10.00", 2)])["InvoiceID"]
    pay(xero, invoice_id, "5.00")
    xero.put("Contacts", {"Contacts": [contact("Once")]}, key="k1")
    xero.put("Contacts", {"Contacts": [contact("Once")]}, key="k1")
    while xero.get("Organisation").status != 429:
        pass

    snapshot = from_json(sandbox_app.flask.test_client().get(f"/_sandbox/orgs/{NZ_TENANT}").get_data())

    assert [c["Name"] for c in snapshot["contacts"]] == ["Shown Ltd", "Once"]
    shown = snapshot["invoices"][0]
    assert shown["InvoiceNumber"] == "INV-S"
    assert shown["LineItems"][0]["LineAmount"] == 20.0
    assert (shown["Total"], shown["AmountPaid"], shown["AmountDue"]) == (23.0, 5.0, 18.0)
    assert snapshot["payments"][0]["Amount"] == 5.0
    assert snapshot["stats"]["idempotent replays"] == 1
    assert snapshot["stats"]["429"] == 1
    assert snapshot["stats"]["calls"] == 9
    assert snapshot["limits"]["minute_used"] == 8
    assert org_snapshot(sandbox_app.state, NZ_TENANT) == snapshot  # the same, for tests in Python
    assert sandbox_app.flask.test_client().get("/_sandbox/orgs/nope").status_code == 404


def test_the_page_shows_the_same_and_escapes_what_it_shows(sandbox_app, xero: Api):
    customer = create_contact(xero, "<b>Bold</b> & Co")
    create_invoice(xero, customer, "INV-HTML")

    page = sandbox_app.flask.test_client().get("/_sandbox/")

    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "INV-HTML" in html
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in html
    assert "<b>Bold</b>" not in html
    assert "Sandbox Trading (AU)" in html


def test_the_clock_can_be_read_set_advanced_and_sped_up(sandbox_app):
    control = sandbox_app.flask.test_client()

    assert control.get("/_sandbox/clock").get_json()["now"] == START
    assert control.post("/_sandbox/clock", json={"set": START + 10}).get_json()["now"] == START + 10
    assert control.post("/_sandbox/clock", json={"advance_seconds": 5}).get_json()["now"] == START + 15
    moved = control.post("/_sandbox/clock", json={"iso": "2027-01-01T00:00:00Z"}).get_json()
    assert moved["iso"] == "2027-01-01T00:00:00Z"
    assert control.post("/_sandbox/clock", json={"speed": 50}).get_json()["speed"] == 50


def test_stats_count_every_route(sandbox_app, xero: Api):
    xero.get("Organisation")
    xero.get("Contacts")

    stats = sandbox_app.flask.test_client().get("/_sandbox/stats").get_json()

    assert stats["GET /api.xro/2.0/Organisation"] == 1
    assert stats["GET /api.xro/2.0/Contacts"] == 1
