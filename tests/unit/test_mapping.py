"""Events → Xero elements: statuses, tax, accounts, totals as Xero computes them."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from shared.domain.mapping import (
    PreparedInvoice,
    contact_element,
    content_fingerprint,
    invoice_element,
    payment_element,
    prepare_invoice,
    target_status,
)
from shared.errors import Rejected
from shared.models.events import Invoice, InvoiceUpserted, Payment, Totals, json_schemas, parse_event
from shared.models.settings import AccountSettings, PaymentAccount, TaxMapping

MESSAGES = Path(__file__).resolve().parents[2] / "events" / "messages"
RATES = {"OUTPUT2": Decimal(15), "ZERORATED": Decimal(0)}
SETTINGS = AccountSettings(
    account_id="acct-1",
    sales_account_code="200",
    tax_mappings={
        "gst-15": TaxMapping(platform_tax_id="gst-15", tax_type="OUTPUT2"),
        "zero": TaxMapping(platform_tax_id="zero", tax_type="ZERORATED"),
    },
)


def prepared(value: Invoice, settings: AccountSettings = SETTINGS) -> PreparedInvoice:
    return prepare_invoice(value, settings=settings, tax_rates=RATES)


def element(value: Invoice, status: str = "DRAFT", xero_invoice_id: str | None = None) -> dict[str, Any]:
    return invoice_element(prepared(value), xero_contact_id="c-1", xero_invoice_id=xero_invoice_id, status=status)


def invoice(**changes: Any) -> Invoice:
    event = parse_event((MESSAGES / "02-invoice-draft.json").read_text())
    assert isinstance(event, InvoiceUpserted)
    return event.data.model_copy(update=changes)


def test_every_sample_message_parses_and_the_schemas_name_every_type() -> None:
    names = sorted(p.name for p in MESSAGES.glob("*.json"))
    assert len(names) >= 8
    types = {parse_event(p.read_text()).type for p in MESSAGES.glob("*.json")}
    assert types == {
        "contact.upserted",
        "invoice.upserted",
        "invoice.voided",
        "payment.recorded",
        "credit_note.upserted",
        "refund.recorded",
    }
    schema_dir = MESSAGES.parent / "schema"
    for name, schema in json_schemas().items():
        assert json.loads((schema_dir / f"{name}.schema.json").read_text()) == schema, "run make schemas"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("not json", "json"),
        ('{"type": "invoice.exploded"}', "type"),
        ('{"type": "payment.recorded", "schema_version": 1}', "account_id"),
    ],
)
def test_malformed_events_are_refused_with_the_field_named(body: str, problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_event(body)
    assert problem in str(caught.value).lower()


def test_a_due_date_before_the_issue_date_is_refused() -> None:
    event = json.loads((MESSAGES / "02-invoice-draft.json").read_text())
    event["data"]["due_date"] = "2026-10-01"
    with pytest.raises(ValidationError, match="due_date is before issue_date"):
        parse_event(json.dumps(event))


@pytest.mark.parametrize(
    ("status", "current", "expected"),
    [
        ("draft", None, "DRAFT"),
        ("sent", None, "AUTHORISED"),
        ("paid", None, "AUTHORISED"),
        ("sent", "DRAFT", "AUTHORISED"),
        ("draft", "SUBMITTED", "SUBMITTED"),
        ("void", None, None),
        ("void", "DRAFT", "DELETED"),
        ("void", "AUTHORISED", "VOIDED"),
        ("void", "VOIDED", None),
    ],
)
def test_status_mapping(status: str, current: str | None, expected: str | None) -> None:
    assert target_status(invoice(status=status), current) == expected


@pytest.mark.parametrize(("status", "current"), [("draft", "AUTHORISED"), ("sent", "VOIDED"), ("sent", "DELETED")])
def test_moves_xero_refuses_are_rejected_with_a_fix(status: str, current: str) -> None:
    with pytest.raises(Rejected) as caught:
        target_status(invoice(status=status), current)
    assert caught.value.fix


def test_invoice_element_maps_tax_accounts_discounts_and_dates() -> None:
    sent = element(invoice())
    assert sent["Type"] == "ACCREC"
    assert sent["Contact"] == {"ContactID": "c-1"}
    assert sent["LineAmountTypes"] == "Exclusive"
    assert sent["DueDate"] == "2026-11-20"
    assert [line["TaxType"] for line in sent["LineItems"]] == ["OUTPUT2", "OUTPUT2"]
    assert [line["AccountCode"] for line in sent["LineItems"]] == ["200", "200"]
    assert sent["LineItems"][1]["DiscountRate"] == Decimal(10)
    assert "InvoiceID" not in sent


def test_an_unmapped_tax_id_is_named_in_the_refusal() -> None:
    lines = (invoice().line_items[0].model_copy(update={"tax_id": "vat-20"}),)
    with pytest.raises(Rejected) as caught:
        prepared(invoice(line_items=lines, totals=None))
    assert caught.value.code == "unmapped_tax"
    assert "vat-20" in caught.value.message


def test_no_sales_account_and_no_default_tax_type_are_refused() -> None:
    bare = AccountSettings(account_id="acct-1")
    with pytest.raises(Rejected, match="no account code"):
        prepared(invoice(), bare)
    untaxed = (invoice().line_items[0].model_copy(update={"tax_id": None}),)
    with pytest.raises(Rejected) as caught:
        prepared(invoice(line_items=untaxed, totals=None))
    assert caught.value.code == "no_default_tax_type"


def test_totals_rounded_on_the_invoice_instead_of_per_line_are_refused_not_sent() -> None:
    # Three lines of 0.10 at 15 %: Xero rounds each line's tax (3 lines of 0.02 = 0.06); the invoice-level
    # figure 0.045 → 0.05 differs by a cent.
    line = invoice().line_items[0].model_copy(update={"quantity": Decimal(1), "unit_price": Decimal("0.10")})
    totals = Totals(subtotal=Decimal("0.30"), total_tax=Decimal("0.05"), total=Decimal("0.35"))
    with pytest.raises(Rejected) as caught:
        prepared(invoice(line_items=(line, line, line), totals=totals))
    assert caught.value.code == "totals_differ"
    assert "0.06" in caught.value.message
    # The refusal names the lines whose rounding moved the tax.
    assert "line 1: tax 0.015 is rounded to 0.02" in caught.value.message


def test_the_fingerprint_ignores_status_but_not_content() -> None:
    one = element(invoice())
    approved = {**one, "Status": "AUTHORISED", "InvoiceID": "x"}
    changed = {**one, "Reference": "PO 779"}
    assert content_fingerprint(one) == content_fingerprint(approved)
    assert content_fingerprint(one) != content_fingerprint(changed)


def test_contact_and_payment_elements() -> None:
    contact = invoice().contact
    element = contact_element(contact, xero_contact_id=None, name=contact.name)
    assert element["ContactNumber"] == "cus-1001"
    assert element["Addresses"][0]["AddressType"] == "POBOX"
    assert "ContactID" not in element
    payment = Payment(payment_id="p1", invoice_id="i1", amount=Decimal("10.50"), date=invoice().issue_date)
    account = PaymentAccount(account_id="acc-1", code="090")
    assert payment_element(payment, xero_invoice_id="x1", account=account)["Account"] == {"AccountID": "acc-1"}
    with pytest.raises(Rejected, match="no Xero account"):
        payment_element(payment, xero_invoice_id="x1", account=None)
    with pytest.raises(Rejected, match="credit note"):
        payment_element(payment.model_copy(update={"kind": "refund"}), xero_invoice_id="x1", account=account)
