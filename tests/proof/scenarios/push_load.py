"""The push under duplicates, disorder, faults and lost connections.

- ``duplicates-and-order``: invoice events (several versions each, some ending in a void), credit
  notes applied to some of them (one or two versions) and refunds out of those, across many
  organisations, each delivered one to three times, shuffled, drained by concurrent invocations: no
  invoice, credit note or refund twice in Xero, and each one as its newest version says.
- ``push-faults``: the same with a fifth of Xero's answers failing (429, 500, 503 offline, answers
  past the client's timeout, connections dropped after Xero committed), payments, credit notes with
  their allocations and refunds, and invoices that
  can never sync: every event ends in Xero or on the dead-letter queue with its reason, nothing is
  doubled, and each permanent failure is emailed exactly once.
- after a revoked connection (the tokens scenario): its events are parked and one reconnect email goes.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

from local.xero_sandbox.faults import FaultRule
from shared import wiring
from shared.domain.mapping import payment_reference
from shared.models.events import Payment
from tests.proof import pushing
from tests.proof.accounts import invoice_body
from tests.proof.credit_events import check_credits, dead_credit_keys, plan_credits
from tests.proof.framework import Run, scenario
from tests.proof.scenarios.tokens import RevokedConnection, after_revocation


@dataclass(frozen=True)
class Planned:
    """The newest version of one invoice, as the platform last said it."""

    account_id: str
    tenant_id: str
    number: str
    version: int
    void: bool
    failing: bool = False


def plan_invoices(
    accounts: dict[str, str], per_account: int, rng: random.Random, *, failing_every: int = 0, versions: int = 3
) -> tuple[list[str], dict[str, Planned]]:
    """Every version (one to ``versions``) of every invoice (some voided last), and what each invoice must
    end as."""
    events: list[str] = []
    finals: dict[str, Planned] = {}
    for account_id, tenant_id in accounts.items():
        for n in range(per_account):
            count = rng.randint(1, versions)
            void = rng.random() < 0.2
            # An invoice that can never sync (unmapped tax); voiding it before it reached Xero needs nothing.
            failing = bool(failing_every) and n % failing_every == failing_every - 1 and not void
            lines = None
            if failing:
                lines = [{"description": "Unmapped", "quantity": "1", "unit_price": "10.00", "tax_id": "vat-x"}]
            for version in range(1, count + 1):
                changes: dict[str, Any] = {"line_items": lines} if lines else {}
                body = invoice_body(account_id, n, version=version, **changes)
                events.append(body)
            number = json.loads(events[-1])["data"]["number"]
            if void:
                removed = {
                    "type": "invoice.voided",
                    "schema_version": 1,
                    "event_id": f"void-{account_id}-{n}",
                    "account_id": account_id,
                    "occurred_at": "2026-11-25T10:00:00Z",
                    "data": {"invoice_id": f"inv-{n}", "version": count + 1, "number": number},
                }
                events.append(json.dumps(removed))
            finals[f"{account_id}/inv-{n}"] = Planned(
                account_id, tenant_id, number, count + (1 if void else 0), void, failing
            )
    return events, finals


def deliver(events: list[str], rng: random.Random, *, most: int = 3) -> list[str]:
    """Each event one to ``most`` times, in a shuffled order."""
    deliveries = [body for body in events for _ in range(rng.randint(1, most))]
    rng.shuffle(deliveries)
    return deliveries


def check_xero(run: Run, stack: Any, finals: dict[str, Planned], dead: set[str]) -> tuple[int, int]:
    """(duplicates, lost): invoices found more than once, and invoices neither as planned nor dead-lettered."""
    by_tenant: dict[str, list[Any]] = {}
    for planned in finals.values():
        if planned.tenant_id not in by_tenant:
            by_tenant[planned.tenant_id] = pushing.xero_invoices(stack, planned.tenant_id)
    duplicates = 0
    numbered: dict[tuple[str, str], Any] = {}
    for tenant_id, invoices in by_tenant.items():
        counts = Counter(i.number for i in invoices)
        duplicates += sum(c - 1 for c in counts.values())
        numbered |= {(tenant_id, i.number): i for i in invoices}
    lost: list[str] = []
    for key, planned in finals.items():
        found = numbered.get((planned.tenant_id, planned.number))
        if key in dead:
            continue
        if planned.void:
            ok = found is None or found.status in ("VOIDED", "DELETED")
        else:
            ok = found is not None and found.reference == f"v{planned.version}" and found.status == "AUTHORISED"
        if not ok:
            state = "absent" if found is None else f"{found.status} {found.reference}"
            lost.append(f"{key} (v{planned.version}{' void' if planned.void else ''}): {state}")
    run.check(f"no invoice twice in Xero ({duplicates} duplicates)", duplicates == 0)
    run.check(
        f"every invoice as its newest version says, or dead-lettered ({len(lost)} not)", not lost, "; ".join(lost[:5])
    )
    return duplicates, len(lost)


def dead_invoice_keys(letters: list[dict[str, Any]]) -> set[str]:
    keys = set()
    for letter in letters:
        try:
            event = json.loads(letter["Body"])
            data = event["data"]
            keys.add(f"{event['account_id']}/{data['invoice_id']}")
        except (KeyError, ValueError, TypeError):
            continue
    return keys


@scenario("duplicates-and-order", "invoice events delivered 1-3 times, shuffled, by concurrent invocations")
def duplicates_and_order(run: Run) -> None:
    stack = run.stack
    rng = random.Random(20261125)
    organisations = run.size.pick(short=2, full=20)
    per_account = run.size.pick(short=8, full=50)
    tenants = pushing.add_organisations(stack, organisations)
    with pushing.compressed_waits():
        accounts = pushing.accounts_for(stack, tenants, "acct-order")
        events, finals = plan_invoices(accounts, per_account, rng)
        credit_events, credits = plan_credits(finals, rng)
        events += credit_events
        deliveries = deliver(events, rng)
        drained = pushing.drain(
            workers=run.size.pick(short=3, full=6), timeout=run.size.pick(short=240, full=1200), feed=deliveries
        )
    run.tally.events += len(events)
    run.tally.retries += drained.handed_back
    run.note(
        f"{len(events)} events ({len(deliveries)} deliveries) for {len(finals)} invoices in {organisations} "
        f"organisations; {drained.invocations} invocations in {drained.seconds:.1f} s"
    )
    run.check("no invocation crashed and the queue drained", not drained.errors, "; ".join(drained.errors[:3]))
    letters = pushing.dead_letters()
    dead = dead_invoice_keys(letters)
    run.check(f"nothing on the dead-letter queue ({len(letters)})", not letters, str(_letter_reasons(letters)[:3]))
    duplicates, lost = check_xero(run, stack, finals, dead)
    credit_duplicates, credits_lost = _judge_credits(run, stack, credits, letters)
    run.tally.duplicates += duplicates + credit_duplicates
    run.tally.lost += lost + credits_lost


def _judge_credits(run: Run, stack: Any, credits: dict[str, Any], letters: list[dict[str, Any]]) -> tuple[int, int]:
    twice, missing = check_credits(stack, credits, dead_credit_keys(letters))
    run.check(f"no credit note or refund twice in Xero ({twice}) of {len(credits)} credit notes", twice == 0)
    run.check(
        f"every credit note allocated and refunded as planned, or dead-lettered ({len(missing)} not)",
        not missing,
        "; ".join(missing[:5]),
    )
    return twice, len(missing)


@scenario("push-faults", "a fifth of Xero's answers fail: everything ends in Xero or on the DLQ, once")
def push_faults(run: Run) -> None:
    stack = run.stack
    rng = random.Random(7)
    tenants = pushing.add_organisations(stack, run.size.pick(short=2, full=6))
    per_account = run.size.pick(short=12, full=40)
    with pushing.compressed_waits():
        accounts = pushing.accounts_for(stack, tenants, "acct-fault")
        events, finals = plan_invoices(accounts, per_account, rng, failing_every=10)
        payments = _payments(finals, rng)
        credit_events, credits = plan_credits(finals, rng)
        share = 0.04  # five kinds of failure: about a fifth of all calls
        rules = [
            FaultRule(kind="status", status=429, path="/api.xro/2.0/", probability=share, retry_after=1),
            FaultRule(kind="status", status=500, path="/api.xro/2.0/", probability=share),
            FaultRule(kind="offline", path="/api.xro/2.0/", probability=share),
            FaultRule(kind="slow", path="/api.xro/2.0/", probability=share, delay=1.3),
            FaultRule(kind="drop", path="/api.xro/2.0/", probability=share),
        ]
        stack.sandbox.sandbox.faults.set(rules, seed=11)
        emails_before = len(stack.emails())
        drained = pushing.drain(
            workers=run.size.pick(short=3, full=5),
            timeout=run.size.pick(short=300, full=1200),
            feed=deliver(events + payments + credit_events, rng, most=2),
        )
        stack.sandbox.sandbox.faults.set([])
    injected = sum(stack.sandbox.sandbox.faults.injected.values())
    run.tally.events += len(events) + len(payments) + len(credit_events)
    run.tally.retries += drained.handed_back
    run.note(f"{injected} faults injected over {drained.invocations} invocations in {drained.seconds:.1f} s")
    run.check("faults were injected", injected > 0)
    run.check("no invocation crashed and the queue drained", not drained.errors, "; ".join(drained.errors[:3]))
    letters = pushing.dead_letters()
    dead = dead_invoice_keys(letters)
    reasons = _letter_reasons(letters)
    run.check("every dead letter carries its reason", all(c and r for c, r in reasons), str(reasons[:5]))
    # The plan's only permanent failures: unmapped tax, and payments of those invoices. Anything else on
    # the DLQ must be a message that used up its receives on faults, never a fault turned into an error.
    unplanned = [
        f"{code}: {reason}"
        for code, reason in reasons
        if code not in PLANNED_FAILURES and not reason.startswith("gave up after")
    ]
    run.check(f"no fault turned into a permanent failure ({len(unplanned)})", not unplanned, "; ".join(unplanned[:3]))
    duplicates, lost = check_xero(run, stack, finals, dead)
    failing = {k for k, p in finals.items() if p.failing}
    run.check("every invoice that cannot sync is dead-lettered", failing <= dead, str(sorted(failing - dead)[:5]))
    paid_twice, missing = _check_payments(stack, payments, finals, letters)
    payments_lost = len(missing)
    run.check(f"no payment twice in Xero ({paid_twice})", paid_twice == 0)
    run.check(f"every payment in Xero or dead-lettered ({payments_lost} not)", not missing, "; ".join(missing[:3]))
    # Each dead letter is a permanent failure; the owner hears once per invoice and reason (a day).
    failures = _permanent_failures(letters)
    emails = [e for e in stack.emails()[emails_before:] if "not sent to Xero" in e]
    run.check(
        f"one email per permanent failure ({len(emails)} emails, {len(failures)} failures)",
        len(emails) == len(failures),
    )
    credit_duplicates, credits_lost = _judge_credits(run, stack, credits, letters)
    run.tally.duplicates += duplicates + paid_twice + credit_duplicates
    run.tally.lost += lost + payments_lost + credits_lost


def _payments(finals: dict[str, Planned], rng: random.Random) -> list[str]:
    """A part payment for some invoices that stay approved."""
    bodies = []
    for key, planned in finals.items():
        if planned.void or planned.failing or rng.random() < 0.5:
            continue
        invoice_id = key.split("/", 1)[1]
        event = {
            "type": "payment.recorded",
            "schema_version": 1,
            "event_id": f"pay-{key}",
            "account_id": planned.account_id,
            "occurred_at": "2026-11-25T11:00:00Z",
            "data": {
                "payment_id": f"pay-{invoice_id}",
                "invoice_id": invoice_id,
                "amount": "10.00",
                "date": "2026-11-25",
                "reference": f"pay-{invoice_id}",
            },
        }
        bodies.append(json.dumps(event))
    return bodies


def _check_payments(
    stack: Any, payments: list[str], finals: dict[str, Planned], dead_letters: list[dict[str, Any]]
) -> tuple[int, list[str]]:
    letters = set()
    for message in dead_letters:
        event = json.loads(message["Body"])
        if event.get("type") == "payment.recorded":
            letters.add(f"{event['account_id']}/{event['data']['payment_id']}")
    tenants = {p.tenant_id for p in finals.values()}
    found = Counter(f"{t}/{p.reference}" for t in tenants for p in pushing.xero_payments(stack, t))
    twice = sum(c - 1 for c in found.values() if c > 1)
    lost = []
    records = wiring.sync_records()
    for body in payments:
        event = json.loads(body)
        data = event["data"]
        tenant = finals[f"{event['account_id']}/{data['invoice_id']}"].tenant_id
        reference = payment_reference(Payment.model_validate(data))
        if found.get(f"{tenant}/{reference}", 0) == 0 and f"{event['account_id']}/{data['payment_id']}" not in letters:
            record = records._get(records._key(event["account_id"], f"PAYMENT#{data['payment_id']}"))
            lost.append(f"{event['account_id']}/{data['payment_id']}: {record}")
    return twice, lost


PLANNED_FAILURES = {"unmapped_tax", "invoice_not_synced"}


def _letter_reasons(letters: list[dict[str, Any]]) -> list[tuple[str, str]]:
    def attribute(message: dict[str, Any], name: str) -> str:
        return str(message.get("MessageAttributes", {}).get(name, {}).get("StringValue", ""))

    return [(attribute(m, "failure_code"), attribute(m, "failure_reason")) for m in letters]


def _permanent_failures(letters: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    failures = set()
    for message in letters:
        event = json.loads(message["Body"])
        code = message.get("MessageAttributes", {}).get("failure_code", {}).get("StringValue", "")
        subject = event["data"].get("invoice_id") or event["data"].get("credit_note_id")
        failures.add((event["account_id"], subject, code))
    return failures


@after_revocation
def revoked_connection_parks_and_asks_once(run: Run, revoked: RevokedConnection) -> None:
    """Its events wait in the table, not in Xero or on the DLQ, and one reconnect email goes."""
    stack = run.stack
    before = len(stack.emails())
    with pushing.compressed_waits():
        bodies = [invoice_body(revoked.account_id, n) for n in range(3)]
        pushing.publish(bodies[:2])
        pushing.drain(workers=1)
        pushing.publish(bodies[2:])
        pushing.drain(workers=1)
    parked = wiring.sync_records().parked(revoked.account_id)
    owner = f"owner@{revoked.account_id}.example"
    emails = [e for e in stack.emails()[before:] if owner in e]
    reconnect = [e for e in emails if "Reconnect Xero" in e]
    run.check(f"the revoked account's events are parked ({len(parked)} of 3)", len(parked) == 3)
    run.check(f"one email to its owner, asking to reconnect ({len(emails)})", len(emails) == len(reconnect) == 1)
