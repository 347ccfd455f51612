"""One account's share of a batch, through the stages in order: connection and settings, claims,
invoice and credit note checks, contacts, invoices, payments, credit notes (their allocations and
refunds). Whatever goes wrong for one account leaves the other
accounts of the batch untouched."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shared.adapters.outbox import InFlight
from shared.domain.push import claims, contacts, credit_notes, invoices, payments
from shared.domain.push.model import Fate, Message, Outcome
from shared.domain.status import announce
from shared.domain.xero_session import OutOfBudget, XeroSession
from shared.errors import (
    ConnectionUnavailable,
    StorageError,
    SyncError,
    TokenRefreshBusy,
    XeroAuthLost,
    XeroError,
    XeroRateLimited,
    XeroUnavailable,
)
from shared.models.connection import ConnectionStatus
from shared.models.events import InvoiceEvent, PaymentRecorded
from shared.models.status_events import ConnectionNeedsReconnect
from shared.observability import logger

if TYPE_CHECKING:
    from shared.domain.push.context import AccountRun

BUSY_DELAY = 20
MOVED = "organisation_moved"  # sent back through the intake, which queues it for the new organisation


def run_account(run: AccountRun) -> None:
    try:
        _stages(run)
    except (OutOfBudget, XeroRateLimited) as exc:
        if (
            exc.sent_nothing
            and run.session is not None
            and run.session.counts.calls - run.noting_calls == exc.calls_made
        ):
            # The write just noted never went (the budget stopped it, or Xero refused it with a 429): what it
            # carried for the first time is not in flight, so the next attempt need not look for it in Xero.
            run.sent = run.sent.without(set(run.noting.invoices), run.noting.payments)
        run.finish_rest(Outcome(Fate.DEFERRED, "rate_limited", str(exc), int(exc.retry_after) + 1))
    except TokenRefreshBusy as exc:
        run.finish_rest(Outcome(Fate.DEFERRED, exc.code, str(exc), BUSY_DELAY))
    except (XeroAuthLost, ConnectionUnavailable) as exc:
        _lost(run, exc)
    except XeroUnavailable as exc:
        run.finish_rest(Outcome(Fate.RETRIED, "xero_unavailable", str(exc), int(exc.retry_after or 0)))
    except (StorageError, XeroError) as exc:
        logger.exception("push failed for an account", extra={"account_id": run.account_id})
        run.finish_rest(Outcome(Fate.RETRIED, getattr(exc, "code", "error"), str(exc)))
    except Exception:  # noqa: BLE001
        # A bug must not take the other accounts of the batch down with it: these messages are retried
        # (and dead-lettered with this reason once their receives are spent).
        logger.exception("unexpected error in the push for an account", extra={"account_id": run.account_id})
        run.finish_rest(Outcome(Fate.RETRIED, "internal_error", "an unexpected error stopped the push"))
    finally:
        _record(run)
        if run.session is not None:
            counts = run.session.counts
            run.tally.add_calls(counts.calls, counts.rate_limited, counts.by_resource)


def _record(run: AccountRun) -> None:
    """Store what the stages learnt, then what is still in flight. Records first: if they cannot be
    stored, nothing of this account is settled, and its in-flight note keeps what was sent."""
    try:
        run.ledger.write()
    except StorageError:
        logger.exception(
            "could not store the sync records; the events will be tried again", extra={"account_id": run.account_id}
        )
        for message in run.messages:
            message.outcome = Outcome(Fate.RETRIED, "storage_error", "the sync records could not be stored")
            message.failure = None
            message.synced = None
        return
    settled_invoices = _settled_ids(run, InvoiceEvent, lambda m: m.event.data.invoice_id)
    settled_payments = _settled_ids(run, PaymentRecorded, lambda m: m.event.data.payment_id)
    still = InFlight()
    still.add(run.in_flight)
    still.add(run.sent)
    still = still.without(settled_invoices, settled_payments)
    if (run.in_flight or run.sent) and run.parts.outbox is not None:
        try:
            run.parts.outbox.note_in_flight(run.tenant_id, run.account_id, still)
        except StorageError:
            logger.warning(
                "could not update the in-flight note; it is kept as it was", extra={"account_id": run.account_id}
            )


def _settled(message: Message) -> bool:
    return message.outcome is not None and message.outcome.fate.settled


def _settled_ids(run: AccountRun, kind: Any, subject: Callable[[Any], str]) -> set[str]:
    """Subjects whose every message of this pass settled. A duplicate delivery skipped beside a write
    that failed settles nothing: what the write may have made stays in flight."""
    settled: set[str] = set()
    open_: set[str] = set()
    for message in run.messages:
        if isinstance(message.event, kind):
            (settled if _settled(message) else open_).add(subject(message))
    return settled - open_


def _stages(run: AccountRun) -> None:
    parts = run.parts
    connection = parts.connections.get(run.account_id)
    if connection is None:
        run.finish_rest(Outcome(Fate.PARKED, "unknown_account", f"account {run.account_id} has never connected Xero"))
        return
    if connection.status != ConnectionStatus.CONNECTED:
        raise ConnectionUnavailable(f"Xero is {connection.status} for this account", status=connection.status)
    if connection.tenant_id is None:
        run.finish_rest(
            Outcome(Fate.PARKED, "organisation_not_chosen", "no Xero organisation is chosen for this account yet")
        )
        return
    if connection.tenant_id != run.tenant_id:
        # The account moved to another organisation since these events were queued for this one.
        run.finish_rest(Outcome(Fate.DEFERRED, MOVED, "the account now syncs to another Xero organisation"))
        return
    run.connection = connection
    run.settings = parts.settings.get(run.account_id)
    if run.settings.organisation_changed_at is not None:
        run.finish_rest(
            Outcome(
                Fate.PARKED,
                "organisation_changed",
                "the account now syncs to another Xero organisation, whose settings are not chosen yet",
            )
        )
        return
    run.session = XeroSession(
        account_id=run.account_id,
        tenant_id=connection.tenant_id,
        tokens=parts.tokens,
        xero=parts.xero,
        budget=parts.budget,
        seconds_left=run.seconds_left,
        sleep=parts.sleep,
        on_success=lambda: _active(run),
        backfill=run.backfill,
    )
    work = claims.claim_invoices(run)
    notes = credit_notes.claim(run)
    invoices.prepare(run, work)
    credit_notes.prepare(run, notes)
    contacts.resolve(run, work, credit_notes.contacts(notes))
    invoices.send(run, work)
    payments.push(run)
    credit_notes.send(run, notes)


def _active(run: AccountRun) -> None:
    run.parts.connections.record_activity(run.account_id, run.now)


def _lost(run: AccountRun, exc: SyncError) -> None:
    status = getattr(exc, "status", None)
    if isinstance(exc, XeroAuthLost) and not isinstance(exc.status, str):
        # Xero refused the organisation (403) or the refresh token: the owner must reconnect.
        run.parts.connections.mark_status(
            run.account_id, ConnectionStatus.NEEDS_RECONNECT, reason=str(exc), now=run.now
        )
        status = ConnectionStatus.NEEDS_RECONNECT
        # tokens.py announces a refused refresh; a 403 from the organisation is announced here.
        if exc.status == 403:
            announce(
                run.parts.status_events,
                ConnectionNeedsReconnect(account_id=run.account_id, occurred_at=run.now, reason=str(exc)),
            )
    run.finish_rest(Outcome(Fate.PARKED, "not_connected", str(exc)))
    if status != ConnectionStatus.DISCONNECTED:
        try:
            run.parts.alerts.reconnect_needed(run.account_id, str(exc), now=run.now)
        except SyncError:
            logger.exception("could not send the reconnect email", extra={"account_id": run.account_id})
