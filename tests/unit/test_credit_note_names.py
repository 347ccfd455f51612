"""The settings page names credit notes and refunds as what they are, never as invoices."""

from __future__ import annotations

from shared.domain.settings_page import _activity_row, _failure_row


def test_a_credit_note_record_is_named_a_credit_note():
    row = _failure_row({"sk": "CREDIT_NOTE#cn-1", "number": "CN-1", "error_code": "credit_note_used"})
    assert row.credit == "Credit note CN-1"


def test_a_refund_record_names_its_credit_note():
    row = _activity_row({"sk": "REFUND#rf-1", "credit_note_id": "cn-1", "state": "synced"})
    assert row.credit == "Refund rf-1 of credit note cn-1"


def test_an_invoice_record_is_not_a_credit():
    assert _activity_row({"sk": "INVOICE#inv-1", "invoice_id": "inv-1", "number": "INV-1"}).credit is None
