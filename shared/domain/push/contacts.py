"""Contacts: every contact the batch's invoices need, and every ``contact.upserted``, known in Xero
before the invoices go.

- A contact this account already pushed to the organisation is known by its sync record: no call.
- A new one is created straight away (``PUT /Contacts``, 50 a call): no lookup first. Its
  ``ContactNumber`` is the platform's contact id, held in the organisation for this account
  (:mod:`shared.adapters.org_registry`); when another account connected to the same organisation
  holds that id, this account's contact gets a number of its own (``<id>~<tag>``).
- Xero says the number is taken: an earlier attempt created the contact (or someone typed our number
  in Xero), so it is looked up and adopted; an archived one is left alone and the owner told.
- Xero says the name is taken: a contact of that name without a number is adopted; one that belongs to
  someone else makes ours "Name (contact id)", so no two active contacts share a name.
- ``contact.upserted`` updates the contact (``POST``) when its content changed; the copy of a contact
  inside an invoice only ever creates it.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from shared.adapters.org_registry import Holder
from shared.domain.mapping import contact_element, content_fingerprint
from shared.domain.push import calls, contact_index
from shared.domain.push.invoices import refused
from shared.domain.push.model import InvoiceWork, Message
from shared.errors import Rejected
from shared.models.events import Contact, ContactUpserted, InvoiceUpserted
from shared.models.records import ContactRecord

if TYPE_CHECKING:
    from shared.domain.push.context import AccountRun

NAME_TAKEN = "contact name"
NUMBER_TAKEN = "contact number"
ASSIGNED = "already assigned to another contact"
MAX_CONTACT_NUMBER = 50


def resolve(run: AccountRun, work: list[InvoiceWork], also: Iterable[Contact] = ()) -> None:
    """``also``: the contacts of other documents of the batch (credit notes)."""
    updates = _newest_updates(run)
    embedded = {c.contact_id: c for c in also}
    embedded |= {
        w.event.data.contact.contact_id: w.event.data.contact
        for w in work
        if w.live and isinstance(w.event, InvoiceUpserted)
    }
    wanted = set(updates) | set(embedded)
    if not wanted:
        return
    stored = run.ledger.contacts(sorted(wanted))
    for contact_id, (message, event) in list(updates.items()):
        if contact_id in stored and stored[contact_id].version >= event.data.version:
            run.skip(message)
            del updates[contact_id]
    snapshot: dict[str, Contact] = {**embedded, **{c: event.data for c, (_, event) in updates.items()}}
    known = {c: str(r.xero_contact_id) for c, r in stored.items() if r.xero_contact_id}
    numbers = {c: r.number or c for c, r in stored.items() if r.xero_contact_id}
    known, failures = contact_index.current(run, known, numbers)
    new = sorted(c for c in snapshot if c not in known and c not in failures)
    numbers |= _hold_numbers(run, new, failures)
    created = _create(run, [snapshot[c] for c in new if c not in failures], numbers, failures)
    known |= created
    changed = [
        c
        for c in sorted(updates)
        if c in known and c not in created and _fingerprint(snapshot[c], numbers[c]) != _stored_print(stored.get(c))
    ]
    known |= _update(run, [(known[c], snapshot[c]) for c in changed], numbers, failures)
    for contact_id, contact in snapshot.items():
        if contact_id in failures or contact_id not in known:
            continue
        record = stored.get(contact_id)
        if contact_id not in updates and record is not None and record.xero_contact_id == known[contact_id]:
            continue  # known already; an invoice's copy of a contact does not count as an update
        run.ledger.put(
            (record or ContactRecord(contact_id=contact_id)).model_copy(
                update={
                    "xero_contact_id": known[contact_id],
                    "number": numbers[contact_id],
                    "fingerprint": _fingerprint(contact, numbers[contact_id]),
                    "version": updates[contact_id][1].data.version
                    if contact_id in updates
                    else (record.version if record else 0),
                    "state": "synced",
                    "updated_at": run.now.isoformat(),
                }
            )
        )
    run.contact_ids = known
    _settle(run, updates, work, failures)


def _newest_updates(run: AccountRun) -> dict[str, tuple[Message, ContactUpserted]]:
    updates: dict[str, tuple[Message, ContactUpserted]] = {}
    for message in run.live():
        event = message.event
        if not isinstance(event, ContactUpserted):
            continue
        other = updates.get(event.data.contact_id)
        if other is not None and other[1].data.version >= event.data.version:
            run.skip(message)
            continue
        if other is not None:
            run.skip(other[0])
        updates[event.data.contact_id] = (message, event)
    return updates


def _hold_numbers(run: AccountRun, contact_ids: list[str], failures: dict[str, Rejected]) -> dict[str, str]:
    """The ContactNumber each new contact gets in this organisation, held for this account."""
    if not contact_ids:
        return {}
    registry, tenant = run.parts.registry, run.tenant_id
    holders = registry.hold_all(tenant, "CONTACT", {c: Holder(run.account_id, c) for c in contact_ids})
    numbers = {c: c for c in contact_ids if holders[c] == Holder(run.account_id, c)}
    others = {own_number(run.account_id, c): c for c in contact_ids if c not in numbers}
    if others:
        held = registry.hold_all(tenant, "CONTACT", {n: Holder(run.account_id, c) for n, c in others.items()})
        for number, contact_id in others.items():
            if held[number] == Holder(run.account_id, contact_id):
                numbers[contact_id] = number
            else:
                failures[contact_id] = Rejected(
                    "contact_number_taken",
                    f"Contact {contact_id} could not be given a contact number in this Xero organisation.",
                    "Contact support: two accounts on the organisation claim the same contact.",
                )
    return numbers


def own_number(account_id: str, contact_id: str) -> str:
    """A ContactNumber for ``contact_id`` that no other account's contact can have (at most 50 characters)."""
    tag = hashlib.sha256(f"{account_id}\n{contact_id}".encode()).hexdigest()[:7]
    return f"{contact_id[: MAX_CONTACT_NUMBER - len(tag) - 1]}~{tag}"


def _create(
    run: AccountRun, contacts: list[Contact], numbers: dict[str, str], failures: dict[str, Rejected]
) -> dict[str, str]:
    created: dict[str, str] = {}
    taken_names: list[Contact] = []
    taken_numbers: list[Contact] = []
    for contact, (result, messages) in _write(run, "PUT", [(None, c) for c in contacts], numbers, ""):
        if result is not None:
            created[contact.contact_id] = str(result["ContactID"])
        elif _taken(messages, NUMBER_TAKEN):  # first: our number taken says it is ours, whatever its name
            taken_numbers.append(contact)
        elif _taken(messages, NAME_TAKEN):
            taken_names.append(contact)
        else:
            failures[contact.contact_id] = refused("contact", contact.name, messages)
    if taken_numbers:
        created |= _adopt_numbers(run, taken_numbers, numbers, failures)
    if taken_names:
        created |= _resolve_taken_names(run, taken_names, numbers, failures)
    return created


def _adopt_numbers(
    run: AccountRun, contacts: list[Contact], numbers: dict[str, str], failures: dict[str, Rejected]
) -> dict[str, str]:
    """Xero has a contact with our number: ours (an earlier attempt, or typed in Xero) unless archived."""
    wanted = {numbers[c.contact_id]: c for c in contacts}
    found: dict[str, dict[str, Any]] = {}
    groups = calls.fitting(
        run.xero,
        "Contacts",
        sorted(wanted),
        lambda g: {"where": calls.where_equals("ContactNumber", g), "includeArchived": "true"},
    )
    for group in groups:
        params = {"where": calls.where_equals("ContactNumber", group), "includeArchived": "true"}
        for contact in run.xero.get("Contacts", params).get("Contacts", []):
            found[str(contact.get("ContactNumber"))] = contact
    adopted: dict[str, str] = {}
    for number, contact in wanted.items():
        existing = found.get(number)
        if existing is None:
            failures[contact.contact_id] = refused(
                "contact", contact.name, [f"The contact number {number} is already assigned to another contact."]
            )
        elif existing.get("ContactStatus", "ACTIVE") != "ACTIVE":
            failures[contact.contact_id] = Rejected(
                "contact_archived",
                f"Contact {contact.name} ({contact.contact_id}) is archived in Xero, so nothing is sent to it.",
                "Restore the contact in Xero (Contacts, Archived, Restore), then retry the invoice.",
            )
        else:
            adopted[contact.contact_id] = str(existing["ContactID"])
    return adopted


def _resolve_taken_names(
    run: AccountRun, contacts: list[Contact], numbers: dict[str, str], failures: dict[str, Rejected]
) -> dict[str, str]:
    """Xero already has a contact by this name: adopt it if nothing else claims it, else name ours apart."""
    adopted: list[tuple[str, Contact]] = []
    renamed: list[Contact] = []
    for contact in contacts:
        existing = _by_name(run, contact.name)
        if existing is not None and not existing.get("ContactNumber"):
            adopted.append((str(existing["ContactID"]), contact))
        else:
            renamed.append(contact)
    ids = _update(run, adopted, numbers, failures)
    for contact, (result, messages) in _write(run, "PUT", [(None, c) for c in renamed], numbers, ":n"):
        if result is not None:
            ids[contact.contact_id] = str(result["ContactID"])
        else:
            failures[contact.contact_id] = refused("contact", contact.name, messages)
    return ids


def _by_name(run: AccountRun, name: str) -> dict[str, Any] | None:
    """The active contact named ``name`` (as Xero compares names: case and accents aside)."""
    params = {"where": calls.where_equals("Name", [name])} if calls.plain(name) else {"searchTerm": name}
    wanted = same_name_key(name)
    for contact in run.xero.get("Contacts", params).get("Contacts", []):
        if contact.get("ContactStatus", "ACTIVE") == "ACTIVE" and same_name_key(str(contact.get("Name", ""))) == wanted:
            found: dict[str, Any] = contact
            return found
    return None


def same_name_key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().strip()


def _update(
    run: AccountRun, pairs: list[tuple[str, Contact]], numbers: dict[str, str], failures: dict[str, Rejected]
) -> dict[str, str]:
    done: dict[str, str] = {}
    retry: list[tuple[str | None, Contact]] = []
    ids = {c.contact_id: xid for xid, c in pairs}
    for contact, (result, messages) in _write(run, "POST", list(pairs), numbers, ""):
        if result is not None:
            done[contact.contact_id] = ids[contact.contact_id]
        elif _taken(messages, NAME_TAKEN):
            retry.append((ids[contact.contact_id], contact))
        else:
            failures[contact.contact_id] = refused("contact", contact.name, messages)
    for contact, (result, messages) in _write(run, "POST", retry, numbers, ":n"):
        if result is not None:
            done[contact.contact_id] = ids[contact.contact_id]
        else:
            failures[contact.contact_id] = refused("contact", contact.name, messages)
    return done


def _write(
    run: AccountRun,
    method: Literal["PUT", "POST"],
    pairs: list[tuple[str | None, Contact]],
    numbers: dict[str, str],
    suffix: str,
) -> list[tuple[Contact, calls.Result]]:
    """``suffix`` ":n" sends each contact under its distinct name, "Name (contact id)"."""

    def element(pair: tuple[str | None, Contact]) -> dict[str, Any]:
        xero_id, contact = pair
        name = distinct_name(contact) if suffix else contact.name
        return contact_element(contact, xero_contact_id=xero_id, name=name, number=numbers.get(contact.contact_id))

    out: list[tuple[Contact, calls.Result]] = []
    for batch in calls.by_size(pairs, element):
        results = calls.write(
            run.xero,
            method,
            "Contacts",
            [element(p) for p in batch],
            [f"contact:{c.contact_id}{suffix}" for _, c in batch],
        )
        out.extend((c, r) for (_, c), r in zip(batch, results, strict=True))
    return out


def _taken(messages: list[str], what: str) -> bool:
    return any(what in m.lower() and ASSIGNED in m for m in messages)


def distinct_name(contact: Contact) -> str:
    suffix = f" ({contact.contact_id})"
    return contact.name[: 255 - len(suffix)] + suffix


def _fingerprint(contact: Contact, number: str) -> str:
    return content_fingerprint(contact_element(contact, xero_contact_id=None, name=contact.name, number=number))


def _stored_print(record: ContactRecord | None) -> str | None:
    return record.fingerprint if record else None


def _settle(
    run: AccountRun,
    updates: dict[str, tuple[Message, ContactUpserted]],
    work: list[InvoiceWork],
    failures: dict[str, Rejected],
) -> None:
    for contact_id, (message, _) in updates.items():
        if contact_id in failures:
            run.fail(message, failures[contact_id])
        else:
            run.done(message)
    for w in work:
        needed = w.event.data.contact.contact_id if isinstance(w.event, InvoiceUpserted) else None
        if needed and needed in failures:
            failure = failures[needed]
            run.fail(
                w.message,
                Rejected(
                    "contact_refused",
                    f"Invoice {w.number} was not synced because Xero refused its contact: {failure.message}",
                    failure.fix,
                    failure.xero_messages,
                ),
            )
