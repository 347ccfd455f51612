"""A month-end run: many accounts billing at once, their events interleaved on the platform's one queue,
while some of Xero's answers fail.

Every account has its own organisation and publishes its invoices (several versions, some voided) at
the same time as every other; each event is delivered once or twice, in a shuffled order. The push
must batch per organisation whatever else shares the queue: no invoice twice in Xero, none lost, and
at most 45 Xero calls per 1,000 invoices despite the faults.
"""

from __future__ import annotations

import json
import random
from typing import Any

from local.xero_sandbox.faults import FaultRule
from tests.proof import pushing
from tests.proof.framework import Run, scenario
from tests.proof.scenarios.push_load import check_xero, dead_invoice_keys, deliver, plan_invoices

CALLS_PER_THOUSAND = 45
BATCH_WAIT_SECONDS = "20"  # the template's PushBatchWaitSeconds: how long a flush waits to fill a batch


@scenario("month-end", "many accounts bill at once, interleaved, with faults: batched per organisation, once each")
def month_end(run: Run) -> None:
    stack = run.stack
    rng = random.Random(20261130)
    accounts_count = run.size.pick(short=4, full=200)
    per_account = 50
    tenants = pushing.add_organisations(stack, accounts_count)
    with pushing.compressed_waits(most=3, batch_wait=BATCH_WAIT_SECONDS):
        accounts = pushing.accounts_for(stack, tenants, "acct-month")
        events, finals = plan_invoices(accounts, per_account, rng, versions=1)
        share = run.size.pick(short=0.1, full=0.02)
        stack.sandbox.sandbox.faults.set(
            [
                FaultRule(kind="status", status=500, path="/api.xro/2.0/", method="PUT", probability=share),
                FaultRule(kind="drop", path="/api.xro/2.0/", method="PUT", probability=share),
                FaultRule(kind="slow", path="/api.xro/2.0/", method="PUT", probability=share, delay=1.3),
            ],
            seed=30,
        )
        calls_before = _calls(stack, tenants)
        drained = pushing.drain(
            workers=run.size.pick(short=3, full=6),
            timeout=run.size.pick(short=300, full=2400),
            feed=deliver(events, rng, most=2),
            backlog=run.size.pick(short=1000, full=20_000),
        )
        stack.sandbox.sandbox.faults.set([])
        calls = _calls(stack, tenants) - calls_before
    injected = sum(stack.sandbox.sandbox.faults.injected.values())
    invoices = len(finals)
    per_thousand = calls * 1000 / invoices
    run.tally.events += len(events)
    run.tally.retries += drained.handed_back
    run.note(
        f"{accounts_count} accounts x {per_account} invoices ({len(events)} events) interleaved: {calls} Xero calls "
        f"({per_thousand:.0f} per 1,000 invoices), {injected} faults, {drained.invocations} invocations in "
        f"{drained.seconds:.0f} s"
    )
    run.note(f"first organisation's calls: {_routes(stack, tenants[0])}")
    run.check("faults were injected", injected > 0)
    run.check("no invocation crashed and the queues drained", not drained.errors, "; ".join(drained.errors[:3]))
    # The dead-letter queue is the stack's: an earlier scenario's letters (left there, hidden a minute
    # each time they are read) may show again while this one runs on a slow machine. Only this run's count.
    letters = [letter for letter in pushing.dead_letters() if _account_of(letter) in accounts]
    dead = dead_invoice_keys(letters)
    duplicates, lost = check_xero(run, stack, finals, dead)
    run.tally.duplicates += duplicates
    run.tally.lost += lost
    run.check(f"nothing dead-lettered ({len(dead)})", not dead, "; ".join(_reasons(letters)[:3]))
    # Two writes per organisation (its contacts, its invoices: 50 a call); a fault costs at most three
    # more (the write again, a look in Xero for what a lost answer made, the change).
    beyond = calls - 2 * accounts_count
    run.check(
        f"every call beyond two per organisation answers a fault ({beyond} for {injected} faults)",
        beyond <= 3 * injected,
    )
    if run.size.full:  # the short size's faults are too dense (10 %) for the figure to mean anything
        run.check(
            f"at most {CALLS_PER_THOUSAND} Xero calls per 1,000 invoices ({per_thousand:.1f})",
            per_thousand <= CALLS_PER_THOUSAND,
        )


def _account_of(letter: dict[str, Any]) -> str | None:
    try:
        account = json.loads(letter["Body"]).get("account_id")
    except (KeyError, ValueError, TypeError, AttributeError):
        return None
    return account if isinstance(account, str) else None


def _calls(stack: object, tenants: list[str]) -> int:
    state = stack.sandbox.sandbox.state  # type: ignore[attr-defined]
    with state.lock:
        return sum(int(state.organisations[t].stats.get("calls", 0)) for t in tenants)


def _routes(stack: object, tenant: str) -> dict[str, int]:
    state = stack.sandbox.sandbox.state  # type: ignore[attr-defined]
    with state.lock:
        return dict(state.organisations[tenant].stats)


def _reasons(letters: list[dict[str, Any]]) -> list[str]:
    """Why each dead letter is there, from the attributes the push gave it."""
    reasons = []
    for letter in letters:
        attributes = letter.get("MessageAttributes", {})
        code = attributes.get("failure_code", {}).get("StringValue", "?")
        reason = attributes.get("failure_reason", {}).get("StringValue", "")
        reasons.append(f"{code}: {reason}")
    return reasons
