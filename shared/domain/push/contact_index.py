"""The organisation's contact index: what Xero says of the contacts the service created there.

A contact this account pushed before is known by its sync record, so an invoice for it needs no Xero
read. What can go stale is Xero's side: an accountant archives a contact, or merges it into another
(the old one is then archived, naming ``MergedToContactID``). So at most every :data:`REFRESH_SECONDS`,
and only when a flush has invoices for known contacts, one delta read asks Xero for the contacts
changed since the last one (``If-Modified-Since``, ``summaryOnly``, archived included, paged) and the
index keeps, per contact number held here, the contact's status and where it was merged. A merged
contact's invoices go to the contact it was merged into; an archived one's are refused before
anything is sent, with how to restore it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from shared.adapters.org_registry import ContactInXero
from shared.errors import Rejected

if TYPE_CHECKING:
    from shared.domain.push.context import AccountRun

REFRESH_SECONDS = 6 * 3600
PAGE = 100


def refresh(run: AccountRun) -> None:
    """Bring the index up to date with Xero, if it is due (one paged delta read)."""
    registry, now = run.parts.registry, run.parts.clock()
    seen = registry.contacts_seen_at(run.tenant_id)
    if seen is not None and now - seen < REFRESH_SECONDS:
        return
    if seen is not None:
        since = datetime.fromtimestamp(seen, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        changed: dict[str, ContactInXero] = {}
        page = 1
        while True:
            params = {"summaryOnly": "true", "includeArchived": "true", "page": str(page)}
            contacts = run.xero.get("Contacts", params, modified_since=since).get("Contacts", [])
            for contact in contacts:
                number = contact.get("ContactNumber")
                if number:
                    changed[str(number)] = ContactInXero(
                        str(contact["ContactID"]),
                        str(contact.get("ContactStatus", "ACTIVE")),
                        contact.get("MergedToContactID") or None,
                    )
            if len(contacts) < PAGE:
                break
            page += 1
        if changed:
            registry.note_contacts(run.tenant_id, changed)
    # The first time, nothing the service made here can have changed before: start counting from now.
    registry.mark_contacts_seen(run.tenant_id, now)


def current(
    run: AccountRun, known: dict[str, str], numbers: dict[str, str]
) -> tuple[dict[str, str], dict[str, Rejected]]:
    """The Xero ContactID each known contact now has (merged ones followed), and the archived ones refused."""
    if not known:
        return known, {}
    refresh(run)
    states = run.parts.registry.contacts_in_xero(run.tenant_id, [numbers[c] for c in known])
    ids = dict(known)
    refused: dict[str, Rejected] = {}
    for contact_id, xero_id in known.items():
        state = states.get(numbers[contact_id])
        if state is None or state.xero_contact_id != xero_id or state.status == "ACTIVE":
            continue
        if state.merged_to:
            ids[contact_id] = state.merged_to
        else:
            refused[contact_id] = Rejected(
                "contact_archived",
                f"Contact {contact_id} is archived in Xero, so nothing is sent to it.",
                "Restore the contact in Xero (Contacts, Archived, Restore), then retry the invoice.",
            )
    return ids, refused
