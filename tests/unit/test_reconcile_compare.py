"""Reconciliation's comparison of one invoice: Xero's summary against the sync record (pure)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from shared.domain.reconcile.compare import compare, difference, fingerprint, updated_at
from shared.models.records import InvoiceRecord

XERO_ID = "0e3c7b6a-4d2f-4b8e-9f1a-2c3d4e5f6a7b"
CONTACT = "5d1e2f3a-0000-4000-8000-00000000c001"
WRITTEN = "2026-12-01T10:00:00+00:00"
WRITTEN_MS = 1796119200000  # the same instant


def record(**changes: Any) -> InvoiceRecord:
    values: dict[str, Any] = {
        "invoice_id": "inv-1",
        "number": "INV-1",
        "xero_invoice_id": XERO_ID,
        "xero_status": "AUTHORISED",
        "xero_contact_id": CONTACT,
        "currency": "NZD",
        "total": Decimal("194.93"),
        "sub_total": Decimal("169.50"),
        "total_tax": Decimal("25.43"),
        "amount_due": Decimal("194.93"),
        "reference": "PO 778",
        "date": "2026-11-02",
        "due_date": "2026-11-20",
        "state": "synced",
        "updated_at": WRITTEN,
    }
    return InvoiceRecord.model_validate(values | changes)


def summary(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "Type": "ACCREC",
        "InvoiceID": XERO_ID,
        "InvoiceNumber": "INV-1",
        "Reference": "PO 778",
        "Status": "AUTHORISED",
        "Contact": {"ContactID": CONTACT.upper(), "Name": "Aroha Bakery"},
        "DateString": "2026-11-02T00:00:00",
        "DueDateString": "2026-11-20T00:00:00",
        "SubTotal": Decimal("169.50"),
        "TotalTax": Decimal("25.43"),
        "Total": Decimal("194.93"),
        "AmountDue": Decimal("194.93"),
        "AmountPaid": 0,
        "CurrencyCode": "NZD",
        "UpdatedDateUTC": f"/Date({WRITTEN_MS + 2000}+0000)/",
    }
    return values | changes


def test_an_invoice_as_the_service_left_it_matches():
    assert compare(record(), summary()) is None
    assert difference(record(), summary(), run_id="r", now=WRITTEN) is None


@pytest.mark.parametrize(
    ("xero", "kind", "detail"),
    [
        ({"Status": "VOIDED"}, "voided_in_xero", "Status: recorded AUTHORISED, Xero VOIDED"),
        ({"Status": "DELETED"}, "deleted_in_xero", "Status: recorded AUTHORISED, Xero DELETED"),
        ({"Total": Decimal("200.00")}, "totals_differ", "Total: recorded NZD 194.93, Xero NZD 200.00"),
        ({"TotalTax": Decimal("25.42")}, "totals_differ", "Tax: recorded NZD 25.43, Xero NZD 25.42"),
        (
            {"AmountDue": Decimal("144.93"), "AmountPaid": 50},
            "payments_differ",
            "Paid or credited: recorded NZD 0.00, Xero NZD 50.00",
        ),
        ({"Reference": "changed"}, "edited_in_xero", "Reference: recorded PO 778, Xero changed"),
        ({"DueDateString": "2026-12-20T00:00:00"}, "edited_in_xero", "Due date: recorded 2026-11-20, Xero 2026-12-20"),
        (
            {"Contact": {"ContactID": "other"}},
            "edited_in_xero",
            "Contact: another contact in Xero than the one the platform sent",
        ),
        ({"Status": "DRAFT"}, "edited_in_xero", "Status: recorded AUTHORISED, Xero DRAFT"),
    ],
)
def test_each_kind_of_difference_is_named_with_what_differs(xero, kind, detail):
    found = compare(record(), summary(**xero))

    assert found is not None
    assert found[0] == kind
    assert detail in found[1]


def test_to_the_cent_a_rounding_in_the_third_decimal_is_no_difference():
    assert compare(record(), summary(Total=Decimal("194.930"), AmountDue="194.93")) is None


def test_the_most_serious_kind_names_the_difference_and_every_detail_is_kept():
    found = compare(record(), summary(Status="VOIDED", Total=Decimal("10.00"), Reference="x"))

    assert found is not None
    assert found[0] == "voided_in_xero"
    assert len(found[1]) == 3


def test_paid_in_full_in_xero_is_a_payments_difference():
    found = compare(record(), summary(Status="PAID", AmountDue=0, AmountPaid=Decimal("194.93")))

    assert found is not None
    assert found[0] == "payments_differ"


def test_a_change_in_xero_long_after_the_last_write_is_an_edit_even_when_the_summary_shows_none():
    later = f"/Date({WRITTEN_MS + 3600_000}+0000)/"

    found = compare(record(), summary(UpdatedDateUTC=later))

    assert found is not None
    assert found[0] == "edited_in_xero"
    assert compare(record(), summary(UpdatedDateUTC=f"/Date({WRITTEN_MS + 60_000}+0000)/")) is None  # our own write


def test_fields_the_service_never_recorded_are_not_compared():
    assert compare(record(sub_total=None, total_tax=None, reference=None, date=None), summary(Reference="x")) is None


def test_missing_in_xero_and_what_to_do():
    found = difference(record(), None, run_id="full-1", now=WRITTEN)

    assert found is not None
    assert found.kind == "missing_in_xero"
    assert found.actions == ["resend", "accept"]
    assert "Resend" in found.what_to_do
    assert found.xero_fingerprint == "missing"


def test_an_accepted_difference_stays_accepted_while_xero_holds_what_was_accepted():
    first = difference(record(), summary(Total=Decimal("200.00")), run_id="r1", now=WRITTEN)
    assert first is not None
    accepted = first.model_copy(update={"state": "accepted", "accepted_at": WRITTEN})

    same = difference(record(), summary(Total=Decimal("200.00")), run_id="r2", now="later", previous=accepted)
    changed = difference(record(), summary(Total=Decimal("210.00")), run_id="r3", now="later", previous=accepted)

    assert same is not None
    assert same.state == "accepted"
    assert same.found_at == WRITTEN
    assert changed is not None
    assert changed.state == "open"
    assert changed.found_at == "later"


def test_fingerprints_and_xero_dates():
    assert fingerprint(summary()) == fingerprint(summary(UpdatedDateUTC="/Date(1+0000)/"))
    assert fingerprint(summary()) != fingerprint(summary(AmountDue=Decimal("1.00")))
    assert updated_at({"UpdatedDateUTC": "/Date(1552327126117+0000)/"}) == 1552327126.117
    assert updated_at({}) is None


def test_credit_the_service_allocated_counts_as_paid_when_a_payment_is_added_by_hand():
    credited = record(amount_due=Decimal("154.93"))  # 40.00 of a credit note allocated by the push

    found = compare(credited, summary(AmountDue=Decimal("104.93"), AmountPaid=50, AmountCredited=40))

    assert found is not None
    assert found[0] == "payments_differ"
    assert "Paid or credited: recorded NZD 40.00, Xero NZD 90.00" in found[1]
    assert compare(credited, summary(AmountDue=Decimal("154.93"), AmountCredited=40)) is None


def test_a_resent_difference_still_there_an_hour_later_opens_again():
    first = difference(record(), summary(Total=Decimal("200.00")), run_id="r1", now=WRITTEN)
    assert first is not None
    resent = first.model_copy(update={"state": "resent", "resent_at": "2026-12-01T10:05:00+00:00"})

    soon = difference(
        record(), summary(Total=Decimal("200.00")), run_id="r2", now="2026-12-01T10:30:00+00:00", previous=resent
    )
    later = difference(
        record(), summary(Total=Decimal("200.00")), run_id="r3", now="2026-12-01T12:00:00+00:00", previous=resent
    )

    assert soon is not None
    assert soon.state == "resent"
    assert later is not None
    assert later.state == "open"
    assert later.resent_at is None
