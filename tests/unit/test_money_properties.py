"""The push's money against an arithmetic model of Xero written from its documentation
(:mod:`tests.support.xero_arithmetic`), on generated invoices.

What must hold for every invoice: what the push sends, Xero books to the cent as the platform has
it, or the push refuses it before sending and the refusal names the line; no invoice with a negative
total is sent; a platform that rounds tax on each line (as Xero does) is never refused for its totals.

``make test`` runs a few hundred invoices; the ``full`` Hypothesis profile (``make property``) runs
thousands.
"""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.mapping import PreparedInvoice, invoice_element, prepare_invoice
from shared.errors import Rejected
from shared.models.events import AmountsAre, Contact, Invoice, InvoiceStatus, LineItem, Totals
from shared.models.settings import AccountSettings, TaxMapping
from tests.support.xero_arithmetic import book, round_away

RATES = {"OUTPUT2": Decimal(15), "ZERORATED": Decimal(0), "TAX001": Decimal(9)}
SETTINGS = AccountSettings(
    account_id="acct-1",
    sales_account_code="200",
    tax_mappings={
        "gst-15": TaxMapping(platform_tax_id="gst-15", tax_type="OUTPUT2"),
        "zero": TaxMapping(platform_tax_id="zero", tax_type="ZERORATED"),
        "reduced": TaxMapping(platform_tax_id="reduced", tax_type="TAX001"),
    },
)
PERCENT = {"gst-15": Fraction(15), "zero": Fraction(0), "reduced": Fraction(9)}
KINDS = {"tax_exclusive": "Exclusive", "tax_inclusive": "Inclusive", "no_tax": "NoTax"}
ALLOWED_REFUSALS = {"totals_differ", "line_not_exact", "negative_total"}
EXAMPLES = 5000 if os.environ.get("HYPOTHESIS_PROFILE") == "full" else 300


def decimals(low: int, high: int, places: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low * 10**places, high * 10**places).map(lambda n: Decimal(n).scaleb(-places))


@st.composite
def line_items(draw: st.DrawFn, currency: str) -> LineItem:
    whole = currency == "JPY"
    quantity = draw(st.one_of(decimals(1, 40, 0), decimals(0, 25, 4).filter(bool), decimals(-3, -1, 0)))
    prices = decimals(-200, 20_000, 0) if whole else st.one_of(decimals(-80, 2_000, 2), decimals(0, 500, 4))
    price = draw(prices)
    discount = draw(st.one_of(st.none(), decimals(0, 60, 0), decimals(0, 60, 2), decimals(0, 60, 4)))
    if quantity * price < 0 and draw(st.integers(0, 9)):
        discount = None  # a coupon or credit line seldom carries a discount of its own
    return LineItem(
        description="Line",
        quantity=quantity,
        unit_price=price,
        discount_rate=discount,
        tax_id=draw(st.sampled_from(sorted(PERCENT))),
    )


@st.composite
def invoices(draw: st.DrawFn) -> tuple[Invoice, str]:
    currency = draw(st.sampled_from(["NZD", "NZD", "NZD", "JPY"]))
    lines = tuple(draw(st.lists(line_items(currency), min_size=1, max_size=6)))
    amounts_are = draw(st.sampled_from(sorted(KINDS)))
    style = draw(st.sampled_from(["per_line", "on_total", "none"]))
    invoice = Invoice(
        invoice_id="inv-1",
        number="INV-1",
        version=1,
        status=InvoiceStatus.SENT,
        currency=currency,
        issue_date=date(2026, 11, 2),
        amounts_are=AmountsAre(amounts_are),
        contact=Contact(contact_id="cus-1", name="Customer"),
        line_items=lines,
    )
    totals = platform_totals(invoice, style)
    return invoice.model_copy(update={"totals": totals}), style


def platform_totals(invoice: Invoice, style: str) -> Totals | None:
    """The totals a platform computes: the line amount rounded to the currency's unit, then tax rounded
    on each line (as Xero does) or on the invoice's total per rate (as many platforms do)."""
    if style == "none":
        return None
    places = 0 if invoice.currency == "JPY" else 2
    kind = KINDS[invoice.amounts_are]
    amounts: list[tuple[Fraction, Fraction]] = []
    for line in invoice.line_items:
        exact = Fraction(line.quantity) * Fraction(line.unit_price) * (100 - Fraction(line.discount_rate or 0)) / 100
        amounts.append((round_away(exact, places), PERCENT[line.tax_id or "zero"] if kind != "NoTax" else Fraction(0)))

    def tax(amount: Fraction, percent: Fraction) -> Fraction:
        return amount * percent / (100 + percent) if kind == "Inclusive" else amount * percent / 100

    if style == "per_line":
        total_tax = sum((round_away(tax(a, p), places) for a, p in amounts), Fraction(0))
    else:
        by_rate: dict[Fraction, Fraction] = {}
        for amount, percent in amounts:
            by_rate[percent] = by_rate.get(percent, Fraction(0)) + amount
        total_tax = sum((round_away(tax(a, p), places) for p, a in by_rate.items()), Fraction(0))
    lines = sum((a for a, _ in amounts), Fraction(0))
    subtotal, total = (lines - total_tax, lines) if kind == "Inclusive" else (lines, lines + total_tax)
    values = [Decimal(v.numerator) / Decimal(v.denominator) for v in (subtotal, total_tax, total)]
    return Totals(subtotal=values[0], total_tax=values[1], total=values[2])


def prepare_or_refusal(invoice: Invoice) -> PreparedInvoice | Rejected:
    try:
        return prepare_invoice(invoice, settings=SETTINGS, tax_rates=RATES)
    except Rejected as refusal:
        return refusal


def sent(prepared: PreparedInvoice) -> dict[str, object]:
    return invoice_element(prepared, xero_contact_id="c-1", xero_invoice_id=None, status="AUTHORISED")


@settings(max_examples=EXAMPLES, deadline=None)
@given(invoices())
def test_what_is_sent_is_booked_as_the_platform_has_it_or_refused_naming_the_line(case: tuple[Invoice, str]) -> None:
    invoice, style = case
    prepared = prepare_or_refusal(invoice)
    if isinstance(prepared, Rejected):
        assert prepared.code in ALLOWED_REFUSALS, prepared.message
        assert "line" in prepared.message or prepared.code == "negative_total"
        if prepared.code == "totals_differ":
            # A platform that rounds tax per line, as Xero does, is never refused for its totals.
            assert style != "per_line", prepared.message
        return
    booked = book(sent(prepared), RATES)
    assert booked.as_decimals() == (prepared.totals.subtotal, prepared.totals.total_tax, prepared.totals.total)
    assert prepared.totals.total >= 0
    if invoice.totals is not None:
        assert booked.as_decimals() == (invoice.totals.subtotal, invoice.totals.total_tax, invoice.totals.total)
    if invoice.currency == "JPY":
        assert all(v == v.to_integral_value() for v in booked.as_decimals())


@settings(max_examples=EXAMPLES, deadline=None)
@given(invoices())
def test_a_consistent_platform_is_only_ever_refused_for_what_xero_cannot_book(case: tuple[Invoice, str]) -> None:
    invoice, style = case
    if style != "per_line":
        return
    outcome = prepare_or_refusal(invoice)
    if isinstance(outcome, Rejected):
        assert outcome.code in {"line_not_exact", "negative_total"}, outcome.message
