"""Lock dates: an organisation's ``PeriodLockDate`` and ``EndOfYearLockDate`` close past periods.

At Xero (help.xero.com Settings_LockDate) users can still create draft invoices and submit them for
approval in a locked period, but not approve (authorise) them, nor change or void an approved one,
and payments dated there are refused. The period lock binds every user but advisers, the end-of-year
lock everyone; the sandbox takes the connecting user for a standard user, so both bind. A date is
locked when it is "on or before the lock date" (Xero Central's current text, as help.tradifyhq.com
quotes it; the older help.xero.com page says "earlier than": the sandbox takes the stricter).

Messages: a new or approved document dated in a locked period gets, per lock that closes its date,
"The document date cannot be before the period lock date, currently set at 30-Nov-2018" and the
end-of-year equivalent (Xero's: waynerobinson/xeroizer#92, the Emersion knowledge base's copy of
both together, help.dext.com's article on the end-of-year one); an approved document dated there
that is changed gets "The document cannot be edited as it is currently dated before the end of year
lock date" (Xero's for the end-of-year lock, as integrations quote it, e.g. help.tradifyhq.com
article 23573535657241; the period-lock wording is the sandbox's, by analogy). Payments get the same
words (the sandbox's assumption: Xero's wording for payments was not found).
"""

from __future__ import annotations

import datetime as dt

from local.xero_sandbox.state import Organisation

POSTED = ("AUTHORISED", "PAID", "VOIDED")  # statuses with journals: what a lock date protects


def _shown(day: dt.date) -> str:
    return day.strftime("%d-%b-%Y")  # 30-Nov-2018, as Xero writes it in these messages


def date_locked(org: Organisation, day: dt.date) -> list[str]:
    """Why a document cannot be dated ``day`` (empty when it can)."""
    messages = []
    if org.period_lock_date is not None and day <= org.period_lock_date:
        messages.append(
            f"The document date cannot be before the period lock date, currently set at {_shown(org.period_lock_date)}"
        )
    if org.end_of_year_lock_date is not None and day <= org.end_of_year_lock_date:
        messages.append(
            "The document date cannot be before the end of year lock date, "
            f"currently set at {_shown(org.end_of_year_lock_date)}"
        )
    return messages


def edit_locked(org: Organisation, day: dt.date) -> list[str]:
    """Why a posted document dated ``day`` cannot be changed (empty when it can)."""
    messages = []
    if org.period_lock_date is not None and day <= org.period_lock_date:
        messages.append("The document cannot be edited as it is currently dated before the period lock date")
    if org.end_of_year_lock_date is not None and day <= org.end_of_year_lock_date:
        messages.append("The document cannot be edited as it is currently dated before the end of year lock date")
    return messages


def invoice_locked(
    org: Organisation, existing: tuple[str, dt.date] | None, status: str, day: dt.date | None
) -> list[str]:
    """Why an invoice (``existing``: its current status and date, if any) cannot become ``status`` dated ``day``."""
    if existing is not None and existing[0] in POSTED:
        blocked = edit_locked(org, existing[1])
        if blocked:
            return blocked
    if status in POSTED and day is not None:
        return date_locked(org, day)
    return []
