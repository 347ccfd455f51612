"""Reconciliation at size: one account with 10,000 synced invoices, a handful edited in Xero behind
the service's back, reconciled through the real reconcile handler against the Xero sandbox over HTTP.

The invoices are put in the sandbox's organisation as the service's app (``createdByMyApp``) and
their sync records written as the push writes them (pushing 10,000 invoices first would measure the
push, which ``push`` does). Then an accountant voids two, changes the amounts of two, pays two in
part, changes two references and two disappear; all of that an hour before the run (the sandbox's
clock moved back), so that a recent run afterwards has nothing new to read.

Figures: Xero calls, bytes read (Xero's egress) and bytes per invoice of the full run, the
differences it found (and that they are exactly the edits), and the same for a recent run
(``If-Modified-Since`` the full run's start) with nothing changed since. moto and the sandbox run in
this process: the figures are counts, not times.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from benchmarks.framework import Figure, benchmark

INVOICES = 10_000
QUICK_INVOICES = 1_100  # two pages
ACCOUNT = "acct-bench"
EDITED_EACH = 2  # of each kind of edit


@contextmanager
def stack() -> Iterator[Any]:
    """moto, the template's resources and the Xero sandbox, the service's environment pointed at them."""
    from local.aws_resources import create_resources
    from local.moto_server import MotoServer
    from local.xero_sandbox import SandboxServer
    from local.xero_sandbox.state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
    from shared import wiring
    from shared.observability import logger
    from tests.conftest import AWS_TEST_ENV, CALLBACK_URL

    logger.setLevel("WARNING")  # the handlers' INFO lines are not the benchmark's output
    with MotoServer() as moto, SandboxServer() as sandbox:
        sandbox.sandbox.state.add_app(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, {CALLBACK_URL})
        os.environ.update(AWS_TEST_ENV)
        os.environ.update({"AWS_ENDPOINT_URL": moto.url, "POWERTOOLS_METRICS_DISABLED": "true"})
        resources = create_resources(prefix=f"b{uuid.uuid4().hex[:8]}")
        os.environ.update(resources.environment)
        os.environ.update(
            {"XERO_LOGIN_URL": sandbox.url, "XERO_IDENTITY_URL": sandbox.url, "XERO_API_URL": sandbox.url}
        )
        wiring.reset()
        yield sandbox


def seed(sandbox: Any, count: int) -> None:
    """``count`` invoices of the account in Xero (created by the app) and their sync records."""
    from local.xero_sandbox import contacts, invoices
    from local.xero_sandbox.seed import NZ_TENANT
    from local.xero_sandbox.state import DEFAULT_CLIENT_ID
    from shared import wiring
    from shared.models.records import InvoiceRecord

    state = sandbox.sandbox.state
    org = state.organisations[NZ_TENANT]
    now = state.clock.now()
    stamp = datetime.fromtimestamp(now, UTC).isoformat()
    with state.lock:
        contact = contacts.write_contact(
            org, {"Name": "Bench Customer", "ContactNumber": "cus-bench"}, create_only=True, now=now
        )
        contact_id = str(contact.body["ContactID"])
        records = []
        for n in range(count):
            element = {
                "Type": "ACCREC",
                "Contact": {"ContactID": contact_id},
                "InvoiceNumber": f"B-{n:06d}",
                "Reference": f"PO {n}",
                "Date": "2026-11-02",
                "DueDate": "2026-11-20",
                "Status": "AUTHORISED",
                "LineItems": [
                    {
                        "Description": "Loaves",
                        "Quantity": "4",
                        "UnitAmount": "6.50",
                        "AccountCode": "200",
                        "TaxType": "OUTPUT2",
                    }
                ],
            }
            answer = invoices.write_invoice(
                org, element, create_only=True, unitdp=2, now=now, client_id=DEFAULT_CLIENT_ID
            )
            assert answer.ok, answer.body
            body = answer.body
            records.append(
                InvoiceRecord(
                    invoice_id=f"inv-{n}",
                    tenant_id=NZ_TENANT,
                    state="synced",
                    number=f"B-{n:06d}",
                    xero_invoice_id=str(body["InvoiceID"]),
                    xero_status="AUTHORISED",
                    xero_contact_id=contact_id,
                    currency="NZD",
                    total=Decimal(str(body["Total"])),
                    sub_total=Decimal(str(body["SubTotal"])),
                    total_tax=Decimal(str(body["TotalTax"])),
                    amount_due=Decimal(str(body["AmountDue"])),
                    reference=f"PO {n}",
                    date="2026-11-02",
                    due_date="2026-11-20",
                    last_version=1,
                    updated_at=stamp,
                    last_pushed_at=stamp,
                )
            )
    wiring.sync_records().put_all(ACCOUNT, records)


def edit_behind_the_back(sandbox: Any, count: int) -> dict[str, str]:
    """The accountant's edits; the kind of difference each should be reported as, by invoice id."""
    from tests.support.reconcile import Accountant

    accountant = Accountant(sandbox)
    expected: dict[str, str] = {}
    plan: list[tuple[str, Callable[[str], object]]] = [
        ("voided_in_xero", accountant.void),
        (
            "totals_differ",
            lambda n: accountant.edit(
                n,
                LineItems=[
                    {
                        "Description": "Loaves",
                        "Quantity": "5",
                        "UnitAmount": "6.50",
                        "AccountCode": "200",
                        "TaxType": "OUTPUT2",
                    }
                ],
            ),
        ),
        ("payments_differ", lambda n: accountant.pay(n, "10.00")),
        ("edited_in_xero", lambda n: accountant.edit(n, Reference="changed in Xero")),
        ("missing_in_xero", accountant.remove),
    ]
    index, step = 7, max(1, (count - 8) // (len(plan) * EDITED_EACH))  # spread over the pages
    for kind, edit in plan:
        for _ in range(EDITED_EACH):
            edit(f"B-{index:06d}")
            expected[f"inv-{index}"] = kind
            index += step
    return expected


def run(kind: str, run_id: str) -> Any:
    from shared import wiring
    from tests.support.reconcile import run_now

    answer = run_now(ACCOUNT, kind=kind, run_id=run_id)
    assert answer == {"batchItemFailures": []}, answer
    return wiring.reconciler().report(ACCOUNT)


@benchmark("reconcile", "reconciliation of 10,000 invoices: Xero calls and bytes read, full and recent runs")
def reconcile_benchmark(quick: bool) -> list[Figure]:
    from shared import wiring
    from tests.support.push import configure
    from tests.support.reconcile import reads

    count = QUICK_INVOICES if quick else int(os.environ.get("BENCH_RECONCILE_INVOICES", INVOICES))
    with stack() as sandbox:
        configure(dict(os.environ), sandbox, ACCOUNT)
        clock = sandbox.sandbox.state.clock
        clock.advance(-3600)
        seed(sandbox, count)
        expected = edit_behind_the_back(sandbox, count)
        clock.advance(3600)
        connection = wiring.connections().get(ACCOUNT)
        assert connection is not None
        wiring.token_manager().access(ACCOUNT, stale_version=connection.token_version)

        before = reads(sandbox)
        started = time.perf_counter()
        full, differences = run("full", "full-bench")
        full_seconds = time.perf_counter() - started
        after = reads(sandbox)
        found = {d.invoice_id: d.kind for d in differences}
        assert full.calls == after.calls - before.calls
        assert full.bytes_read == after.bytes_read - before.bytes_read
        exact = found == expected

        before = reads(sandbox)
        recent, again = run("recent", "recent-bench")
        after = reads(sandbox)
        assert recent.calls == after.calls - before.calls

    size = f"{count:,} invoices"
    note = "" if exact else f"found {json.dumps(found)} expected {json.dumps(expected)}"
    return [
        Figure("reconcile", f"{size}: full run, Xero calls", full.calls, "calls"),
        Figure("reconcile", f"{size}: full run, bytes read", full.bytes_read, "B"),
        Figure("reconcile", f"{size}: full run, bytes read per invoice", full.bytes_read / max(count, 1), "B"),
        Figure("reconcile", f"{size}: full run, invoices compared", full.compared, "invoices"),
        Figure(
            "reconcile",
            f"{size}: differences found (edited: {len(expected)})",
            len(found),
            "differences",
            "exactly the edits" if exact else note,
        ),
        Figure("reconcile", f"{size}: full run, wall time (moto and the sandbox in process)", full_seconds, "s"),
        Figure("reconcile", f"{size}: recent run, nothing changed, Xero calls", recent.calls, "calls"),
        Figure("reconcile", f"{size}: recent run, bytes read", recent.bytes_read, "B"),
        Figure("reconcile", f"{size}: recent run, differences still open", len(again), "differences"),
    ]
