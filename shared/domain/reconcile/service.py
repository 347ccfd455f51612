"""Reconciliation: does Xero still hold what the service sent, account by account?

A run reads what the app created in the account's organisation, ``GET /Invoices?createdByMyApp=true
&summaryOnly=true&page=N&pageSize=1000`` (a full run), or only what changed since the last complete
run began (``If-Modified-Since``: a recent run), and compares each invoice with the account's sync
record by Xero's InvoiceID (:mod:`shared.domain.reconcile.compare`). An invoice no record of this
account names is another account's (several may share an organisation) or not the service's: it is
never reported, never touched. Only a full run can tell that Xero no longer has an invoice.

Reads come out of the organisation's call budget (:mod:`shared.adapters.budget`), which the push
spends too. A run starts only when the day's calls left cover the organisation's outbox (two calls a
batch of 50) and the pages it needs; otherwise it waits (its message hidden) and the push goes
first. Out of budget or out of Lambda time mid-run, the run's progress is kept and it goes on later
from the next page. Nothing is ever written to Xero: the owner's "resend" sends the platform's last
version through the push, as any event.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from shared.adapters.queue import MAX_VISIBILITY
from shared.domain.backlog import push_calls
from shared.domain.reconcile.compare import EDIT_MARGIN_SECONDS, difference
from shared.domain.xero_session import OutOfBudget, XeroSession
from shared.errors import RequestRefused, SyncError, XeroAuthLost, XeroRateLimited, XeroUnavailable
from shared.models.connection import ConnectionStatus
from shared.models.reconcile import Difference, ReconcileRequest, ReconcileRun, RunKind
from shared.models.records import InvoiceRecord
from shared.observability import logger, metrics

if TYPE_CHECKING:
    from shared.adapters.budget import CallBudget
    from shared.adapters.connections import ConnectionRepository
    from shared.adapters.outbox import Outbox
    from shared.adapters.reconcile_queue import ReconcileQueue
    from shared.adapters.reconciliation import ReconciliationStore
    from shared.adapters.sweep_index import SweepIndex
    from shared.adapters.xero import XeroClient
    from shared.domain.requeue import Requeue
    from shared.domain.tokens import TokenManager

PAGE_SIZE = 1000  # Xero's largest page
OUTBOX_COUNT_LIMIT = 100_000
SPARE_CALLS = 5  # left for the push beyond its backlog
MIN_SECONDS = 30  # of Lambda time, to read one more page and record it
STALE_RUN = timedelta(days=1)  # a run under way longer than this is taken over
RETRY_SECONDS = 300  # Xero unavailable: try again in five minutes


class ResendRefused(RequestRefused):
    """A difference a resend cannot mend, or nothing kept to resend (409)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, status=409)


OutcomeState = Literal["complete", "continued", "deferred", "skipped"]


@dataclass(frozen=True)
class Outcome:
    state: OutcomeState
    run: ReconcileRun | None = None
    wait: float = 0.0  # deferred: hide the message this long
    reason: str | None = None


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def xero_instant(value: str) -> str:
    """An ISO instant as Xero's ``If-Modified-Since`` takes it (UTC, no offset): ``2026-12-03T10:00:00``."""
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class Reconciler:
    def __init__(
        self,
        *,
        connections: ConnectionRepository,
        store: ReconciliationStore,
        tokens: TokenManager,
        xero: XeroClient,
        budget: CallBudget,
        outbox: Outbox,
        queue: ReconcileQueue,
        index: SweepIndex | None = None,
        requeue: Requeue | None = None,
        on_complete: Callable[[str, ReconcileRun, list[Difference]], None] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._connections = connections
        self._store = store
        self._tokens = tokens
        self._xero = xero
        self._budget = budget
        self._outbox = outbox
        self._queue = queue
        self._index = index
        self._requeue = requeue
        self._on_complete = on_complete
        self._clock = clock
        self._sleep = sleep

    # --- starting runs -------------------------------------------------------------------------

    def schedule(self, kind: RunKind, today: date) -> int:
        """One run request per connected account (the schedule's fan-out); how many were queued."""
        if self._index is None:
            raise RuntimeError("the schedule needs the sweep index to find the connected accounts")
        far = date(9999, 12, 31)
        accounts = [e.account_id for page in self._index.due(far) for e in page.entries if e.stage != "disconnecting"]
        organisations = self._connections.organisations_of(accounts)
        requests = [
            (tenant, ReconcileRequest(account_id=account, kind=kind, run_id=f"{kind}-{today.isoformat()}"))
            for account, (tenant, status) in sorted(organisations.items())
            if tenant and status == ConnectionStatus.CONNECTED.value
        ]
        queued = self._queue.send(requests)
        logger.info("reconciliation scheduled", extra={"kind": kind, "accounts": queued})
        return queued

    def request(self, account_id: str, kind: RunKind = "full") -> ReconcileRequest | None:
        """The owner's "check now": a run queued for the account; None when it cannot sync (not
        connected, or no organisation chosen)."""
        connection = self._connections.get(account_id)
        if connection is None or connection.status != ConnectionStatus.CONNECTED or not connection.tenant_id:
            return None
        request = ReconcileRequest(
            account_id=account_id, kind=kind, run_id=f"owner-{uuid.uuid4().hex[:16]}", requested_by="owner"
        )
        self._queue.send([(connection.tenant_id, request)])
        return request

    # --- the report and the owner's actions ---------------------------------------------------

    def report(self, account_id: str) -> tuple[ReconcileRun | None, list[Difference]]:
        """The account's last run and its differences, open ones first."""
        differences = self._store.differences(account_id)
        order = {"open": 0, "resent": 1, "accepted": 2}
        return self._store.run(account_id), sorted(differences, key=lambda d: (order[d.state], d.number or ""))

    def accept(self, account_id: str, invoice_id: str) -> Difference | None:
        """Mark a difference accepted: Xero's version stands, nothing is written to Xero. None: no such
        difference."""
        found = self._store.difference(account_id, invoice_id)
        if found is None:
            return None
        if found.state != "accepted":
            stamp = iso(datetime.fromtimestamp(self._clock(), UTC))
            self._store.mark(account_id, invoice_id, "accepted", stamp, seen_fingerprint=found.xero_fingerprint)
            found = found.model_copy(update={"state": "accepted", "accepted_at": stamp})
        return found

    def resend(self, account_id: str, invoice_id: str) -> Difference | None:
        """Send the platform's last version through the push; None: no such difference. Raises
        :class:`ResendRefused` when the difference cannot be resolved by resending."""
        found = self._store.difference(account_id, invoice_id)
        if found is None:
            return None
        if "resend" not in found.actions:
            raise ResendRefused("not_resendable", f"Invoice {found.number} cannot be resent: {found.what_to_do}")
        if self._requeue is None or not self._requeue.resend_invoice(
            account_id, invoice_id, forget_xero=found.kind == "missing_in_xero"
        ):
            raise ResendRefused(
                "nothing_to_resend",
                f"Invoice {found.number} has no version kept to send again, or a newer one is on its way.",
            )
        stamp = iso(datetime.fromtimestamp(self._clock(), UTC))
        self._store.mark(account_id, invoice_id, "resent", stamp, seen_fingerprint=found.xero_fingerprint)
        return found.model_copy(update={"state": "resent", "resent_at": stamp})

    # --- one message ---------------------------------------------------------------------------

    def handle(self, request: ReconcileRequest, seconds_left: Callable[[], float]) -> Outcome:
        begun = self._begin(request)
        if isinstance(begun, Outcome):
            return begun
        run, tenant_id = begun
        account_id = request.account_id
        records = {
            r.xero_invoice_id.lower(): r
            for r in self._store.invoice_records(account_id)
            if r.xero_invoice_id and r.belongs_to(tenant_id)
        }
        pages = math.ceil(len(records) / PAGE_SIZE) + 1 - (run.next_page - 1) if run.kind == "full" else 1
        wait, why = self._room(tenant_id, max(1, pages), self._clock())
        if wait > 0:
            return self._defer(account_id, run, wait, why)
        run.state, run.invocations, run.deferred_reason = "running", run.invocations + 1, None
        self._store.save_run(account_id, run)
        return self._read(request, run, tenant_id, records, seconds_left)

    def _begin(self, request: ReconcileRequest) -> tuple[ReconcileRun, str] | Outcome:
        """The run this message starts or goes on with, and its organisation; or why there is none."""
        account_id = request.account_id
        connection = self._connections.get(account_id)
        if connection is None or connection.status != ConnectionStatus.CONNECTED or not connection.tenant_id:
            logger.info("reconciliation skipped: not connected", extra={"account_id": account_id})
            return Outcome("skipped", reason="not_connected")
        tenant_id = connection.tenant_id
        now = self._clock()
        run = self._store.run(account_id)
        if run is None or run.run_id != request.run_id or run.tenant_id != tenant_id:
            if run is not None and run.state != "complete" and run.tenant_id == tenant_id and not _stale(run, now):
                logger.info("reconciliation skipped: a run is under way", extra={"account_id": account_id})
                return Outcome("skipped", run=run, reason="run_under_way")
            return self._new_run(request, run, tenant_id, now), tenant_id
        if run.state == "complete":
            return Outcome("skipped", run=run, reason="already_complete")
        return run, tenant_id

    def _read(
        self,
        request: ReconcileRequest,
        run: ReconcileRun,
        tenant_id: str,
        records: dict[str, InvoiceRecord],
        seconds_left: Callable[[], float],
    ) -> Outcome:
        """Read page after page and compare, until the last page, the Lambda's time or the budget."""
        account_id = request.account_id
        session = XeroSession(
            account_id=account_id,
            tenant_id=tenant_id,
            tokens=self._tokens,
            xero=self._xero,
            budget=self._budget,
            seconds_left=seconds_left,
            sleep=self._sleep,
        )
        previous = {d.invoice_id: d for d in self._store.differences(account_id)}
        counted = [0, 0]  # calls and bytes already added to the run

        def count() -> None:
            run.calls += session.counts.calls - counted[0]
            run.bytes_read += session.counts.bytes_read - counted[1]
            counted[:] = [session.counts.calls, session.counts.bytes_read]

        now = self._clock()
        try:
            while True:
                answer = session.get("Invoices", _page(run.next_page), modified_since=run.modified_since)
                count()
                invoices = [i for i in answer.get("Invoices", []) if isinstance(i, dict)]
                self._compare_page(account_id, run, invoices, records, previous, now)
                last = _last_page(answer, run.next_page, len(invoices))
                run.next_page += 1
                if last:
                    break
                self._store.save_run(account_id, run)
                if seconds_left() < MIN_SECONDS:
                    self._queue.send([(tenant_id, request)], page=run.next_page)
                    logger.info("reconciliation continues", extra={"account_id": account_id, "page": run.next_page})
                    return Outcome("continued", run=run)
        except (OutOfBudget, XeroRateLimited) as exc:
            count()
            return self._defer(account_id, run, float(exc.retry_after), "Xero's call limits for the organisation")
        except XeroAuthLost:
            count()
            return self._defer(account_id, run, MAX_VISIBILITY, "Xero needs the account to reconnect")
        except XeroUnavailable as exc:
            count()
            return self._defer(account_id, run, float(exc.retry_after or RETRY_SECONDS), "Xero is unavailable")
        return self._finish(account_id, run, records, previous, now)

    # --- the parts -----------------------------------------------------------------------------

    def _new_run(
        self, request: ReconcileRequest, last: ReconcileRun | None, tenant_id: str, now: float
    ) -> ReconcileRun:
        since = last.last_complete_started_at if last and last.tenant_id == tenant_id else None
        kind: RunKind = request.kind if since else "full"  # a recent run needs an earlier complete one
        modified_since = None
        if kind == "recent" and since:
            # From a little before the last run began: Xero's clock and ours may disagree a little.
            start = datetime.fromisoformat(since) - timedelta(seconds=EDIT_MARGIN_SECONDS)
            modified_since = xero_instant(start.isoformat())
        return ReconcileRun(
            run_id=request.run_id,
            kind=kind,
            requested_by=request.requested_by,
            tenant_id=tenant_id,
            started_at=iso(datetime.fromtimestamp(now, UTC)),
            modified_since=modified_since,
            last_complete_started_at=since,
        )

    def _room(self, tenant_id: str, pages: int, now: float) -> tuple[float, str | None]:
        """How long to wait before reading ``pages`` pages (0: now), and why: the push goes first."""
        state = self._budget.state(tenant_id)
        if state.blocked_for > 0:
            return state.blocked_for, "Xero's call limits for the organisation"
        waiting = self._outbox.waiting(tenant_id, limit=OUTBOX_COUNT_LIMIT)
        needed = push_calls(waiting) + SPARE_CALLS
        if state.day_left - needed < pages:
            midnight = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            tomorrow = (midnight + timedelta(days=1, minutes=5)).timestamp()
            return min(MAX_VISIBILITY, tomorrow - now), (
                f"today's Xero calls are kept for {waiting} events waiting to be sent"
            )
        return 0.0, None

    def _defer(self, account_id: str, run: ReconcileRun, wait: float, why: str | None) -> Outcome:
        run.state, run.deferred_reason, run.deferrals = "deferred", why, run.deferrals + 1
        self._store.save_run(account_id, run)
        logger.info(
            "reconciliation deferred",
            extra={"account_id": account_id, "run_id": run.run_id, "reason": why, "wait": round(wait)},
        )
        metrics.add_metric(name="ReconcileDeferred", unit="Count", value=1)
        return Outcome("deferred", run=run, wait=max(1.0, min(wait, MAX_VISIBILITY)), reason=why)

    def _compare_page(
        self,
        account_id: str,
        run: ReconcileRun,
        invoices: list[dict[str, Any]],
        records: dict[str, InvoiceRecord],
        previous: dict[str, Difference],
        now: float,
    ) -> None:
        stamp = iso(datetime.fromtimestamp(now, UTC))
        matching: list[str] = []
        suspects: list[tuple[InvoiceRecord, dict[str, Any]]] = []
        for invoice in invoices:
            record = records.get(str(invoice.get("InvoiceID", "")).lower())
            if record is None or invoice.get("Type", "ACCREC") != "ACCREC":
                continue  # not this account's: another account's on a shared organisation, or not ours
            if record.pending_until and record.pending_until > now:
                continue  # the push is writing it right now
            run.compared += 1
            if difference(record, invoice, run_id=run.run_id, now=stamp) is None:
                if record.invoice_id in previous:
                    matching.append(record.invoice_id)
                    previous.pop(record.invoice_id)
            else:
                suspects.append((record, invoice))
        # The records were read before Xero was: the push may have written since. Look again.
        fresh = self._store.fresh_records(account_id, [r.invoice_id for r, _ in suspects]) if suspects else {}
        for stale, invoice in suspects:
            record = fresh.get(stale.invoice_id, stale)
            if record.pending_until and record.pending_until > now:
                continue
            before = previous.get(record.invoice_id)
            found = difference(record, invoice, run_id=run.run_id, now=stamp, previous=before)
            if found is None:
                if before is not None:
                    matching.append(record.invoice_id)
                    previous.pop(record.invoice_id)
            elif before is None or _changed(before, found):
                self._store.put_difference(account_id, found)
                previous[record.invoice_id] = found
        self._store.resolve(account_id, matching)
        if run.kind == "full":
            self._store.add_seen(
                account_id, run.run_id, run.next_page, [str(i.get("InvoiceID")) for i in invoices], now
            )

    def _finish(
        self,
        account_id: str,
        run: ReconcileRun,
        records: dict[str, InvoiceRecord],
        previous: dict[str, Difference],
        now: float,
    ) -> Outcome:
        if run.kind == "full":
            seen = self._store.seen(account_id, run.run_id)
            stamp = iso(datetime.fromtimestamp(now, UTC))
            known = {r.invoice_id for r in records.values()}
            for xero_id, record in records.items():
                if xero_id in seen or not _expected_in_xero(record, run.started_at, now):
                    continue
                before = previous.get(record.invoice_id)
                found = difference(record, None, run_id=run.run_id, now=stamp, previous=before)
                if found is not None and (before is None or _changed(before, found)):
                    self._store.put_difference(account_id, found)
                    previous[record.invoice_id] = found
            # A difference of an invoice this account no longer records (or records elsewhere) is gone.
            self._store.resolve(account_id, [i for i in previous if i not in known])
            self._store.forget_seen(account_id, run.run_id)
        differences = self._store.differences(account_id)
        run.state, run.finished_at = "complete", iso(datetime.fromtimestamp(self._clock(), UTC))
        run.differences = sum(1 for d in differences if d.state == "open")
        run.last_complete_started_at = run.started_at
        self._store.save_run(account_id, run)
        logger.info(
            "reconciliation done",
            extra={
                "account_id": account_id,
                "run_id": run.run_id,
                "kind": run.kind,
                "calls": run.calls,
                "bytes_read": run.bytes_read,
                "compared": run.compared,
                "differences": run.differences,
            },
        )
        metrics.add_metric(name="ReconcileCalls", unit="Count", value=run.calls)
        metrics.add_metric(name="ReconcileDifferences", unit="Count", value=run.differences)
        if self._on_complete is not None:
            try:
                self._on_complete(account_id, run, differences)
            except SyncError as exc:  # the report is kept; the digest is not worth failing the run
                logger.warning("reconciliation digest not queued", extra={"account_id": account_id, "error": exc.code})
        return Outcome("complete", run=run)


def _page(page: int) -> dict[str, str]:
    return {"createdByMyApp": "true", "summaryOnly": "true", "page": str(page), "pageSize": str(PAGE_SIZE)}


def _last_page(answer: dict[str, Any], page: int, count: int) -> bool:
    """Whether ``page`` was the last: a short page, or Xero's ``pagination.pageCount`` says so (which
    spares the empty page after a full last one)."""
    pagination = answer.get("pagination")
    if isinstance(pagination, dict) and isinstance(pagination.get("pageCount"), int):
        return page >= int(pagination["pageCount"])
    return count < PAGE_SIZE


def _stale(run: ReconcileRun, now: float) -> bool:
    return datetime.fromtimestamp(now, UTC) - datetime.fromisoformat(run.started_at) > STALE_RUN


def _changed(before: Difference, after: Difference) -> bool:
    keep = {"kind", "details", "xero_fingerprint", "state", "xero_status"}
    return before.model_dump(include=keep) != after.model_dump(include=keep)


def _expected_in_xero(record: InvoiceRecord, run_started_at: str, now: float) -> bool:
    """Whether Xero should list this invoice: not deleted by the service, not written since the run
    began (a page read before the push created it), and not being written now."""
    if record.xero_status == "DELETED":
        return False
    if record.pending_until and record.pending_until > now:
        return False
    last = record.last_pushed_at or record.updated_at
    return not (last and last > run_started_at)
