"""The push where events cross lines they must not: instalments that look alike, accounts that share an
organisation, an account that moves to another one, absurd numbers, events near the contract's size
limit, and SES down while failures are to be told.

- ``equal-instalments``: two or three equal payments (same amount, same reference) per invoice while
  Xero drops and fails PUT /Payments: Xero holds exactly what the platform recorded.
- ``shared-organisation``: two accounts on one Xero organisation, with the same contact ids and
  invoice numbers: neither account's events change what the other made; the refused ones say why.
- ``reconnect-elsewhere``: an account moves to another organisation with events queued: the old one
  is never written again, everything lands in the new one once its settings are chosen.
- ``poison-values``: out-of-range numbers among good events: each fails alone with its own reason.
- ``oversized-events``: events near the contract's size limit: never in Xero without a sync record.
- ``ses-outage``: SES failing while invoices fail to sync: once it recovers, each failure is
  emailed exactly once.

Every scenario takes the dead letters it reads off the queue, so that later scenarios see only theirs.
"""

from __future__ import annotations

import json
import os
import random
import string
import time
from collections import Counter
from decimal import Decimal
from typing import Any

import boto3

from local.xero_sandbox.faults import FaultRule
from shared import wiring
from shared.models.events import MAX_EVENT_BYTES
from tests.proof import pushing
from tests.proof.accounts import configured_account, connect_business, invoice_body
from tests.proof.framework import Run, scenario
from tests.proof.stack import ProofStack
from tests.support.events import sqs_record

Letter = tuple[dict[str, Any], str, str]  # the event, its failure_code, its failure_reason


def take_dead_letters() -> list[Letter]:
    """Every dead letter, taken off the queue: (event, failure_code, failure_reason)."""
    sqs = boto3.client("sqs")
    url = os.environ["DEAD_LETTER_QUEUE_URL"]
    letters: list[Letter] = []
    while True:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        messages = answer.get("Messages", [])
        if not messages:
            return letters
        for message in messages:
            attributes: dict[str, Any] = dict(message.get("MessageAttributes", {}))
            try:
                event = json.loads(message["Body"])
            except ValueError:
                event = {}
            letters.append(
                (
                    event if isinstance(event, dict) else {},
                    attributes.get("failure_code", {}).get("StringValue", ""),
                    attributes.get("failure_reason", {}).get("StringValue", ""),
                )
            )
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        )


def renumbered(body: str, **data: Any) -> str:
    """``body`` with ``data`` fields replaced (its number, its contact...)."""
    event = json.loads(body)
    event["data"].update(data)
    return json.dumps(event)


def zero_rated_invoice(account_id: str, n: int, amount: str, **changes: Any) -> str:
    """An invoice of one line of ``amount`` and no tax, so that its total is ``amount``."""
    line = {"description": "Instalment plan", "quantity": "1", "unit_price": amount, "tax_id": "gst-15"}
    return invoice_body(account_id, n, line_items=[line], amounts_are="tax_inclusive", **changes)


def payment_body(account_id: str, invoice_id: str, payment_id: str, amount: str, reference: str) -> str:
    return json.dumps(
        {
            "type": "payment.recorded",
            "schema_version": 1,
            "event_id": f"evt-{payment_id}",
            "account_id": account_id,
            "occurred_at": "2026-11-25T11:00:00Z",
            "data": {
                "payment_id": payment_id,
                "invoice_id": invoice_id,
                "amount": amount,
                "date": "2026-11-25",
                "reference": reference,
            },
        }
    )


def writes(stack: ProofStack, tenant_id: str) -> int:
    """Every PUT and POST the organisation was sent."""
    state = stack.sandbox.sandbox.state
    with state.lock:
        stats = dict(state.organisations[tenant_id].stats)
    return sum(int(count) for route, count in stats.items() if route.startswith(("PUT ", "POST ")))


def drained_ok(run: Run, drained: pushing.Drained) -> None:
    run.check("no invocation crashed and the queues drained", not drained.errors, "; ".join(drained.errors[:3]))


# --- equal instalments under faults --------------------------------------------------------------


@scenario("equal-instalments", "equal payments (same amount, same reference) while Xero fails PUT /Payments")
def equal_instalments(run: Run) -> None:
    stack = run.stack
    rng = random.Random(2026_12_03)
    invoices = run.size.pick(short=4, full=40)
    [tenant] = pushing.add_organisations(stack, 1)
    with pushing.compressed_waits():
        account = configured_account(stack, "acct-instalments", tenant)
        bodies = [invoice_body(account, n) for n in range(invoices)]
        pushing.publish(bodies)
        drained = pushing.drain(workers=2)
        planned: dict[str, list[Decimal]] = {}
        payments = []
        for n in range(invoices):
            amount = rng.choice(["10.00", "25.50", "33.33"])
            count = rng.randint(2, 3)
            planned[f"inv-{n}"] = [Decimal(amount)] * count
            payments += [payment_body(account, f"inv-{n}", f"pay-{n}-{k}", amount, "Instalment") for k in range(count)]
        # The first write of payments is dropped after Xero made them, the next one fails; then a share
        # of every later write fails either way.
        share = run.size.pick(short=0.2, full=0.15)
        payments_path = "/api.xro/2.0/Payments"
        stack.sandbox.sandbox.faults.set(
            [
                FaultRule(kind="drop", method="PUT", path=payments_path, times=1),
                FaultRule(kind="status", status=500, method="PUT", path=payments_path, times=1),
                FaultRule(kind="status", status=500, method="PUT", path=payments_path, probability=share),
                FaultRule(kind="drop", method="PUT", path=payments_path, probability=share),
            ],
            seed=5,
        )
        faults_before = sum(stack.sandbox.sandbox.faults.injected.values())
        again = pushing.drain(workers=2, feed=pushing_order(payments, rng))
        injected = sum(stack.sandbox.sandbox.faults.injected.values()) - faults_before
        stack.sandbox.sandbox.faults.set([])
    run.tally.events += len(bodies) + len(payments)
    run.tally.retries += drained.handed_back + again.handed_back
    drained_ok(run, again)
    run.check("faults were injected on PUT /Payments", injected > 0, f"{injected}")
    letters = take_dead_letters()
    run.check(f"nothing dead-lettered ({len(letters)})", not letters, "; ".join(f"{c}: {r}" for _, c, r in letters[:3]))

    by_invoice: dict[str, list[Decimal]] = {}
    numbers = {i.invoice_id: i.number for i in pushing.xero_invoices(stack, tenant)}
    ours = {json.loads(b)["data"]["number"]: json.loads(b)["data"]["invoice_id"] for b in bodies}
    for payment in pushing.xero_payments(stack, tenant):
        by_invoice.setdefault(ours.get(numbers.get(payment.invoice_id, ""), "?"), []).append(payment.amount)
    duplicates = sum(max(len(by_invoice.get(i, [])) - len(p), 0) for i, p in planned.items())
    lost = sum(max(len(p) - len(by_invoice.get(i, [])), 0) for i, p in planned.items())
    wrong = [i for i, p in planned.items() if sorted(by_invoice.get(i, [])) != sorted(p)]
    run.check(f"no payment twice in Xero ({duplicates})", duplicates == 0)
    run.check(f"no payment missing from Xero ({lost})", lost == 0)
    run.check(
        f"each invoice holds exactly its recorded payments, count and sum ({len(wrong)} not)",
        not wrong,
        "; ".join(f"{i}: {by_invoice.get(i)} not {planned[i]}" for i in wrong[:3]),
    )
    records = [wiring.sync_records().payment(account, json.loads(b)["data"]["payment_id"]) for b in payments]
    adopted = Counter(r.xero_payment_id for r in records if r is not None and r.xero_payment_id)
    unrecorded = sum(1 for r in records if r is None or not r.xero_payment_id)
    run.check(f"every payment recorded with its Xero payment ({unrecorded} not)", unrecorded == 0)
    twice = [p for p, c in adopted.items() if c > 1]
    run.check(f"no Xero payment adopted by two platform payments ({len(twice)})", not twice)
    run.tally.duplicates += duplicates + len(twice)
    run.tally.lost += lost


def pushing_order(bodies: list[str], rng: random.Random) -> list[str]:
    """Each body once or twice, shuffled (SQS redelivers)."""
    deliveries = [b for b in bodies for _ in range(rng.randint(1, 2))]
    rng.shuffle(deliveries)
    return deliveries


# --- two accounts on one organisation -------------------------------------------------------------


@scenario("shared-organisation", "two accounts on one organisation, same contact ids and invoice numbers")
def shared_organisation(run: Run) -> None:
    stack = run.stack
    rng = random.Random(41)
    count = run.size.pick(short=6, full=60)
    [tenant] = pushing.add_organisations(stack, 1)
    with pushing.compressed_waits():
        first = configured_account(stack, "acct-share-a", tenant)
        second = configured_account(stack, "acct-share-b", tenant)

        def numbered(account_id: str, n: int, version: int, **data: Any) -> str:
            return renumbered(invoice_body(account_id, n, version=version), number=f"SHARED-{n:04d}", **data)

        created = [numbered(first, n, 1) for n in range(count)]
        pushing.publish(created)
        first_drain = pushing.drain(workers=2)
        # Then, interleaved: the first account's updates; the second's creates with the same numbers and
        # contact ids (other names, other amounts), its contact renames and its voids of those numbers.
        updates = [numbered(first, n, 2) for n in range(count)]
        line = {"description": "Not yours", "quantity": "1", "unit_price": "9000.00", "tax_id": "gst-15"}
        theirs = [
            numbered(
                second,
                n,
                1,
                line_items=[line],
                contact={"contact_id": f"cus-{n % 25}", "name": f"Other Business {n}", "is_customer": True},
            )
            for n in range(count)
        ]
        renames = [
            json.dumps(
                {
                    "type": "contact.upserted",
                    "schema_version": 1,
                    "event_id": f"evt-rename-{n}",
                    "account_id": second,
                    "occurred_at": "2026-11-25T10:00:00Z",
                    "data": {"contact_id": f"cus-{n % 25}", "name": f"Renamed By Other {n}", "version": 5},
                }
            )
            for n in range(0, count, 2)
        ]
        voids = [
            json.dumps(
                {
                    "type": "invoice.voided",
                    "schema_version": 1,
                    "event_id": f"evt-void-{n}",
                    "account_id": second,
                    "occurred_at": "2026-11-25T10:00:00Z",
                    "data": {"invoice_id": f"inv-{n}", "version": 9, "number": f"SHARED-{n:04d}"},
                }
            )
            for n in range(1, count, 2)
        ]
        crossing = updates + theirs + renames + voids
        rng.shuffle(crossing)
        drained = pushing.drain(workers=2, feed=crossing)
    run.tally.events += len(created) + len(crossing)
    run.tally.retries += first_drain.handed_back + drained.handed_back
    drained_ok(run, drained)

    invoices = {i.number: i for i in pushing.xero_invoices(stack, tenant)}
    contacts = _contacts(stack, tenant)
    names = {c["ContactID"]: c["Name"] for c in contacts}
    numbers = Counter(i.number for i in pushing.xero_invoices(stack, tenant))
    duplicates = sum(c - 1 for c in numbers.values())
    crossed: list[str] = []
    for n in range(count):
        mine = invoices.get(f"SHARED-{n:04d}")
        if mine is None:
            crossed.append(f"SHARED-{n:04d} absent")
            continue
        expected = ("AUTHORISED", "v2", f"Customer {n % 25}")
        actual = (mine.status, mine.reference, names.get(mine.contact_id))
        if actual != expected or mine.total == Decimal("9000.00") or mine.total >= Decimal(9000):
            crossed.append(f"SHARED-{n:04d}: {actual} total {mine.total}")
    run.check(f"no invoice number twice in the organisation ({duplicates})", duplicates == 0)
    run.check(
        f"the first account's invoices are as it last said: status, reference, total, contact ({len(crossed)} not)",
        not crossed,
        "; ".join(crossed[:3]),
    )
    numbered_by_first = {
        c.get("ContactNumber"): c["Name"] for c in contacts if "~" not in str(c.get("ContactNumber", ""))
    }
    taken = [
        f"{number}: {name}" for number, name in numbered_by_first.items() if number and not name.startswith("Customer ")
    ]
    run.check(
        f"the first account's contacts keep their names and numbers ({len(taken)} taken over)",
        not taken,
        "; ".join(taken[:3]),
    )
    letters = take_dead_letters()
    refused = {e.get("data", {}).get("invoice_id"): (c, r) for e, c, r in letters if e.get("account_id") == second}
    records = wiring.sync_records().invoices(second, [f"inv-{n}" for n in range(count)])
    unexplained = []
    for n in range(count):
        record = records.get(f"inv-{n}")
        if record is not None and record.xero_invoice_id:
            unexplained.append(f"inv-{n} holds a Xero invoice: {record.xero_invoice_id}")
            continue
        if n % 2:  # voided by the second account: nothing of its own in Xero to void, nothing to refuse
            continue
        code, reason = refused.get(f"inv-{n}", ("", ""))
        if record is not None:
            code, reason = record.error_code or code, record.error_message or reason
        if code != "duplicate_invoice_number" or "another account" not in reason:
            unexplained.append(f"inv-{n}: {code} {reason!r}")
    run.check(
        f"the second account's invoices are refused as another account's number ({len(unexplained)} not)",
        not unexplained,
        "; ".join(unexplained[:3]),
    )
    first_records = wiring.sync_records().invoices(first, [f"inv-{n}" for n in range(count)])
    first_lost = [
        f"inv-{n}" for n in range(count) if not getattr(first_records.get(f"inv-{n}"), "xero_invoice_id", None)
    ]
    run.check(f"every invoice of the first account is recorded synced ({len(first_lost)} not)", not first_lost)
    run.tally.refusals += len(range(0, count, 2)) - len(unexplained)
    run.tally.duplicates += duplicates
    run.tally.lost += len(first_lost) + len(unexplained)


def _contacts(stack: ProofStack, tenant_id: str) -> list[dict[str, Any]]:
    org = stack.sandbox.sandbox.state.organisations[tenant_id]
    with stack.sandbox.sandbox.state.lock:
        return [dict(c) for c in org.contacts.values() if c.get("ContactStatus", "ACTIVE") == "ACTIVE"]


# --- reconnect to another organisation ------------------------------------------------------------


@scenario("reconnect-elsewhere", "an account reconnects to another organisation with events queued")
def reconnect_elsewhere(run: Run) -> None:
    from shared.models import api

    stack = run.stack
    count = run.size.pick(short=4, full=40)
    old, new = pushing.add_organisations(stack, 2)
    state = stack.sandbox.sandbox.state
    with pushing.compressed_waits():
        account = configured_account(stack, "acct-moving", old)
        pushing.publish([invoice_body(account, n) for n in range(count)])
        before_drain = pushing.drain(workers=2)
        synced = len(pushing.xero_invoices(stack, old))
        # Events published before the move, waiting on the queue while the owner moves.
        queued = [invoice_body(account, n, version=2) for n in range(count)]
        pushing.publish(queued)
        with state.lock:
            owner = next(u.user_id for u in state.users.values() if u.email == f"owner@{account}.example")
            grants = [g.grant_id for g in state.grants.values() if g.user_id == owner and not g.revoked]
        for grant in grants:
            state.revoke_grant(grant)
        connect_business(stack, account, [new])
        written = writes(stack, old)
        view = wiring.management().connection(account)
        later = [invoice_body(account, n, version=3) for n in range(count)]
        later += [invoice_body(account, n) for n in range(count, count + count // 2 + 1)]
        pushing.publish(later)
        waited = pushing.drain(workers=2)
        parked = wiring.sync_records().parked(account)
        # The owner chooses the new organisation's settings: what waited goes now.
        accounts = stack.sandbox.sandbox.state.organisations[new].accounts
        bank = next(a for a in accounts if a["Type"] == "BANK" and a.get("Status", "ACTIVE") == "ACTIVE")
        tax = next(a["TaxType"] for a in accounts if a.get("Code") == "200")
        service = wiring.management()
        service.choose_payment_account(account, api.ChoosePaymentAccount(account_id=bank["AccountID"]))
        service.update_settings(account, api.SettingsPatch(sales_account_code="200"))
        service.replace_tax_mappings(
            account, api.ReplaceTaxMappings(mappings=[api.TaxMappingIn(platform_tax_id="gst-15", tax_type=tax)])
        )
        after = pushing.drain(workers=2)
    run.tally.events += count + len(queued) + len(later)
    run.tally.retries += before_drain.handed_back + waited.handed_back + after.handed_back
    drained_ok(run, after)
    run.check(f"the first organisation had the account's invoices ({synced} of {count})", synced == count)
    run.check(
        "the account's status says it starts afresh in the new organisation",
        view.organisation is not None
        and view.organisation.tenant_id == new
        and view.organisation_changed_at is not None
        and bool(view.settings_needed),
        f"{view.organisation} changed at {view.organisation_changed_at}, needs {view.settings_needed}",
    )
    reasons = Counter(p["reason"] for p in parked)
    run.check(
        f"events wait for the new organisation's settings ({dict(reasons)})",
        set(reasons) == {"organisation_changed"} and sum(reasons.values()) > 0,
    )
    run.check(
        f"the old organisation is never written after the move ({writes(stack, old) - written} writes)",
        writes(stack, old) == written,
    )
    moved = {i.number: i for i in pushing.xero_invoices(stack, new)}
    expected = {json.loads(b)["data"]["number"]: json.loads(b)["data"]["reference"] for b in later}
    lost = [n for n, ref in expected.items() if n not in moved or moved[n].reference != ref]
    twice = sum(c - 1 for c in Counter(i.number for i in pushing.xero_invoices(stack, new)).values())
    run.check(f"every invoice lands in the new organisation as its newest version ({len(lost)} not)", not lost)
    run.check(f"none twice in the new organisation ({twice})", twice == 0)
    records = wiring.sync_records().invoices(account, [json.loads(b)["data"]["invoice_id"] for b in later])
    elsewhere = [i for i, r in records.items() if r.tenant_id != new]
    run.check(f"every sync record names the new organisation ({len(elsewhere)} not)", not elsewhere)
    letters = take_dead_letters()
    run.check(f"nothing dead-lettered ({len(letters)})", not letters, "; ".join(f"{c}: {r}" for _, c, r in letters[:3]))
    run.tally.lost += len(lost)
    run.tally.duplicates += twice


# --- poison values ---------------------------------------------------------------------------------

POISONS: dict[str, tuple[str, str]] = {
    # name: (field the reason must name, what to change)
    "version": ("version", "version"),
    "unit_price": ("unit_price", "line"),
    "quantity": ("quantity", "quantity"),
    "payment": ("amount", "payment"),
}


def _poisoned(account_id: str, n: int, kind: str) -> str:
    if kind == "payment":
        return payment_body(account_id, "inv-0", f"pay-poison-{n}", "1" + "0" * 40, "absurd")
    if kind == "version":
        return invoice_body(account_id, n, version=10**40)
    line = {"description": "Absurd", "quantity": "1", "unit_price": "10.00", "tax_id": "gst-15"}
    if kind == "line":
        line["unit_price"] = "123456789012345678901234567890.00"
    else:
        line["quantity"] = "1e40"
    return invoice_body(account_id, n, line_items=[line])


@scenario("poison-values", "out-of-range numbers among good events: each fails alone, with its own reason")
def poison_values(run: Run) -> None:
    stack = run.stack
    rng = random.Random(13)
    batches = run.size.pick(short=2, full=20)
    [tenant] = pushing.add_organisations(stack, 1)
    with pushing.compressed_waits():
        account = configured_account(stack, "acct-poison", tenant)
        pushing.push_through([sqs_record(invoice_body(account, 0))])
        good: list[str] = []
        poisons: dict[str, str] = {}  # event id -> the field its reason must name
        poisoned_invoices: dict[str, str] = {}  # invoice id -> its kind of poison
        poison_bodies: list[str] = []
        emails_before = len(stack.emails())
        n = 1
        for _ in range(batches):
            batch = []
            for field, kind in POISONS.values():
                body = _poisoned(account, n, kind)
                poisons[json.loads(body)["event_id"]] = field
                poisoned_invoices[f"inv-{n}"] = kind
                poison_bodies.append(body)
                batch.append(body)
                n += 1
            for _ in range(6):
                body = invoice_body(account, n)
                good.append(body)
                batch.append(body)
                n += 1
            rng.shuffle(batch)
            pushing.push_through([sqs_record(b) for b in batch])
        drained = pushing.drain(workers=1)
    run.tally.events += len(good) + len(poisons) + 1
    drained_ok(run, drained)
    letters = take_dead_letters()
    reasons = {e.get("event_id"): (c, r) for e, c, r in letters}
    unexplained = [
        f"{event_id}: {reasons.get(event_id)}"
        for event_id, field in poisons.items()
        if event_id not in reasons or reasons[event_id][0] != "malformed_event" or field not in reasons[event_id][1]
    ]
    run.check(
        f"each poison event is dead-lettered with a reason naming its field ({len(unexplained)} of {len(poisons)} not)",
        not unexplained,
        "; ".join(unexplained[:3]),
    )
    others = [f"{c}: {r}" for e, c, r in letters if e.get("event_id") not in poisons]
    run.check(f"no good event dead-lettered ({len(others)})", not others, "; ".join(others[:3]))
    in_xero = Counter(i.number for i in pushing.xero_invoices(stack, tenant))
    missing = [json.loads(b)["data"]["number"] for b in good if in_xero[json.loads(b)["data"]["number"]] != 1]
    run.check(f"every good event of the same batches synced once ({len(missing)} not)", not missing, str(missing[:3]))
    records = wiring.sync_records().invoices(account, [f"inv-{i}" for i in range(n)])
    poisoned = {invoice_id for invoice_id, kind in poisoned_invoices.items() if kind != "payment"}
    unrecorded = sorted(i for i in poisoned if getattr(records.get(i), "error_code", None) != "malformed_event")
    run.check(
        f"each poison invoice is on its sync record as malformed, for the owner ({len(unrecorded)} not)",
        not unrecorded,
        str(unrecorded[:3]),
    )
    owner = f"owner@{account}.example"
    emails = [e for e in stack.emails()[emails_before:] if owner in e]
    invoices = [json.loads(b)["data"] for b in poison_bodies if json.loads(b)["type"] == "invoice.upserted"]
    numbers = {data["number"]: data["invoice_id"] for data in invoices}
    untold = sorted(i for number, i in numbers.items() if i in poisoned and not any(number in e for e in emails))
    run.check(f"the owner is emailed about each poison invoice ({len(untold)} not)", not untold, str(untold[:3]))
    run.tally.refusals += len(poisons) - len(unexplained)
    run.tally.lost += len(missing) + len(unexplained)


# --- oversized valid events --------------------------------------------------------------------------


def _big(account_id: str, n: int, *, compressible: bool, target: int) -> str:
    rng = random.Random(n)
    symbols = string.ascii_letters + string.digits + string.punctuation
    width = 3900
    lines: list[dict[str, str]] = []
    body = invoice_body(account_id, n)
    while len(body.encode()) < target - width - 200 and len(lines) < 500:
        text = ("Monthly service " * 244)[:width] if compressible else "".join(rng.choices(symbols, k=width))
        lines.append({"description": text, "quantity": "1", "unit_price": "1.00", "tax_id": "gst-15"})
        body = invoice_body(account_id, n, line_items=lines)
    return body


@scenario("oversized-events", "valid events near the size limit: refused before Xero, or synced with a record")
def oversized_events(run: Run) -> None:
    stack = run.stack
    [tenant] = pushing.add_organisations(stack, 1)
    rounds = run.size.pick(short=1, full=4)
    target = run.size.pick(short=450_000, full=MAX_EVENT_BYTES - 8_000)
    with pushing.compressed_waits():
        account = configured_account(stack, "acct-oversized", tenant)
        refused: list[str] = []
        kept: list[str] = []
        good: list[str] = []
        n = 0
        for _ in range(rounds):
            big = _big(account, n, compressible=False, target=target)
            fits = _big(account, n + 1, compressible=True, target=target)
            small = [invoice_body(account, n + 2 + k) for k in range(4)]
            refused.append(big)
            kept.append(fits)
            good += small
            n += 6
            pushing.push_through([sqs_record(b) for b in [small[0], big, small[1], fits, *small[2:]]])
        drained = pushing.drain(workers=1)
    sizes = sorted({len(b.encode()) for b in refused + kept})
    run.note(f"events of {sizes[0]:,} to {sizes[-1]:,} bytes (the contract's limit: {MAX_EVENT_BYTES:,})")
    run.tally.events += len(refused) + len(kept) + len(good)
    drained_ok(run, drained)
    in_xero = {i.number for i in pushing.xero_invoices(stack, tenant)}
    records = wiring.sync_records().invoices(account, [f"inv-{i}" for i in range(n)])
    unrecorded = []
    for number in in_xero:
        invoice_id = f"inv-{int(number.rsplit('-', 1)[1])}"
        record = records.get(invoice_id)
        if record is None or not record.xero_invoice_id:
            unrecorded.append(number)
    run.check(f"nothing in Xero without its sync record ({len(unrecorded)})", not unrecorded, str(unrecorded[:3]))
    letters = take_dead_letters()
    codes = {e.get("data", {}).get("invoice_id"): c for e, c, _ in letters}
    not_refused = [
        json.loads(b)["data"]["invoice_id"]
        for b in refused
        if json.loads(b)["data"]["number"] in in_xero and codes.get(json.loads(b)["data"]["invoice_id"]) is not None
    ]
    run.check(f"a refused event created nothing in Xero ({len(not_refused)})", not not_refused)
    unaccounted = [
        json.loads(b)["data"]["invoice_id"]
        for b in refused + kept
        if json.loads(b)["data"]["number"] not in in_xero and json.loads(b)["data"]["invoice_id"] not in codes
    ]
    run.check(f"each big event synced or dead-lettered with its reason ({len(unaccounted)} neither)", not unaccounted)
    stored = [
        json.loads(b)["data"]["invoice_id"]
        for b in kept
        if json.loads(b)["data"]["number"] in in_xero
        and (records.get(json.loads(b)["data"]["invoice_id"]) or _NONE).last_event == b
    ]
    run.check(
        f"each compressible big event synced with its event stored ({len(stored)} of {len(kept)})",
        len(stored) == len(kept),
    )
    too_large = [b for b in refused if codes.get(json.loads(b)["data"]["invoice_id"]) == "event_too_large"]
    run.check(
        f"each incompressible big event refused as too large to record ({len(too_large)} of {len(refused)})",
        len(too_large) == len(refused),
    )
    missing = [json.loads(b)["data"]["number"] for b in good if json.loads(b)["data"]["number"] not in in_xero]
    run.check(f"the small events beside them synced ({len(missing)} not)", not missing)
    run.tally.refusals += len(too_large)
    run.tally.lost += len(missing) + len(unaccounted) + len(unrecorded)


class _NoRecord:
    last_event = None


_NONE = _NoRecord()


# --- SES outage ------------------------------------------------------------------------------------


def alert_round() -> int:
    """One try of every alert waiting on the alert queue, as Lambda's poller makes while SES is down:
    each message is received once a round (its receives are what the alerts function counts, and the
    compressed backoff must not spend them faster than an outage would); how many were tried."""
    from functions.alerts import handler as alerts
    from local.sqs_runner import lambda_record
    from tests.support.events import FakeContext

    sqs = boto3.client("sqs")
    url = os.environ["ALERT_QUEUE_URL"]
    waiting: list[dict[str, Any]] = []
    while True:  # everything visible now, each received once (hidden meanwhile)
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=60)
        received = answer.get("Messages", [])
        if not received:
            break
        waiting += [dict(m) for m in received]
    for start in range(0, len(waiting), 10):
        messages = waiting[start : start + 10]
        result = alerts.lambda_handler({"Records": [lambda_record(dict(m)) for m in messages]}, FakeContext())
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return len(waiting)


@scenario("ses-outage", "SES failing while invoices fail to sync: each failure emailed once after it recovers")
def ses_outage(run: Run) -> None:
    from tests.support.emails import SesOutage

    stack = run.stack
    count = run.size.pick(short=3, full=25)
    [tenant] = pushing.add_organisations(stack, 1)
    saved = {name: os.environ.get(name) for name in ("ALERT_RETRY_BASE_SECONDS", "ALERT_RETRY_MAX_SECONDS")}
    unmapped = [{"description": "Unmapped", "quantity": "1", "unit_price": "10.00", "tax_id": "vat-x"}]
    with pushing.compressed_waits():
        account = configured_account(stack, "acct-ses-down", tenant)
        stack.deliver_alerts()  # what other scenarios left waiting goes first, SES still up
        before = len(stack.emails())
        failing = [invoice_body(account, n, line_items=unmapped) for n in range(count)]
        good = [invoice_body(account, n) for n in range(count, 2 * count)]
        os.environ |= {"ALERT_RETRY_BASE_SECONDS": "1", "ALERT_RETRY_MAX_SECONDS": "1"}
        wiring.reset()
        try:
            with SesOutage(wiring.ses_client(), status=503, code="ServiceUnavailable") as outage:
                pushing.publish(failing + good)
                drained = pushing.drain(workers=2)
                for _ in range(run.size.pick(short=2, full=4)):  # the alerts function tries while SES is down
                    alert_round()
                    time.sleep(1.1)
            time.sleep(1.1)  # the last wait SES's refusals set
            emails = stack.emails()[before:]
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            wiring.reset()
    run.tally.events += len(failing) + len(good)
    drained_ok(run, drained)
    run.check(f"SES refused sends during the outage ({outage.failed})", outage.failed > 0)
    owner = f"owner@{account}.example"
    numbers = [json.loads(b)["data"]["number"] for b in failing]
    told = Counter(number for e in emails if owner in e for number in numbers if number in e)
    dropped = [n for n in numbers if told[n] == 0]
    doubled = [n for n in numbers if told[n] > 1]
    run.check(f"after SES recovers, every failure is emailed ({len(dropped)} dropped)", not dropped, str(dropped[:3]))
    run.check(f"no failure emailed twice ({len(doubled)})", not doubled, str(doubled[:3]))
    in_xero = {i.number for i in pushing.xero_invoices(stack, tenant)}
    missing = [json.loads(b)["data"]["number"] for b in good if json.loads(b)["data"]["number"] not in in_xero]
    run.check(f"the good invoices synced meanwhile ({len(missing)} not)", not missing)
    letters = take_dead_letters()
    run.check(
        f"each failing invoice dead-lettered with its reason ({len(letters)} of {count})",
        len(letters) == count and all(c == "unmapped_tax" for _, c, _ in letters),
    )
    alerts_dead = boto3.client("sqs").receive_message(
        QueueUrl=os.environ["ALERT_DEAD_LETTER_QUEUE_URL"], MaxNumberOfMessages=10
    )
    run.check("no alert given up on", not alerts_dead.get("Messages"))
    run.tally.duplicates += len(doubled)
    run.tally.lost += len(dropped) + len(missing)
