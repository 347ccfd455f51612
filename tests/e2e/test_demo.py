"""``make demo`` as a user runs it: the same flow, in-process, asserting what the user reads."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from local.demo import run_demo
from local.xero_sandbox import SandboxServer


def run(aws: str, sandbox: SandboxServer, **options: Any) -> tuple[int, str, str]:
    out, logs = io.StringIO(), io.StringIO()
    code = run_demo(out, log_stream=logs, moto_endpoint=aws, sandbox=sandbox, poll_seconds=0, **options)
    return code, out.getvalue(), logs.getvalue()


def test_the_demo_runs_the_whole_integration_and_shows_what_a_user_sees(aws, sandbox):
    code, out, logs = run(aws, sandbox)

    assert code == 0, out
    assert "skipped:" not in out
    assert "callback page (200): Xero connected" in out
    assert "signature=…" in out  # the link's signature is not printed
    assert "chosen: Demo Company (NZ)" in out
    assert "chosen: 090 Business Bank Account" in out
    assert "mapped 'gst-15' → OUTPUT2" in out
    assert "mapped 'zero' → ZERORATED" in out
    assert "signed settings link: http://" in out
    assert "page (200): status Connected; sections: Connection, Organisation, Payment account" in out
    assert "published 09-invoice-unmapped-tax.json" in out
    assert "queue drained" in out
    # What landed in Xero: the right totals, to the cent, and the payments that made one PAID.
    assert "INV-5001  PAID  total 194.93  due 0.0" in out
    assert "INV-5002  AUTHORISED  total 252.5  due 212.5" in out  # 40.00 of credit note CN-9001 applied
    # A partial refund end to end: a credit note issued against INV-5002, part allocated, the rest paid back.
    assert "published 11-credit-note-issued.json" in out
    assert "credit notes (1):" in out
    assert "CN-9001  PAID  total 57.5  credit left 0.0" in out
    assert "allocated 40.0 to INV-5002" in out
    assert "refunds (1):" in out
    assert "17.5 paid back from CN-9001 out of account 090" in out
    assert "INV-5004" not in out.split("10. What landed")[1].split("11. Dead-letter queue")[0]
    # Two products and a tracking category mapped, and the invoice's lines in Xero as mapped.
    assert "mapped product 'prod-sourdough' → item SOURDOUGH-LOAF, the item's account" in out
    assert "mapped product 'prod-delivery' → no item, account 260" in out
    assert "mapped location 'Auckland' → Region: North" in out
    assert "INV-5006  AUTHORISED  total 159.55  due 159.55" in out
    assert "Sourdough loaves  item SOURDOUGH-LOAF  account 200  tracking Region: North  12 x 8.5 = 102.00" in out
    assert "Delivery to the Ponsonby shop  item -  account 260  tracking Region: North" in out
    assert "Gift card  item -  account 200  tracking -" in out
    assert "payments (2):" in out
    assert "Kauri Paper Supplies  #sup-2001" in out  # suppliers are pushed too
    # The one failure: on the DLQ with its reason, listed by the API with its fix, and emailed once.
    assert "invoice.upserted INV-5004: unmapped_tax:" in out
    assert "inv-5004: unmapped_tax; fix: Map 'vat-20' to a Xero tax rate" in out
    assert out.count("Invoice INV-5004 was not sent to Xero") == 2  # subject and heading of one email
    # The owner's Xero check: every invoice the demo sent is in Xero as sent, read in one call.
    assert "last run: complete, " in out
    assert "invoice(s) compared, 1 Xero call(s)" in out
    assert "differences: 0" in out
    # The sweep warns, then disconnects.
    assert "will disconnect from Xero on" in out
    assert "has disconnected from Xero" in out
    assert "connection status now: disconnected" in out
    assert "the local stack is stopped, nothing left running" in out
    # The handlers' JSON logs went to the log stream, not into what the user reads.
    assert '"message":"consent started"' in logs
    assert '{"level"' not in out


def test_a_management_api_failure_fails_the_demo(aws, sandbox, monkeypatch):
    from functions.management import handler as management

    def refusing(event: dict[str, Any], context: Any) -> dict[str, Any]:
        body = {"error": {"code": "unknown_account", "message": "no such account"}}
        return {"statusCode": 404, "body": json.dumps(body)}

    monkeypatch.setattr(management, "lambda_handler", refusing)

    code, out, _ = run(aws, sandbox, messages_dir=Path("/nonexistent"))

    assert code == 1
    assert "FAILED: GET /connection answered 404: unknown_account: no such account" in out
    assert "step(s) FAILED" in out
