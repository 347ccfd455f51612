"""Credit notes and refunds among the proof's invoice traffic, and how they are judged in Xero.

For some invoices that stay approved: a credit note of 23.00 (one line of 20.00 plus 15 % GST) in one
or two versions (the second applies more of it to the invoice: 10.00, then 15.00), and a refund of
8.00 out of it. Whatever the order and however often each is delivered, Xero must end with each
credit note once, allocated to its invoice exactly as its newest version says, and refunded once.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tests.proof.accounts import MESSAGES

TOTAL = Decimal("23.00")
REFUND = Decimal("8.00")


@dataclass(frozen=True)
class PlannedCredit:
    account_id: str
    tenant_id: str
    credit_note_id: str
    number: str
    invoice_number: str
    applied: Decimal
    refund_id: str


def plan_credits(
    finals: dict[str, Any], rng: random.Random, *, share: float = 0.3
) -> tuple[list[str], dict[str, PlannedCredit]]:
    """Credit note and refund events for about ``share`` of the invoices that stay approved."""
    events: list[str] = []
    planned: dict[str, PlannedCredit] = {}
    for key, invoice in finals.items():
        if invoice.void or invoice.failing or rng.random() >= share:
            continue
        invoice_id = key.split("/", 1)[1]
        n = int(invoice_id.removeprefix("inv-"))
        credit_note_id = f"cn-{n}"
        number = f"CN-{invoice.account_id[-6:]}-{n:05d}"
        versions = rng.randint(1, 2)
        for version in range(1, versions + 1):
            applied = Decimal("10.00") if version == 1 else Decimal("15.00")
            events.append(_credit_note(invoice.account_id, n, credit_note_id, number, version, invoice_id, applied))
        refund_id = f"rf-{n}"
        events.append(_refund(invoice.account_id, refund_id, credit_note_id))
        applied = Decimal("10.00") if versions == 1 else Decimal("15.00")
        planned[f"{invoice.account_id}/{credit_note_id}"] = PlannedCredit(
            invoice.account_id, invoice.tenant_id, credit_note_id, number, invoice.number, applied, refund_id
        )
    return events, planned


def _credit_note(
    account_id: str, n: int, credit_note_id: str, number: str, version: int, invoice_id: str, applied: Decimal
) -> str:
    body: dict[str, Any] = json.loads((MESSAGES / "11-credit-note-issued.json").read_text())
    data = body["data"]
    data.pop("totals", None)
    data.update(
        credit_note_id=credit_note_id,
        number=number,
        version=version,
        reference=f"v{version}",
        line_items=[{"description": "Returned", "quantity": "1", "unit_price": "20.00", "tax_id": "gst-15"}],
        applied_to=[{"invoice_id": invoice_id, "amount": str(applied)}],
    )
    data["contact"] = {**data["contact"], "contact_id": f"cus-{n % 25}", "name": f"Customer {n % 25}"}
    body.update(account_id=account_id, event_id=f"cn-{account_id}-{n}-v{version}")
    return json.dumps(body)


def _refund(account_id: str, refund_id: str, credit_note_id: str) -> str:
    body: dict[str, Any] = json.loads((MESSAGES / "12-refund-recorded.json").read_text())
    body["data"].update(refund_id=refund_id, credit_note_id=credit_note_id, amount=str(REFUND), reference=refund_id)
    body.update(account_id=account_id, event_id=f"{refund_id}-{account_id}")
    return json.dumps(body)


def dead_credit_keys(letters: list[dict[str, Any]]) -> set[str]:
    """``account/credit note id`` of every credit note or refund on the dead-letter queue."""
    keys = set()
    for letter in letters:
        try:
            event = json.loads(letter["Body"])
        except (KeyError, ValueError, TypeError):
            continue
        data = event.get("data") if isinstance(event, dict) else None
        if isinstance(data, dict) and event.get("type") in ("credit_note.upserted", "refund.recorded"):
            keys.add(f"{event.get('account_id')}/{data.get('credit_note_id')}")
    return keys


def check_credits(stack: Any, planned: dict[str, PlannedCredit], dead: set[str]) -> tuple[int, list[str]]:
    """(duplicates, lost): credit notes or refunds in Xero more than once; credit notes not as planned
    (allocated and refunded) and not dead-lettered."""
    from local.xero_sandbox.credit_notes import credit_notes_of

    state = stack.sandbox.sandbox.state
    duplicates = 0
    lost: list[str] = []
    by_tenant: dict[str, dict[str, list[Any]]] = {}
    with state.lock:
        for tenant_id in {p.tenant_id for p in planned.values()}:
            org = state.organisations[tenant_id]
            numbered: dict[str, list[Any]] = {}
            for note in credit_notes_of(org).values():
                numbered.setdefault(note.number, []).append(note)
            by_tenant[tenant_id] = numbered
            duplicates += sum(len(notes) - 1 for notes in numbered.values())
            references = [p.reference for p in org.payments.values() if p.credit_note_id and p.status != "DELETED"]
            duplicates += len(references) - len(set(references))
        for key, plan in planned.items():
            if key in dead:
                continue
            notes = by_tenant[plan.tenant_id].get(plan.number, [])
            if not notes:
                lost.append(f"{key}: absent")
                continue
            note = notes[0]
            invoice_numbers = {
                a.invoice_id: state.organisations[plan.tenant_id].invoices[a.invoice_id].number
                for a in note.allocations
            }
            allocated = sum((a.amount for a in note.allocations if not a.deleted), Decimal(0))
            if allocated != plan.applied or set(invoice_numbers.values()) != {plan.invoice_number}:
                lost.append(f"{key}: allocated {allocated}, planned {plan.applied}")
            elif note.refunded != REFUND:
                lost.append(f"{key}: refunded {note.refunded}, planned {REFUND}")
    return duplicates, lost
