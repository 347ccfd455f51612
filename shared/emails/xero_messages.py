"""Xero's validation messages in plain words, with what the owner can do about each.

Xero answers a rejected invoice, contact or payment with messages written for developers. The ones
an owner can act on are matched here (loosely: Xero's wording varies by a word or a quote between
endpoints) and explained; any other message is shown exactly as Xero wrote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Explained:
    original: str
    plain: str | None = None
    fix: str | None = None

    @property
    def known(self) -> bool:
        return self.plain is not None


@dataclass(frozen=True)
class _Known:
    pattern: re.Pattern[str]
    plain: str
    fix: str


def _known(pattern: str, plain: str, fix: str) -> _Known:
    return _Known(re.compile(pattern, re.IGNORECASE), plain, fix)


# Placeholders: {brand}, and the pattern's named groups. Order matters: the first match wins.
KNOWN_MESSAGES = (
    _known(
        r"TaxType code '?(?P<code>[^' ]*)'? does not exist or cannot be used",
        "Xero does not accept the tax rate {code} on this invoice: the rate is missing, archived or not "
        "allowed on sales in your Xero organisation.",
        "In {brand}'s Xero settings, map this tax to an active Xero sales tax rate, then retry the invoice.",
    ),
    _known(
        r"TaxType code '?(?P<code>[^' ]*)'? cannot be used with account code '?(?P<account>[^' .]*)",
        "The tax rate {code} cannot be used with the Xero account {account}.",
        "Map this tax to a rate that Xero allows on that account, or choose another sales account, then retry.",
    ),
    _known(
        r"Account code '?(?P<account>[^' ]*?)'? (?:is not a valid code|has been archived)",
        "The Xero account {account} used for this invoice's lines does not exist or is archived in your Xero "
        "organisation.",
        "Choose an active revenue account in {brand}'s Xero settings (or restore the account in Xero), then retry.",
    ),
    _known(
        r"Item code '?(?P<code>[^']*?)'? is not valid",
        "Xero does not accept the item {code} on this invoice: the item is missing or archived in your Xero "
        "organisation.",
        "Restore the item in Xero, or map the product to another item in {brand}'s Xero settings, then retry.",
    ),
    _known(
        r"(?:Invoice|Credit note) (?:#|number) must be unique",
        "Xero already has an invoice with this number.",
        "Check the invoice in Xero. If it is a different invoice, renumber one of them; then retry.",
    ),
    _known(
        r"contact name (?P<name>.+?) is already assigned to another contact",
        "Xero already has another active contact named {name}, and contact names must be unique in Xero.",
        "Rename or archive the other contact in Xero, or rename the customer in {brand}, then retry.",
    ),
    _known(
        r"before the (?P<lock>end of year|period) lock date",
        "The invoice's date falls in a period that is locked in Xero ({lock} lock date).",
        "Ask your accountant to move the lock date in Xero (Settings > Advanced > Financial settings), or "
        "change the invoice's date, then retry.",
    ),
    _known(
        r"not subscribed to currency (?P<currency>[A-Z]{3})",
        "Your Xero organisation does not have the currency {currency} turned on.",
        "Add {currency} in Xero (Settings > Currencies; it needs a plan with multi-currency), then retry.",
    ),
    _known(
        r"(?:payment or credit note allocated|has payments? allocated)",
        "Xero will not change this invoice because a payment or credit note is already applied to it.",
        "Remove the payment or credit note from the invoice in Xero first, then retry.",
    ),
    _known(
        r"(?:payment|payments).*only be (?:made|applied).*(?:authori[sz]ed)",
        "Xero records payments only against approved (AUTHORISED) invoices, and this invoice is not approved in Xero.",
        "Approve the invoice in Xero, or resend it from {brand} so it is approved, then retry the payment.",
    ),
    _known(
        r"(?:payment amount exceeds|exceeds the amount outstanding)",
        "The payment is larger than what is still owed on the invoice in Xero.",
        "Check the payments already recorded against the invoice in Xero, then retry.",
    ),
    _known(
        r"(?:invalid for making a payment|payments? (?:cannot|can not) be made (?:to|against) this account"
        r"|EnablePaymentsToAccount)",
        "The Xero account chosen for payments cannot receive payments.",
        "In {brand}'s Xero settings, choose a bank account, or an account with 'Enable payments to this "
        "account' ticked in Xero, then retry.",
    ),
    _known(
        r"Email address must be valid",
        "Xero did not accept the customer's email address.",
        "Correct the customer's email address in {brand}, then retry.",
    ),
    _known(
        r"not of valid status for modification",
        "The invoice's status in Xero no longer allows this change (for example, it is paid or voided).",
        "Check the invoice in Xero; change it there if needed.",
    ),
)


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def explain(message: str, *, brand: str) -> Explained:
    """``message`` in plain words with a fix when it is one we know; otherwise just the original."""
    for known in KNOWN_MESSAGES:
        found = known.pattern.search(message)
        if found:
            values = _Values(brand=brand, **{k: v.strip(" '\"") for k, v in found.groupdict().items() if v})
            return Explained(message, _tidy(known.plain.format_map(values)), _tidy(known.fix.format_map(values)))
    return Explained(message)


def _tidy(text: str) -> str:
    return " ".join(text.split()).replace(" .", ".").replace(" ,", ",")
