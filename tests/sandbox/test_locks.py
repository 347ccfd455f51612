"""Lock dates: shown in GET /Organisation; approved documents dated on or before them are refused, in Xero's words."""

from __future__ import annotations

import datetime as dt

import pytest

from local.xero_sandbox.seed import NZ_TENANT
from tests.sandbox.conftest import Api, create_contact, create_invoice, invoice, pay

PERIOD = dt.date(2026, 4, 30)
YEAR_END = dt.date(2026, 3, 31)
PERIOD_SAYS = "The document date cannot be before the period lock date, currently set at 30-Apr-2026"
YEAR_END_SAYS = "The document date cannot be before the end of year lock date, currently set at 31-Mar-2026"


@pytest.fixture
def customer(xero: Api) -> str:
    return create_contact(xero, "Locked Out Ltd")


@pytest.fixture
def locked(sandbox_app) -> None:
    sandbox_app.state.set_lock_dates(NZ_TENANT, PERIOD, YEAR_END)


def test_lock_dates_are_shown_in_the_organisation_only_when_set(sandbox_app, xero: Api):
    control = sandbox_app.flask.test_client()
    before = xero.get("Organisation").one("Organisations")
    both = {"PeriodLockDate": "2026-04-30", "EndOfYearLockDate": "2026-03-31"}
    set_answer = control.post(f"/_sandbox/orgs/{NZ_TENANT}/lock-dates", json=both)
    after = xero.get("Organisation").one("Organisations")
    control.post(f"/_sandbox/orgs/{NZ_TENANT}/lock-dates", json={"PeriodLockDate": None})
    cleared = xero.get("Organisation").one("Organisations")

    assert "PeriodLockDate" not in before
    assert "EndOfYearLockDate" not in before
    assert set_answer.get_json() == both
    assert after["PeriodLockDate"] == "/Date(1777507200000+0000)/"
    assert after["EndOfYearLockDate"] == "/Date(1774915200000+0000)/"
    assert "PeriodLockDate" not in cleared
    assert cleared["EndOfYearLockDate"] == "/Date(1774915200000+0000)/"  # only the keys given change
    assert control.post(f"/_sandbox/orgs/{NZ_TENANT}/lock-dates", json={"PeriodLockDate": "soon"}).status_code == 400
    assert control.post("/_sandbox/orgs/nope/lock-dates", json={}).status_code == 404


@pytest.mark.usefixtures("locked")
@pytest.mark.parametrize(
    ("date", "says"),
    [
        ("2026-04-30", [PERIOD_SAYS]),  # on the lock date itself
        ("2026-04-01", [PERIOD_SAYS]),
        ("2026-03-31", [PERIOD_SAYS, YEAR_END_SAYS]),  # closed by both
    ],
)
def test_an_approved_invoice_dated_on_or_before_a_lock_date_is_refused(
    xero: Api, customer: str, date: str, says: list[str]
):
    answer = xero.put("Invoices", {"Invoices": [invoice(customer, "INV-LOCK", Date=date, DueDate="2026-06-30")]})

    assert answer.status == 400
    assert answer.messages() == says
    assert xero.get("Invoices").items("Invoices") == []


@pytest.mark.usefixtures("locked")
def test_the_day_after_the_lock_is_open(xero: Api, customer: str):
    created = create_invoice(xero, customer, "INV-OPEN", Date="2026-05-01")

    assert created["Status"] == "AUTHORISED"


@pytest.mark.usefixtures("locked")
def test_drafts_and_submissions_may_be_dated_in_a_locked_period_but_not_approved(xero: Api, customer: str):
    draft = create_invoice(xero, customer, "INV-DRAFT", status="DRAFT", Date="2026-04-15")
    submitted = xero.post(f"Invoices/{draft['InvoiceID']}", {"Invoices": [{"Status": "SUBMITTED"}]})
    approved = xero.post(f"Invoices/{draft['InvoiceID']}", {"Invoices": [{"Status": "AUTHORISED"}]})
    moved = xero.post(f"Invoices/{draft['InvoiceID']}", {"Invoices": [{"Status": "AUTHORISED", "Date": "2026-05-02"}]})

    assert submitted.status == 200
    assert approved.messages() == [PERIOD_SAYS]
    assert moved.status == 200  # moved out of the locked period, it can be approved


def test_an_approved_invoice_in_a_period_locked_later_cannot_be_changed_or_voided(
    sandbox_app, xero: Api, customer: str
):
    invoice_id = create_invoice(xero, customer, "INV-CLOSED", Date="2026-04-10")["InvoiceID"]
    sandbox_app.state.set_lock_dates(NZ_TENANT, PERIOD, None)

    changed = xero.post(f"Invoices/{invoice_id}", {"Invoices": [{"Reference": "too late"}]})
    voided = xero.post("Invoices", {"Invoices": [{"InvoiceID": invoice_id, "Status": "VOIDED"}]})

    says = ["The document cannot be edited as it is currently dated before the period lock date"]
    assert changed.messages() == says
    assert voided.messages() == says
    assert xero.get(f"Invoices/{invoice_id}").one("Invoices")["Status"] == "AUTHORISED"


def test_payments_dated_on_or_before_a_lock_date_are_refused_and_cannot_be_deleted(
    sandbox_app, xero: Api, customer: str
):
    invoice_id = create_invoice(xero, customer, "INV-PAY", Date="2026-04-10")["InvoiceID"]
    early = pay(xero, invoice_id, "10.00", Date="2026-04-20")
    payment_id = early.one("Payments")["PaymentID"]
    sandbox_app.state.set_lock_dates(NZ_TENANT, PERIOD, None)

    refused = pay(xero, invoice_id, "10.00", Date="2026-04-30")
    later = pay(xero, invoice_id, "10.00", Date="2026-05-01")  # an open date, on an invoice in a closed period
    undone = xero.post(f"Payments/{payment_id}", {"Payments": [{"Status": "DELETED"}]})

    assert refused.messages() == [PERIOD_SAYS]
    assert later.status == 200
    assert undone.messages() == ["The document cannot be edited as it is currently dated before the period lock date"]
    assert xero.get(f"Invoices/{invoice_id}").one("Invoices")["AmountPaid"] == 20.00


@pytest.mark.usefixtures("locked")
def test_a_locked_element_fails_alone_in_a_batch(xero: Api, customer: str):
    batch = [invoice(customer, "INV-B1", Date="2026-04-02"), invoice(customer, "INV-B2", Date="2026-05-02")]

    answer = xero.put("Invoices", {"Invoices": batch}, summarizeErrors="false")

    first, second = answer.items("Invoices")
    assert first["HasErrors"] is True
    assert first["ValidationErrors"] == [{"Message": PERIOD_SAYS}]
    assert second["StatusAttributeString"] == "OK"
