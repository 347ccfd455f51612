"""The push as the tests drive it: a connected, configured account; SQS batches; the queue drained."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import httpx

from functions.intake import handler as intake
from functions.push import handler as push
from local.sqs_runner import lambda_record
from local.xero_sandbox import SandboxServer
from local.xero_sandbox.seed import NZ_TENANT
from local.xero_sandbox.state import ConsentPolicy
from shared import wiring
from shared.adapters.dynamo import from_item
from shared.models.settings import AccountSettings, PaymentAccount, TaxMapping
from tests.support.events import FakeContext, sample
from tests.support.flows import connect_account

MESSAGES = Path(__file__).resolve().parents[2] / "events" / "messages"


def message(sample_file: str, /, account_id: str = "acct-demo", **data: Any) -> dict[str, Any]:
    """A sample message from ``events/messages`` for ``account_id``, with ``data`` fields replaced."""
    body: dict[str, Any] = json.loads((MESSAGES / sample_file).read_text())
    body["account_id"] = account_id
    body["event_id"] = f"evt-{uuid.uuid4().hex[:12]}"
    body["data"] = {**body["data"], **data}
    return body


def sqs_event(bodies: Iterable[dict[str, Any] | str], receive_count: int = 1) -> dict[str, Any]:
    """An SQS event of the platform's queue, as Lambda hands it to the intake."""
    template = sample("intake_sqs_batch.json")["Records"][0]
    records = []
    sent = int(time.time() * 1000)
    for index, body in enumerate(bodies):
        record = json.loads(json.dumps(template))
        record["messageId"] = str(uuid.uuid4())
        record["receiptHandle"] = f"receipt-{uuid.uuid4().hex}"
        record["body"] = body if isinstance(body, str) else json.dumps(body)
        record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
        record["attributes"]["SentTimestamp"] = str(sent + index)
        records.append(record)
    return {"Records": records}


# Tickets a flush handed back (waiting), by organisation: what :func:`make_due` brings back at once.
_WAITING: dict[str, str] = {}


def invoke(event: dict[str, Any], remaining_ms: int = 60_000) -> list[str]:
    """Run the intake on ``event``, then every flush it caused, as Lambda would; the ids of the event's
    messages that did not settle (handed back by the intake, or waiting in an outbox for a retry)."""
    answer = intake.lambda_handler(event, FakeContext(remaining_ms))
    handed_back = [failure["itemIdentifier"] for failure in answer["batchItemFailures"]]
    flush_all(remaining_ms)
    ids = {r["messageId"] for r in event["Records"]}
    return handed_back + sorted(ids & waiting_message_ids())


def flush_all(remaining_ms: int = 60_000) -> int:
    """Run the push on every visible flush ticket until none is left; how many tickets it ran."""
    sqs = boto3.client("sqs")
    url = wiring.settings().flush_queue_url
    runs = 0
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["All"]).get("Messages", [])
        if not messages:
            return runs
        message = messages[0]
        answer = push.lambda_handler({"Records": [lambda_record(dict(message))]}, FakeContext(remaining_ms))
        runs += 1
        tenant = json.loads(message["Body"])["tenant_id"]
        if answer["batchItemFailures"]:
            _WAITING[tenant] = message["ReceiptHandle"]
        else:
            _WAITING.pop(tenant, None)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def waiting_message_ids() -> set[str]:
    """The SQS message ids of every event waiting in an outbox."""
    return {item["message_id"] for item in outbox_items()}


def outbox_items() -> list[dict[str, Any]]:
    client = boto3.client("dynamodb")
    table = wiring.settings().table_name
    items = client.scan(
        TableName=table,
        FilterExpression="begins_with(pk, :o) AND begins_with(sk, :e)",
        ExpressionAttributeValues={":o": {"S": "OUTBOX#"}, ":e": {"S": "E#"}},
    )["Items"]
    return [from_item(i) for i in items]


def make_due(*, attempts: int | None = None) -> list[str]:
    """Bring every waiting event forward to now (``attempts``: as if tried that often already) and flush;
    the ids still waiting afterwards. A retry's backoff, as if its time had passed."""
    client = boto3.client("dynamodb")
    table = wiring.settings().table_name
    waiting = outbox_items()
    for item in waiting:
        names = {"#nb": "not_before"}
        expression = "SET #nb = :zero"
        values: dict[str, Any] = {":zero": {"N": "0"}}
        if attempts is not None:
            names["#at"] = "attempts"
            expression += ", #at = :attempts"
            values[":attempts"] = {"N": str(attempts)}
        client.update_item(
            TableName=table,
            Key={"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}},
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    sqs = boto3.client("sqs")
    url = wiring.settings().flush_queue_url
    for receipt in list(_WAITING.values()):
        with contextlib.suppress(Exception):
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=0)
    _WAITING.clear()
    # What a wake-up would do when it came: a ticket for each organisation with events waiting.
    tenants = sorted({str(item["pk"]).removeprefix("OUTBOX#") for item in waiting})
    if tenants:
        wiring.flush_tickets().send(wiring.outbox().generations(tenants))
    flush_all()
    return sorted(waiting_message_ids())


@dataclass
class Org:
    """What the sandbox's Xero organisation holds, read over its inspection endpoint."""

    raw: dict[str, Any]
    contacts: list[dict[str, Any]] = field(default_factory=list)
    invoices: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)

    def invoice(self, number: str) -> dict[str, Any]:
        matches = [i for i in self.invoices if i.get("InvoiceNumber") == number]
        assert len(matches) == 1, f"{len(matches)} invoices numbered {number}"
        return matches[0]


def org(sandbox: SandboxServer, tenant_id: str = NZ_TENANT) -> Org:
    raw = httpx.get(f"{sandbox.url}/_sandbox/orgs/{tenant_id}", timeout=10).json()
    return Org(raw, raw.get("contacts", []), raw.get("invoices", []), raw.get("payments", []))


def configure(env: dict[str, str], sandbox: SandboxServer, account_id: str = "acct-demo") -> AccountSettings:
    """Connect ``account_id`` to the NZ organisation and set what the push needs."""
    sandbox.sandbox.state.consent = ConsentPolicy(tenant_ids=[NZ_TENANT])
    result = connect_account(env, account_id)
    assert result.callback is not None
    assert result.callback["statusCode"] in (200, 302), result.callback.get("body")
    bank = next(a for a in sandbox.sandbox.state.organisations[NZ_TENANT].accounts if a["Code"] == "090")
    settings = AccountSettings(
        account_id=account_id,
        payment_account=PaymentAccount(account_id=bank["AccountID"], code="090", name=bank["Name"], type="BANK"),
        sales_account_code="200",
        tax_mappings={
            # As the management API saves them: with the rate Xero had when they were mapped.
            "gst-15": TaxMapping(platform_tax_id="gst-15", tax_type="OUTPUT2", effective_rate=Decimal(15)),
            "zero": TaxMapping(platform_tax_id="zero", tax_type="ZERORATED", effective_rate=Decimal(0)),
        },
        default_tax_type="NONE",
    )
    repo = wiring.account_settings()
    current = repo.get(account_id)
    return repo.save(settings.model_copy(update={"version": current.version}), now=datetime.now(UTC))


def dead_letters(env: dict[str, str]) -> list[dict[str, Any]]:
    client = boto3.client("sqs")
    answer = client.receive_message(
        QueueUrl=env["DEAD_LETTER_QUEUE_URL"], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )
    return [dict(m) for m in answer.get("Messages", [])]


def queued(env: dict[str, str]) -> dict[str, int]:
    client = boto3.client("sqs")
    attributes = client.get_queue_attributes(
        QueueUrl=env["QUEUE_URL"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
    )["Attributes"]
    return {k: int(v) for k, v in attributes.items()}
