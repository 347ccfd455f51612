"""Reconciliation as the tests drive it: runs through the real handler, and an accountant's edits
made in the sandbox's organisation behind the service's back (with Xero's own rules)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

from functions.reconcile import handler as reconcile
from local.sqs_runner import lambda_record
from local.xero_sandbox import SandboxServer
from local.xero_sandbox import invoices as sandbox_invoices
from local.xero_sandbox import payments as sandbox_payments
from local.xero_sandbox.seed import NZ_TENANT
from shared import wiring
from tests.support.events import FakeContext, sample
from tests.support.push import invoke, message, sqs_event

ACCOUNTANT = "someone-in-xero"  # not the service's app: what an accountant does in Xero's own screens


@dataclass
class Reads:
    """What the sandbox counted for one organisation: calls and bytes read (egress)."""

    calls: int
    bytes_read: int


def reads(sandbox: SandboxServer, tenant_id: str = NZ_TENANT) -> Reads:
    stats = sandbox.sandbox.state.organisations[tenant_id].stats
    return Reads(int(stats["calls"]), int(stats["bytes read"]))


def drain(remaining_ms: int = 300_000) -> list[dict[str, Any]]:
    """Run the reconcile handler on every visible message of the reconcile queue, as Lambda would; the
    handler's answers. A message handed back (deferred) stays hidden; the others are deleted."""
    sqs = boto3.client("sqs")
    url = wiring.settings().reconcile_queue_url
    answers: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["All"]).get("Messages", [])
        if not got:
            return answers
        answer = reconcile.lambda_handler({"Records": [lambda_record(dict(got[0]))]}, FakeContext(remaining_ms))
        answers.append(answer)
        if not answer["batchItemFailures"]:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])


def run_now(
    account_id: str, kind: str = "full", run_id: str = "full-test", requested_by: str = "owner"
) -> dict[str, Any]:
    """One run through the handler, from the sample SQS event with this request as its body."""
    event = sample("reconcile_run.json")
    body = {"account_id": account_id, "kind": kind, "run_id": run_id, "requested_by": requested_by}
    event["Records"][0]["body"] = json.dumps(body)
    answer: dict[str, Any] = reconcile.lambda_handler(event, FakeContext(300_000))
    return answer


def sync_invoices(account_id: str, count: int, *, prefix: str = "r", draft: tuple[int, ...] = ()) -> dict[str, str]:
    """``count`` invoices synced for the account (sent, or drafts at the positions in ``draft``); the
    platform's invoice id by number."""
    bodies = [message("01-contact-upserted.json", account_id=account_id)]
    numbers = {}
    for index in range(1, count + 1):
        number = f"INV-{prefix.upper()}{index}"
        sample_file = "02-invoice-draft.json" if index in draft else "03-invoice-sent.json"
        bodies.append(message(sample_file, account_id=account_id, invoice_id=f"inv-{prefix}{index}", number=number))
        numbers[number] = f"inv-{prefix}{index}"
    for start in range(0, len(bodies), 100):
        assert invoke(sqs_event(bodies[start : start + 100])) == []
    return numbers


class Accountant:
    """Edits the organisation as a person in Xero would: through Xero's rules, not the service's app."""

    def __init__(self, sandbox: SandboxServer, tenant_id: str = NZ_TENANT) -> None:
        self._state = sandbox.sandbox.state
        self._org = self._state.organisations[tenant_id]

    def xero_id(self, number: str) -> str:
        return self._org.invoice_numbers[number]

    def edit(self, number: str, **fields: Any) -> dict[str, Any]:
        element = {"InvoiceID": self.xero_id(number), **fields}
        with self._state.lock:
            result = sandbox_invoices.write_invoice(
                self._org,
                element,
                create_only=False,
                unitdp=2,
                now=self._state.clock.now(),
                target_id=element["InvoiceID"],
                client_id=ACCOUNTANT,
            )
        assert result.ok, result.body
        return dict(result.body)

    def void(self, number: str) -> None:
        self.edit(number, Status="VOIDED")

    def delete(self, number: str) -> None:
        self.edit(number, Status="DELETED")

    def pay(self, number: str, amount: str) -> None:
        element = {
            "Invoice": {"InvoiceID": self.xero_id(number)},
            "Account": {"Code": "090"},
            "Amount": amount,
            "Reference": "paid in Xero",
        }
        with self._state.lock:
            result = sandbox_payments.create_payment(self._org, element, now=self._state.clock.now())
        assert result.ok, result.body

    def remove(self, number: str) -> None:
        """Gone from the organisation altogether (as after a restore from an older backup)."""
        with self._state.lock:
            xero_id = self._org.invoice_numbers.pop(number)
            del self._org.invoices[xero_id]
