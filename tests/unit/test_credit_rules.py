"""The amount rules of credit notes, as the owner reads them when a credit note or refund is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.domain import credit_rules as rules
from shared.errors import Rejected

D = Decimal


def test_applying_the_whole_credit_note_is_allowed():
    rules.check_applied("CN-1", "NZD", D("57.50"), {"inv-1": D("40.00"), "inv-2": D("17.50")}, {}, D(0))


def test_more_than_the_total_is_refused_with_the_amounts():
    with pytest.raises(Rejected) as refused:
        rules.check_applied("CN-1", "NZD", D("57.50"), {"inv-1": D("50.00")}, {}, D("10.00"))
    assert refused.value.code == "credit_exceeds_total"
    assert refused.value.message == (
        "Credit note CN-1 applies NZD 50.00 to invoices and NZD 10.00 refunded: NZD 60.00 in all, more than its "
        "total of NZD 57.50."
    )


def test_an_allocation_in_xero_is_never_reduced():
    with pytest.raises(Rejected) as refused:
        rules.check_applied("CN-1", "NZD", D("57.50"), {"inv-1": D("10.00")}, {"inv-1": D("40.00")}, D(0))
    assert refused.value.code == "credit_allocation_reduced"
    assert "now applies NZD 10.00 to invoice inv-1, but NZD 40.00 of it is already allocated" in refused.value.message


def test_dropping_an_allocated_invoice_is_a_reduction_too():
    with pytest.raises(Rejected) as refused:
        rules.check_applied("CN-1", "NZD", D("57.50"), {}, {"inv-1": D("40.00")}, D(0))
    assert refused.value.code == "credit_allocation_reduced"


def test_at_most_the_invoice_amount_due():
    rules.check_invoice("CN-1", "NZD", D("23.00"), rules.InvoiceDue("INV-1", "NZD", D("23.00")))
    with pytest.raises(Rejected) as refused:
        rules.check_invoice("CN-1", "NZD", D("23.01"), rules.InvoiceDue("INV-1", "NZD", D("23.00")))
    assert refused.value.code == "credit_exceeds_invoice_due"
    assert refused.value.message == (
        "Credit note CN-1 applies NZD 23.01 more to invoice INV-1, which has only NZD 23.00 due in Xero."
    )


def test_an_invoice_not_in_xero_yet_is_not_judged():
    rules.check_invoice("CN-1", "NZD", D("1000.00"), rules.InvoiceDue("INV-1", None, None))


def test_only_the_same_currency():
    with pytest.raises(Rejected) as refused:
        rules.check_invoice("CN-1", "NZD", D("1.00"), rules.InvoiceDue("INV-1", "AUD", D("100.00")))
    assert refused.value.code == "credit_currency_differs"


def test_a_refund_keeps_what_the_invoices_are_to_get():
    left = rules.left_for_refunds(D("57.50"), {"inv-1": D("40.00")}, {}, D(0))
    assert left == D("17.50"), "an allocation still waiting for its invoice keeps its share"
    assert rules.left_for_refunds(D("57.50"), {"inv-1": D("40.00")}, {"inv-1": D("40.00")}, D("7.50")) == D("10.00")
    rules.check_refund("rf-1", "CN-1", "NZD", D("17.50"), left)
    with pytest.raises(Rejected) as refused:
        rules.check_refund("rf-1", "CN-1", "NZD", D("17.51"), left)
    assert refused.value.code == "refund_exceeds_credit"
    assert refused.value.message.startswith(
        "Refund rf-1 pays back NZD 17.51 out of credit note CN-1, which has only NZD 17.50 of credit left"
    )
