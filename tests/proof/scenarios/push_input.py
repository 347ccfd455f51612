"""Bad SQS messages on the platform's queue: each fails alone, the intake never raises.

The generator (:func:`bad_bodies`) makes what a broken or hostile publisher could send: random JSON,
truncated JSON, text that is no JSON at all, known event types with fields of the wrong types, huge
strings, unknown event types. Batches mix them with good messages when the push has registered a
factory for those (:func:`good_push_messages`), and the property is that the batch response names
exactly the bad ones.

A bad message "fails alone" when the response names it for another receive, or when the intake moved
it to the dead-letter queue itself with a ``failure_code`` and ``failure_reason`` (what it does with a
message no retry can fix). The good messages beside them go on to their organisation's outbox and
are flushed to Xero.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from local.xero_sandbox.seed import NZ_TENANT
from tests.proof import pushing
from tests.proof.explore import Exploration, explore
from tests.proof.framework import Run, scenario
from tests.proof.stack import ProofStack
from tests.support.events import sqs_record

# Event types of the platform's contract (the push's event models are the authority): {type, schema_version,
# event_id, account_id, occurred_at, data}.
KNOWN_EVENT_TYPES = (
    "invoice.upserted",
    "invoice.voided",
    "invoice.deleted",
    "payment.recorded",
    "contact.upserted",
    "credit_note.upserted",
    "refund.recorded",
)
SQS_MAX_BYTES = 256 * 1024

GoodMessages = Callable[[ProofStack, int], list[str]]
GOOD_MESSAGE_FACTORIES: list[GoodMessages] = []


def good_push_messages(factory: GoodMessages) -> GoodMessages:
    """Register how to make ``n`` valid message bodies (an account connected and configured by the factory)."""
    GOOD_MESSAGE_FACTORIES.append(factory)
    return factory


# --- the generator --------------------------------------------------------------------------------

JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
WRONG_TYPES: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.lists(st.integers(), max_size=3)
)


def _truncated(value: Any, cut: int) -> str:
    text = json.dumps(value)
    return text[: max(1, min(cut, len(text) - 1))]


def bad_bodies() -> st.SearchStrategy[str]:
    """Bodies no valid event has."""
    containers = JSON_VALUES.filter(lambda v: isinstance(v, dict | list) and len(json.dumps(v)) > 2)
    known_with_wrong_types = st.fixed_dictionaries(
        {
            "type": st.sampled_from(KNOWN_EVENT_TYPES),
            "schema_version": st.one_of(WRONG_TYPES, st.text(max_size=5)),
            "event_id": WRONG_TYPES,
            "account_id": WRONG_TYPES,
            "occurred_at": st.one_of(WRONG_TYPES, st.text(max_size=20)),
            "data": st.one_of(WRONG_TYPES, st.text(max_size=20), st.dictionaries(st.text(max_size=12), WRONG_TYPES)),
        }
    )
    unknown_type = st.fixed_dictionaries(
        {
            "type": st.text(max_size=30).filter(lambda t: t not in KNOWN_EVENT_TYPES),
            "schema_version": st.just(1),
            "event_id": st.text(max_size=20),
            "account_id": st.text(max_size=20),
        },
        optional={"data": JSON_VALUES},
    )
    huge = st.tuples(st.sampled_from(KNOWN_EVENT_TYPES), st.integers(100_000, SQS_MAX_BYTES - 200)).map(
        lambda t: json.dumps({"type": t[0], "account_id": "a" * t[1]})
    )
    return st.one_of(
        JSON_VALUES.map(json.dumps),
        st.tuples(containers, st.integers(1, 400)).map(lambda t: _truncated(*t)),
        st.text(max_size=200),
        st.sampled_from(["", " ", "null", "[]", "{}", '{"type":null}', "\ufeff{}", "NaN"]),
        known_with_wrong_types.map(json.dumps),
        unknown_type.map(json.dumps),
        huge,
    )


@dataclass(frozen=True)
class BatchVerdict:
    problem: str | None
    failed: int


def judge_batch(
    answer: Any, bad_ids: set[str], good_ids: set[str], dead_lettered: set[str] | None = None
) -> BatchVerdict:
    """A partial batch response naming every bad message that was not moved to the dead-letter queue
    (with its reason), and no good one."""
    if not isinstance(answer, dict) or not isinstance(answer.get("batchItemFailures"), list):
        return BatchVerdict("the answer is not a batchItemFailures response", 0)
    failures = answer["batchItemFailures"]
    if not all(isinstance(f, dict) and isinstance(f.get("itemIdentifier"), str) for f in failures):
        return BatchVerdict("a batch item failure has no itemIdentifier", len(failures))
    named = {f["itemIdentifier"] for f in failures}
    dead = dead_lettered or set()
    if named - bad_ids - good_ids:
        return BatchVerdict("the response names messages that were not in the batch", len(named))
    if bad_ids - named - dead:
        return BatchVerdict(f"{len(bad_ids - named - dead)} bad messages were acknowledged (lost)", len(named))
    if (named | dead) & good_ids:
        return BatchVerdict(f"{len((named | dead) & good_ids)} good messages failed with the bad ones", len(named))
    return BatchVerdict(None, len(named | (dead & bad_ids)))


def dead_letter_ids() -> set[str]:
    """Messages the push moved to the dead-letter queue (taken off it), by their original message id;
    only those with a recorded reason count."""
    import os

    import boto3

    url = os.environ.get("DEAD_LETTER_QUEUE_URL")
    if not url:
        return set()
    sqs = boto3.client("sqs")
    found: set[str] = set()
    while True:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        messages = answer.get("Messages", [])
        if not messages:
            return found
        for message in messages:
            attributes = message.get("MessageAttributes", {})
            if attributes.get("failure_code") and attributes.get("failure_reason"):
                found.add(attributes["original_message_id"]["StringValue"])
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        )


def invoke_push(records: list[dict[str, Any]]) -> Any:
    return pushing.push_through(records)


def probe_batch(bodies: list[str], good: list[str], seen: Exploration) -> str | None:
    bad = [sqs_record(body) for body in bodies]
    fine = [sqs_record(body) for body in good]
    batch = bad + fine
    random.Random(len(bodies)).shuffle(batch)
    try:
        answer = invoke_push(batch)
    except Exception as exc:  # the property: no body makes the handler raise
        return f"the push handler raised {type(exc).__name__}"
    verdict = judge_batch(answer, {r["messageId"] for r in bad}, {r["messageId"] for r in fine}, dead_letter_ids())
    seen.count("messages", len(batch))
    seen.count("failed", verdict.failed)
    return verdict.problem


@scenario("push-bad-input", "property-based bad SQS bodies: the handler never raises, each bad message fails alone")
def push_bad_input(run: Run) -> None:
    good: list[str] = []
    for factory in GOOD_MESSAGE_FACTORIES:
        good += factory(run.stack, run.size.pick(short=3, full=20))
    if not good:
        run.note("no good-message factory registered: batches hold bad messages only (push_input.good_push_messages)")
    batches = st.lists(bad_bodies(), min_size=1, max_size=10)
    seen = explore(batches, lambda bodies, s: probe_batch(bodies, good, s), size=run.size, short=25, full=400)
    run.tally.events += seen.counters.get("messages", 0)
    run.tally.refusals += seen.counters.get("failed", 0)
    run.check(
        f"{seen.examples} batches of bad messages: no raise, each bad message fails alone",
        seen.failure is None,
        seen.failure or "",
    )
    if good:  # the good-message account is configured on the NZ demo organisation
        numbers = {json.loads(body)["data"]["number"] for body in good}
        in_xero = {invoice.number for invoice in pushing.xero_invoices(run.stack, NZ_TENANT)}
        run.check(
            "the good messages beside them reached Xero",
            numbers <= in_xero,
            f"{len(numbers - in_xero)} of {len(numbers)} missing",
        )
    left = pushing.queue_depth()
    run.check("nothing handed back to the queue for later", left == 0, f"{left} messages on the queue")


@good_push_messages
def invoices_of_a_configured_account(stack: ProofStack, count: int) -> list[str]:
    from tests.proof.accounts import configured_account, invoice_body

    account = configured_account(stack, f"acct-good-{random.Random(count).randrange(10**6):06d}")
    return [invoice_body(account, n) for n in range(count)]
