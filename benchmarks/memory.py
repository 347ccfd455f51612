"""Peak memory for one 100-message SQS batch through the intake and the push, in a fresh interpreter.

Two figures, because they answer different questions: tracemalloc's peak is what handling the batch
allocated in Python; the process's maximum RSS (after the imports, and after the batch) is what the
function's memory setting must hold. The batch is made by the factories the push registers for the
proof (``good_push_messages``) against a local stack started here.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from benchmarks.framework import Figure, benchmark
from benchmarks.subprocesses import child_environment, probe

BATCH = 100


def sample_bodies(count: int) -> list[str]:
    """Invoice-shaped messages of a realistic size (five lines, a contact with an address)."""
    lines = [
        {"description": f"Line {n}", "quantity": 2, "unit_price": "49.95", "tax_id": "gst-15", "account_code": "200"}
        for n in range(5)
    ]
    return [
        json.dumps(
            {
                "type": "invoice.upserted",
                "version": 1,
                "account_id": "acct-bench",
                "invoice": {
                    "id": f"inv-{n:05d}",
                    "number": f"INV-{n:05d}",
                    "currency": "NZD",
                    "issue_date": "2026-11-25",
                    "due_date": "2026-12-25",
                    "status": "sent",
                    "contact": {
                        "id": f"contact-{n % 37}",
                        "name": f"Customer {n % 37} Limited",
                        "email": f"accounts{n % 37}@customer.example",
                        "address": {"line1": "1 Queen Street", "city": "Auckland", "postcode": "1010"},
                    },
                    "lines": lines,
                },
            }
        )
        for n in range(count)
    ]


@benchmark("memory", f"peak memory for one {BATCH}-message SQS batch through the intake and the push")
def memory(quick: bool) -> list[Figure]:
    note = "no message factory registered"
    with contextlib.ExitStack() as resources, tempfile.TemporaryDirectory() as scratch:
        env = child_environment()
        bodies = sample_bodies(BATCH)
        from tests.proof.scenarios.push_input import GOOD_MESSAGE_FACTORIES
        from tests.proof.stack import ProofStack

        stack = resources.enter_context(ProofStack())
        made = [body for factory in GOOD_MESSAGE_FACTORIES for body in factory(stack, BATCH)][:BATCH]
        bodies = made or bodies
        if made:
            note = "the push against a local stack"
        names = [*stack.resources.environment, "AWS_ENDPOINT_URL", "XERO_LOGIN_URL", "XERO_IDENTITY_URL"]
        names += ["XERO_API_URL", "PUSH_COALESCE_SECONDS"]
        env = child_environment({name: os.environ[name] for name in names})
        batch_file = Path(scratch) / "bodies.json"
        batch_file.write_text(json.dumps(bodies))
        answer = probe("push-batch", str(batch_file), env=env)
    messages = int(answer["messages"])
    return [
        Figure("memory", f"tracemalloc peak, {messages} messages", float(answer["tracemalloc_peak_mib"]), "MiB", note),
        Figure("memory", "max RSS after the imports", float(answer["max_rss_before_mib"]), "MiB"),
        Figure("memory", f"max RSS after {messages} messages", float(answer["max_rss_mib"]), "MiB"),
        Figure("memory", f"time for {messages} messages", float(answer["ms"]), "ms", f"{answer['failed']} failed"),
    ]
