"""The push: one SQS batch of platform events → Xero, grouped by account, batched per call.

For each account in the batch: check its connection and settings, then
1. claim the newest version of every invoice in the batch (older versions are skipped);
2. contacts: find or create every contact those invoices need and apply contact updates, matching
   Xero contacts on ``ContactNumber`` (the platform's contact id) and never creating a second
   contact under a name Xero already has;
3. invoices: creates in ``PUT /Invoices`` and changes in ``POST /Invoices``, 50 per call, with
   ``summarizeErrors=false`` so one bad invoice fails alone;
4. payments, 50 per call, once their invoice is approved in Xero.

Every message ends with one :class:`Outcome`: done, retry (a real error: kept hidden for a backoff and
received again, up to the queue's bound), defer (rate limit or contention: sent again with a delay so
no receive is spent), park (the account cannot sync until its owner acts) or dead (to the
dead-letter queue with its reason, a failed sync record and one email).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import ValidationError

from shared.domain.alerts import SyncFailure
from shared.domain.mapping import (
    contact_element,
    content_fingerprint,
    invoice_element,
    payment_element,
    status_element,
    target_status,
)
from shared.domain.xero_session import OutOfBudget, XeroSession
from shared.errors import (
    ConnectionUnavailable,
    Rejected,
    StorageError,
    SyncError,
    TokenRefreshBusy,
    XeroAuthLost,
    XeroError,
    XeroRateLimited,
    XeroUnavailable,
    XeroValidationError,
)
from shared.models.connection import ConnectionStatus
from shared.models.events import (
    AmountsAre,
    Contact,
    ContactUpserted,
    Event,
    InvoiceDeleted,
    InvoiceUpserted,
    InvoiceVoided,
    PaymentRecorded,
    parse_event,
)
from shared.observability import logger

if TYPE_CHECKING:
    from shared.adapters.budget import CallBudget
    from shared.adapters.connections import ConnectionRepository
    from shared.adapters.queue import InvoiceQueue
    from shared.adapters.settings import SettingsRepository
    from shared.adapters.sync_records import Claim, SyncRecords
    from shared.adapters.xero import XeroClient
    from shared.domain.alerts import Alerts
    from shared.domain.tokens import TokenManager
    from shared.models.settings import AccountSettings

T = TypeVar("T")
OutcomeKind = Literal["done", "retry", "defer", "park", "dead"]
PER_CALL = 50
LOOKUP_PER_CALL = 80  # ContactNumber=="…" OR …: about 2 KB of where clause
INVOICE_PARAMS = {"summarizeErrors": "false", "unitdp": "4"}
ELEMENT_PARAMS = {"summarizeErrors": "false"}
NAME_TAKEN = "already assigned to another contact"
NUMBER_TAKEN = "must be unique"
BUSY_DELAY = 20
TAX_RATE_CACHE_SECONDS = 600


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    code: str = "synced"
    reason: str = ""
    delay: int = 0


DONE = Outcome("done")


@dataclass
class Message:
    """One SQS record, and what became of it."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int = 1
    deferrals: int = 0
    event: Event | None = None
    outcome: Outcome | None = None
    failure: SyncFailure | None = None

    @property
    def account_id(self) -> str | None:
        return self.event.account_id if self.event else None

    def finish(self, outcome: Outcome) -> None:
        if self.outcome is None:
            self.outcome = outcome


@dataclass
class Tally:
    """What one batch did, for logs, metrics and the benchmarks."""

    pushed: int = 0
    skipped: int = 0
    failed: int = 0
    retried: int = 0
    deferred: int = 0
    parked: int = 0
    xero_calls: int = 0
    rate_limited: int = 0
    by_resource: dict[str, int] = field(default_factory=dict)


@dataclass
class _InvoiceWork:
    message: Message
    event: InvoiceUpserted | InvoiceVoided | InvoiceDeleted
    claim: Claim
    contact_id: str | None = None
    element: dict[str, Any] | None = None
    fingerprint: str | None = None
    status: str | None = None

    @property
    def invoice_id(self) -> str:
        return self.event.data.invoice_id

    @property
    def version(self) -> int:
        return self.event.data.version

    @property
    def number(self) -> str | None:
        return self.event.data.number


class PushService:
    def __init__(
        self,
        *,
        connections: ConnectionRepository,
        settings: SettingsRepository,
        records: SyncRecords,
        tokens: TokenManager,
        xero: XeroClient,
        budget: CallBudget,
        queue: InvoiceQueue,
        alerts: Alerts,
        max_receives: int = 8,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._connections = connections
        self._settings = settings
        self._records = records
        self._tokens = tokens
        self._xero = xero
        self._budget = budget
        self._queue = queue
        self._alerts = alerts
        self._max_receives = max_receives
        self._clock = clock
        self._sleep = sleep
        self._tax_rates: dict[str, tuple[float, dict[str, Decimal]]] = {}

    # --- the batch ---------------------------------------------------------------------------

    def process(self, messages: list[Message], seconds_left: Callable[[], float]) -> Tally:
        """Give every message an outcome, then act on it; returns the tally."""
        tally = Tally()
        accounts: dict[str, list[Message]] = {}
        for message in messages:
            try:
                message.event = parse_event(message.body)
            except ValidationError as exc:
                message.finish(Outcome("dead", "malformed_event", _describe(exc)))
                continue
            accounts.setdefault(message.event.account_id, []).append(message)
        for account_id, group in accounts.items():
            if seconds_left() < 45:
                for message in group:
                    message.finish(Outcome("defer", "out_of_time", "the invocation ran out of time", 5))
                continue
            AccountPush(self, account_id, group, seconds_left, tally).run()
        self._settle(messages, tally)
        return tally

    def _settle(self, messages: list[Message], tally: Tally) -> None:
        for message in messages:
            outcome = message.outcome or Outcome("retry", "not_processed", "the message was not processed", 30)
            if outcome.kind == "retry" and message.receive_count >= self._max_receives:
                outcome = Outcome(
                    "dead", outcome.code, f"gave up after {message.receive_count} attempts: {outcome.reason}"
                )
                self._record_exhausted(message, outcome)
            message.outcome = self._act(message, outcome, tally)

    def _act(self, message: Message, outcome: Outcome, tally: Tally) -> Outcome:
        try:
            if outcome.kind == "defer":
                self._queue.publish([message.body], delay=outcome.delay, deferrals=message.deferrals + 1)
                tally.deferred += 1
            elif outcome.kind == "park" and message.event is not None:
                now = datetime.fromtimestamp(self._clock(), UTC)
                self._records.park(message.event.account_id, message.event.event_id, message.body, outcome.code, now)
                tally.parked += 1
            elif outcome.kind == "dead":
                self._queue.dead(
                    message.body,
                    code=outcome.code,
                    reason=outcome.reason,
                    message_id=message.message_id,
                    account_id=message.account_id,
                )
                tally.failed += 1
            elif outcome.kind == "retry":
                backoff = outcome.delay or min(900, 30 * 2 ** max(0, message.receive_count - 1))
                self._queue.back_off(message.receipt_handle, backoff)
                tally.retried += 1
        except StorageError:
            logger.exception(
                "could not hand a message on; it will be received again", extra={"reason_code": outcome.code}
            )
            return Outcome("retry", outcome.code, outcome.reason)
        if outcome.kind != "done":
            logger.info(
                "event not synced now",
                extra={
                    "message_id": message.message_id,
                    "account_id": message.account_id,
                    "outcome": outcome.kind,
                    "reason_code": outcome.code,
                    "reason": outcome.reason,
                },
            )
        return outcome

    def _record_exhausted(self, message: Message, outcome: Outcome) -> None:
        """A retryable error outlasted the queue's receives: record and tell the owner, as for a refusal."""
        event = message.event
        if event is None:
            return
        failure = Rejected(
            outcome.code,
            outcome.reason,
            "Check Xero's status and the connection, then retry the invoice from the integration settings.",
        )
        try:
            AccountPush.record_failure(self, event, message, failure)
        except (SyncError, XeroError):
            logger.exception("could not record an exhausted event", extra={"account_id": event.account_id})

    def tax_rates(self, session: XeroSession, needed: set[str]) -> dict[str, Decimal]:
        """Xero's current effective rates of the active tax types (cached briefly per organisation).

        Rates are read from Xero rather than from the mappings so that a rate changed in Xero is
        predicted right; an unknown or archived tax type is simply absent.
        """
        if not needed:
            return {}
        cached = self._tax_rates.get(session.tenant_id)
        if cached is None or cached[0] < self._clock() or needed - set(cached[1]):
            answer = session.get("TaxRates")
            active = {
                str(r["TaxType"]): Decimal(str(r.get("EffectiveRate", r.get("DisplayTaxRate", 0))))
                for r in answer.get("TaxRates", [])
                if r.get("Status") == "ACTIVE"
            }
            cached = (self._clock() + TAX_RATE_CACHE_SECONDS, active)
            self._tax_rates[session.tenant_id] = cached
        return cached[1]


class AccountPush:
    """One account's share of a batch."""

    def __init__(
        self,
        service: PushService,
        account_id: str,
        messages: list[Message],
        seconds_left: Callable[[], float],
        tally: Tally,
    ) -> None:
        self.s = service
        self.account_id = account_id
        self.messages = messages
        self.seconds_left = seconds_left
        self.tally = tally
        self.now = datetime.fromtimestamp(service._clock(), UTC)
        self.session: XeroSession | None = None
        self.contact_ids: dict[str, str] = {}  # platform contact id → Xero ContactID
        self._claimed: set[str] = set()
        self._claimed_payments: set[str] = set()
        self.invoices: dict[str, dict[str, Any]] = {}  # platform invoice id → record after this batch

    def run(self) -> None:
        try:
            self._run()
        except (OutOfBudget, XeroRateLimited) as exc:
            delay = int(exc.retry_after) + 1
            self._finish_rest(Outcome("defer", "rate_limited", str(exc), delay))
        except TokenRefreshBusy as exc:
            self._finish_rest(Outcome("defer", exc.code, str(exc), BUSY_DELAY))
        except (XeroAuthLost, ConnectionUnavailable) as exc:
            self._lost(exc)
        except XeroUnavailable as exc:
            self._finish_rest(Outcome("retry", "xero_unavailable", str(exc), int(exc.retry_after or 0)))
        except (StorageError, XeroError) as exc:
            logger.exception("push failed for an account", extra={"account_id": self.account_id})
            self._finish_rest(Outcome("retry", getattr(exc, "code", "error"), str(exc)))
        finally:
            self._release_claims()
            if self.session is not None:
                counts = self.session.counts
                self.tally.xero_calls += counts.calls
                self.tally.rate_limited += counts.rate_limited
                for name, count in counts.by_resource.items():
                    self.tally.by_resource[name] = self.tally.by_resource.get(name, 0) + count

    def _run(self) -> None:
        connection = self.s._connections.get(self.account_id)
        if connection is None:
            self._finish_rest(Outcome("park", "unknown_account", f"account {self.account_id} has never connected Xero"))
            return
        if connection.status != ConnectionStatus.CONNECTED:
            raise ConnectionUnavailable(f"Xero is {connection.status} for this account", status=connection.status)
        if connection.tenant_id is None:
            self._finish_rest(
                Outcome("park", "organisation_not_chosen", "no Xero organisation is chosen for this account yet")
            )
            return
        self.settings: AccountSettings = self.s._settings.get(self.account_id)
        self.session = XeroSession(
            account_id=self.account_id,
            tenant_id=connection.tenant_id,
            tokens=self.s._tokens,
            xero=self.s._xero,
            budget=self.s._budget,
            seconds_left=self.seconds_left,
            sleep=self.s._sleep,
            on_success=self._active,
        )
        work = self._claim_invoices()
        self._contacts(work)
        self._push_invoices(work)
        self._payments()

    def _active(self) -> None:
        self.s._connections.record_activity(self.account_id, self.now)

    # --- outcomes ----------------------------------------------------------------------------

    def _finish_rest(self, outcome: Outcome) -> None:
        for message in self.messages:
            message.finish(outcome)

    def _lost(self, exc: SyncError) -> None:
        status = getattr(exc, "status", None)
        if isinstance(exc, XeroAuthLost) and not isinstance(exc.status, str):
            # Xero refused the organisation (403) or the refresh token: the owner must reconnect.
            self.s._connections.mark_status(
                self.account_id, ConnectionStatus.NEEDS_RECONNECT, reason=str(exc), now=self.now
            )
            status = ConnectionStatus.NEEDS_RECONNECT
        self._finish_rest(Outcome("park", "not_connected", str(exc)))
        if status != ConnectionStatus.DISCONNECTED:
            try:
                self.s._alerts.reconnect_needed(self.account_id, str(exc), now=self.now)
            except SyncError:
                logger.exception("could not send the reconnect email", extra={"account_id": self.account_id})

    def _fail(self, message: Message, failure: Rejected) -> None:
        """A permanent refusal: failed record, one email, and the dead-letter queue with the reason."""
        if message.event is not None:
            self.record_failure(self.s, message.event, message, failure)
        message.finish(Outcome("dead", failure.code, failure.message))

    @staticmethod
    def record_failure(service: PushService, event: Event, message: Message, failure: Rejected) -> None:
        now = datetime.fromtimestamp(service._clock(), UTC)
        extra = {"last_event": message.body, "updated_at": now.isoformat()}
        invoice_id: str
        number: str | None = None
        if isinstance(event, PaymentRecorded):
            invoice_id = event.data.invoice_id
            service._records.fail_payment(
                event.account_id, event.data.payment_id, failure, now, {**extra, "invoice_id": invoice_id}
            )
        elif isinstance(event, InvoiceUpserted | InvoiceVoided | InvoiceDeleted):
            invoice_id, number = event.data.invoice_id, event.data.number
            service._records.fail_invoice(
                event.account_id, invoice_id, event.data.version, failure, now, {**extra, "number": number}
            )
        else:
            invoice_id = f"contact {event.data.contact_id}"
        alert = SyncFailure(
            invoice_id=invoice_id,
            invoice_number=number,
            code=failure.code,
            message=failure.message,
            fix=failure.fix,
            xero_messages=tuple(failure.xero_messages),
        )
        message.failure = alert
        try:
            service._alerts.sync_failed(event.account_id, alert, now=now)
        except SyncError:
            # The failure is recorded and the message goes to the DLQ with its reason; the email is
            # the only thing lost, and it is logged.
            logger.exception("could not send the sync-failed email", extra={"account_id": event.account_id})

    # --- 1. claims ---------------------------------------------------------------------------

    def _claim_invoices(self) -> list[_InvoiceWork]:
        newest: dict[str, Message] = {}
        for message in self.messages:
            event = message.event
            if not isinstance(event, InvoiceUpserted | InvoiceVoided | InvoiceDeleted):
                continue
            key = event.data.invoice_id
            other = newest.get(key)
            if other is None or _version(other) < event.data.version:
                if other is not None:
                    other.finish(DONE)  # superseded within this batch
                    self.tally.skipped += 1
                newest[key] = message
            else:
                message.finish(DONE)
                self.tally.skipped += 1
        work: list[_InvoiceWork] = []
        for message in newest.values():
            event = message.event
            assert isinstance(event, InvoiceUpserted | InvoiceVoided | InvoiceDeleted)
            claim = self.s._records.claim_invoice(self.account_id, event.data.invoice_id, event.data.version, self.now)
            if claim.kind == "older":
                self.s._records.note_skipped(self.account_id, event.data.invoice_id, event.data.version, self.now)
                self.tally.skipped += 1
                message.finish(DONE)
            elif claim.kind == "busy":
                message.finish(
                    Outcome("defer", "invoice_busy", "another invocation is pushing this invoice", BUSY_DELAY)
                )
            else:
                work.append(_InvoiceWork(message, event, claim))
        return work

    def _release_claims(self) -> None:
        """Claims of invoices that did not finish are given back, so a retry need not wait for them."""
        for message in self.messages:
            event = message.event
            outcome = message.outcome
            if outcome is None or outcome.kind in ("done", "dead"):
                continue
            try:
                if isinstance(event, InvoiceUpserted | InvoiceVoided | InvoiceDeleted):
                    if event.data.invoice_id in self._claimed:
                        self.s._records.release_invoice(self.account_id, event.data.invoice_id, event.data.version)
                elif isinstance(event, PaymentRecorded) and event.data.payment_id in self._claimed_payments:
                    self.s._records.release_payment(self.account_id, event.data.payment_id)
            except StorageError:
                logger.warning("could not release a claim; it will expire", extra={"account_id": self.account_id})

    # --- 2. contacts -------------------------------------------------------------------------

    def _contacts(self, work: list[_InvoiceWork]) -> None:
        self._claimed = {w.invoice_id for w in work}
        updates = self._newest_contact_updates()
        embedded = {
            w.event.data.contact.contact_id: w.event.data.contact for w in work if isinstance(w.event, InvoiceUpserted)
        }
        wanted = set(updates) | set(embedded)
        if not wanted:
            return
        records = self.s._records.contacts(self.account_id, sorted(wanted))
        for contact_id, (message, event) in list(updates.items()):
            if int(records.get(contact_id, {}).get("version", 0)) >= event.data.version:
                message.finish(DONE)
                self.tally.skipped += 1
                del updates[contact_id]
        snapshot: dict[str, Contact] = {**embedded, **{cid: ev.data for cid, (_, ev) in updates.items()}}
        known = {cid: str(r["xero_contact_id"]) for cid, r in records.items() if r.get("xero_contact_id")}
        known |= self._find_by_number(sorted(c for c in snapshot if c not in known))
        failures: dict[str, Rejected] = {}
        created = self._create_contacts([snapshot[c] for c in sorted(snapshot) if c not in known], failures)
        known |= created
        changed = [
            c
            for c in sorted(updates)
            if c in known
            and c not in created
            and records.get(c, {}).get("fingerprint") != _contact_fingerprint(snapshot[c])
        ]
        self._update_contacts([(known[c], snapshot[c]) for c in changed], failures)
        for contact_id, contact in snapshot.items():
            stored = records.get(contact_id, {})
            if contact_id in failures or contact_id not in known:
                continue
            if contact_id not in updates and stored.get("xero_contact_id") == known[contact_id]:
                continue  # known already; an invoice's copy of a contact does not count as an update
            self.s._records.save_contact(
                self.account_id,
                contact_id,
                {
                    "xero_contact_id": known[contact_id],
                    "fingerprint": _contact_fingerprint(contact),
                    "updated_at": self.now.isoformat(),
                },
                updates[contact_id][1].data.version if contact_id in updates else int(stored.get("version", 0)),
            )
        self.contact_ids = known
        self._settle_contacts(updates, work, failures)

    def _newest_contact_updates(self) -> dict[str, tuple[Message, ContactUpserted]]:
        updates: dict[str, tuple[Message, ContactUpserted]] = {}
        for message in self.messages:
            event = message.event
            if not isinstance(event, ContactUpserted):
                continue
            other = updates.get(event.data.contact_id)
            if other is not None and other[1].data.version >= event.data.version:
                message.finish(DONE)
                continue
            if other is not None:
                other[0].finish(DONE)
            updates[event.data.contact_id] = (message, event)
        return updates

    def _settle_contacts(
        self,
        updates: dict[str, tuple[Message, ContactUpserted]],
        work: list[_InvoiceWork],
        failures: dict[str, Rejected],
    ) -> None:
        for contact_id, (message, _) in updates.items():
            if contact_id in failures:
                self._fail(message, failures[contact_id])
            else:
                message.finish(DONE)
                self.tally.pushed += 1
        for w in work:
            needed = w.event.data.contact.contact_id if isinstance(w.event, InvoiceUpserted) else None
            if needed and needed in failures:
                failure = failures[needed]
                self._fail(
                    w.message,
                    Rejected(
                        "contact_refused",
                        f"Invoice {w.number} was not synced because Xero refused its contact: {failure.message}",
                        failure.fix,
                        failure.xero_messages,
                    ),
                )

    def _find_by_number(self, contact_ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in _chunks(contact_ids, LOOKUP_PER_CALL):
            where = " OR ".join(f'ContactNumber=="{c}"' for c in chunk)
            answer = self._session.get("Contacts", {"where": where, "summaryOnly": "true"})
            for contact in answer.get("Contacts", []):
                number = contact.get("ContactNumber")
                if number in chunk and contact.get("ContactStatus", "ACTIVE") == "ACTIVE":
                    found[str(number)] = str(contact["ContactID"])
        return found

    def _create_contacts(self, contacts: list[Contact], failures: dict[str, Rejected]) -> dict[str, str]:
        created: dict[str, str] = {}
        taken: list[Contact] = []
        for chunk in _chunks(contacts, PER_CALL):
            elements = [contact_element(c, xero_contact_id=None, name=c.name) for c in chunk]
            results = self._write_elements("PUT", "Contacts", elements, [f"contact:{c.contact_id}" for c in chunk])
            for contact, (result, messages) in zip(chunk, results, strict=True):
                if result is not None:
                    created[contact.contact_id] = str(result["ContactID"])
                elif any(NAME_TAKEN in m for m in messages):
                    taken.append(contact)
                else:
                    failures[contact.contact_id] = _refused("contact", contact.name, messages)
        if taken:
            created |= self._resolve_taken_names(taken, failures)
        return created

    def _resolve_taken_names(self, contacts: list[Contact], failures: dict[str, Rejected]) -> dict[str, str]:
        """Xero already has a contact by this name: adopt it if nothing else claims it, else name ours apart."""
        adopted: list[tuple[str, Contact]] = []
        renamed: list[Contact] = []
        for contact in contacts:
            existing = None
            if '"' not in contact.name:
                answer = self._session.get("Contacts", {"where": f'Name=="{contact.name}"'})
                existing = next(iter(answer.get("Contacts", [])), None)
            if existing is not None and not existing.get("ContactNumber"):
                adopted.append((str(existing["ContactID"]), contact))
            else:
                renamed.append(contact)
        ids = dict(self._update_contacts(adopted, failures))
        for chunk in _chunks(renamed, PER_CALL):
            elements = [contact_element(c, xero_contact_id=None, name=_distinct_name(c)) for c in chunk]
            results = self._write_elements("PUT", "Contacts", elements, [f"contact:{c.contact_id}:n" for c in chunk])
            for contact, (result, messages) in zip(chunk, results, strict=True):
                if result is not None:
                    ids[contact.contact_id] = str(result["ContactID"])
                else:
                    failures[contact.contact_id] = _refused("contact", contact.name, messages)
        return ids

    def _update_contacts(self, pairs: list[tuple[str, Contact]], failures: dict[str, Rejected]) -> dict[str, str]:
        done: dict[str, str] = {}
        retry: list[tuple[str, Contact]] = []
        for chunk in _chunks(pairs, PER_CALL):
            elements = [contact_element(c, xero_contact_id=xid, name=c.name) for xid, c in chunk]
            results = self._write_elements("POST", "Contacts", elements, [f"contact:{c.contact_id}" for _, c in chunk])
            for (xid, contact), (result, messages) in zip(chunk, results, strict=True):
                if result is not None:
                    done[contact.contact_id] = xid
                elif any(NAME_TAKEN in m for m in messages):
                    retry.append((xid, contact))
                else:
                    failures[contact.contact_id] = _refused("contact", contact.name, messages)
        for chunk in _chunks(retry, PER_CALL):
            elements = [contact_element(c, xero_contact_id=xid, name=_distinct_name(c)) for xid, c in chunk]
            results = self._write_elements(
                "POST", "Contacts", elements, [f"contact:{c.contact_id}:n" for _, c in chunk]
            )
            for (xid, contact), (result, messages) in zip(chunk, results, strict=True):
                if result is not None:
                    done[contact.contact_id] = xid
                else:
                    failures[contact.contact_id] = _refused("contact", contact.name, messages)
        return done

    # --- 3. invoices -------------------------------------------------------------------------

    def _push_invoices(self, work: list[_InvoiceWork]) -> None:
        live = [w for w in work if w.message.outcome is None]
        self._adopt_uncertain([w for w in live if w.claim.uncertain and not w.claim.xero_id and w.number])
        rates = self.s.tax_rates(self._session, _tax_types(live, self.settings))
        creates: list[_InvoiceWork] = []
        changes: list[_InvoiceWork] = []
        for w in live:
            try:
                if self._prepare(w, rates):
                    (changes if w.claim.xero_id else creates).append(w)
            except Rejected as failure:
                self._fail(w.message, failure)
        self._send_invoices("PUT", creates)
        self._send_invoices("POST", changes)

    def _prepare(self, w: _InvoiceWork, rates: dict[str, Decimal]) -> bool:
        """Build what to send; False when Xero already says what this version says."""
        current = w.claim.record.get("xero_status")
        current = str(current) if current else None
        if not isinstance(w.event, InvoiceUpserted):
            w.status = _removal_status(w, current)
            if w.status is None:
                self._complete(w, {})
                return False
            assert w.claim.xero_id is not None
            w.element = status_element(w.claim.xero_id, w.status)
            return True
        invoice = w.event.data
        status = target_status(invoice, current)
        if status is None:
            self._complete(w, {})
            return False
        contact_id = self.contact_ids.get(invoice.contact.contact_id)
        if contact_id is None:
            raise Rejected(
                "contact_missing",
                f"Invoice {invoice.number} was not synced: its contact could not be found or created in Xero.",
                "Check the contact on the platform, then retry the invoice.",
            )
        element = invoice_element(
            invoice,
            settings=self.settings,
            tax_rates=rates,
            xero_contact_id=contact_id,
            xero_invoice_id=w.claim.xero_id,
            status=status,
        )
        w.contact_id, w.status, w.fingerprint = contact_id, status, content_fingerprint(element)
        if w.claim.xero_id and w.claim.record.get("fingerprint") == w.fingerprint and current == status:
            self._complete(w, {})
            return False
        if w.claim.xero_id and w.claim.record.get("fingerprint") == w.fingerprint:
            element = status_element(w.claim.xero_id, status)
        w.element = element
        return True

    def _send_invoices(self, method: Literal["PUT", "POST"], items: list[_InvoiceWork]) -> None:
        duplicates: list[_InvoiceWork] = []
        for chunk in _chunks(items, PER_CALL):
            elements = [w.element or {} for w in chunk]
            identities = [f"invoice:{w.invoice_id}@{w.version}" for w in chunk]
            results = self._write_elements(method, "Invoices", elements, identities, INVOICE_PARAMS)
            for w, (result, messages) in zip(chunk, results, strict=True):
                if result is not None:
                    self._complete(w, result)
                elif method == "PUT" and any(NUMBER_TAKEN in m for m in messages):
                    duplicates.append(w)
                else:
                    self._fail(w.message, _refused("invoice", w.number or w.invoice_id, messages))
        if duplicates:
            self._adopt_numbered(duplicates)

    def _adopt_uncertain(self, items: list[_InvoiceWork]) -> None:
        """An earlier attempt may have created these: look for them in Xero by number first."""
        found = self._by_number([w.number for w in items if w.number])
        for w in items:
            invoice = found.get(w.number or "")
            if invoice is not None and _ours(invoice, self.contact_ids, w):
                record = {
                    **w.claim.record,
                    "xero_invoice_id": invoice["InvoiceID"],
                    "xero_status": invoice.get("Status"),
                }
                w.claim = replace(w.claim, record=record)

    def _adopt_numbered(self, items: list[_InvoiceWork]) -> None:
        """Xero already has these numbers: ours (an earlier attempt committed) are updated, others refused."""
        found = self._by_number([w.number for w in items if w.number])
        again: list[_InvoiceWork] = []
        for w in items:
            invoice = found.get(w.number or "")
            if invoice is None or not _ours(invoice, self.contact_ids, w):
                self._fail(
                    w.message,
                    Rejected(
                        "duplicate_invoice_number",
                        f"Invoice number {w.number} is already used by another invoice in Xero.",
                        "Give the invoice a number that is not in use in Xero, or remove the other invoice in Xero.",
                        [f"Invoice # must be unique ({w.number})"],
                    ),
                )
                continue
            xero_id, status = str(invoice["InvoiceID"]), str(invoice.get("Status", ""))
            w.claim = replace(w.claim, record={**w.claim.record, "xero_invoice_id": xero_id, "xero_status": status})
            assert isinstance(w.event, InvoiceUpserted)
            assert w.element is not None
            try:
                target = target_status(w.event.data, status)
            except Rejected as failure:
                self._fail(w.message, failure)
                continue
            w.element = {**w.element, "InvoiceID": xero_id, "Status": target}
            again.append(w)
        self._send_invoices("POST", again)

    def _by_number(self, numbers: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(sorted(set(numbers)), LOOKUP_PER_CALL):
            answer = self._session.get("Invoices", {"InvoiceNumbers": ",".join(chunk)})
            for invoice in answer.get("Invoices", []):
                if invoice.get("Type") == "ACCREC" and invoice.get("Status") not in ("DELETED", "VOIDED"):
                    found[str(invoice.get("InvoiceNumber"))] = invoice
        return found

    def _complete(self, w: _InvoiceWork, result: dict[str, Any]) -> None:
        xero_id = result.get("InvoiceID") or w.claim.xero_id
        values: dict[str, Any] = {
            "number": w.number or w.claim.record.get("number"),
            "xero_invoice_id": xero_id,
            "xero_status": result.get("Status") or w.status or w.claim.record.get("xero_status"),
            "xero_contact_id": w.contact_id or w.claim.record.get("xero_contact_id"),
            "fingerprint": w.fingerprint or w.claim.record.get("fingerprint"),
            "total": result.get("Total"),
            "amount_due": result.get("AmountDue"),
            "last_event": w.message.body,
            "last_pushed_at": self.now.isoformat(),
            "updated_at": self.now.isoformat(),
        }
        self.s._records.complete_invoice(self.account_id, w.invoice_id, w.version, values)
        self.invoices[w.invoice_id] = {**w.claim.record, **values}
        w.message.finish(DONE)
        self.tally.pushed += 1
        logger.debug(
            "invoice synced",
            extra={"account_id": self.account_id, "invoice_id": w.invoice_id, "version": w.version, "xero_id": xero_id},
        )

    # --- 4. payments -------------------------------------------------------------------------

    def _payments(self) -> None:
        payments = [m for m in self.messages if isinstance(m.event, PaymentRecorded) and m.outcome is None]
        if not payments:
            return
        invoice_ids = [m.event.data.invoice_id for m in payments if isinstance(m.event, PaymentRecorded)]
        missing = [i for i in invoice_ids if i not in self.invoices]
        known = {**self.s._records.invoices(self.account_id, missing), **self.invoices} if missing else self.invoices
        ready: list[tuple[Message, PaymentRecorded, dict[str, Any]]] = []
        for message in payments:
            event = message.event
            assert isinstance(event, PaymentRecorded)
            invoice = known.get(event.data.invoice_id) or {}
            if not self._payable(message, event, invoice):
                continue
            claim = self.s._records.claim_payment(
                self.account_id, event.data.payment_id, event.data.invoice_id, self.now
            )
            if claim.kind == "older":
                message.finish(DONE)
                self.tally.skipped += 1
                continue
            if claim.kind == "busy":
                message.finish(
                    Outcome("defer", "payment_busy", "another invocation is pushing this payment", BUSY_DELAY)
                )
                continue
            self._claimed_payments.add(event.data.payment_id)
            if claim.uncertain and self._adopt_payment(event, invoice):
                message.finish(DONE)
                continue
            try:
                element = payment_element(
                    event.data, xero_invoice_id=str(invoice["xero_invoice_id"]), account=self.settings.payment_account
                )
            except Rejected as failure:
                self._fail(message, failure)
                continue
            ready.append((message, event, element))
        for chunk in _chunks(ready, PER_CALL):
            identities = [f"payment:{e.data.payment_id}" for _, e, _ in chunk]
            results = self._write_elements("PUT", "Payments", [el for _, _, el in chunk], identities, ELEMENT_PARAMS)
            for (message, event, _), (result, messages) in zip(chunk, results, strict=True):
                if result is not None:
                    self._payment_done(event, str(result["PaymentID"]))
                    message.finish(DONE)
                    self.tally.pushed += 1
                else:
                    self._fail(message, _refused("payment", f"of invoice {event.data.invoice_id}", messages))

    def _payable(self, message: Message, event: PaymentRecorded, invoice: dict[str, Any]) -> bool:
        """Whether the payment can go now; if not, the message's outcome says what happens to it."""
        status = invoice.get("xero_status")
        payment = event.data.payment_id
        if invoice.get("xero_invoice_id") and status in ("AUTHORISED", "PAID"):
            return True
        if status in ("VOIDED", "DELETED"):
            self._fail(
                message,
                Rejected(
                    "invoice_voided",
                    f"Payment {payment} was not synced: its invoice is {status} in Xero.",
                    "Record the payment against the invoice that replaced it.",
                ),
            )
        elif invoice.get("state") == "failed" and not invoice.get("xero_invoice_id"):
            self._fail(
                message,
                Rejected(
                    "invoice_not_synced",
                    f"Payment {payment} was not synced because its invoice could not be: "
                    f"{invoice.get('error_message', 'see the invoice')}",
                    "Fix the invoice and retry it: its payments are retried with it.",
                ),
            )
        elif invoice.get("xero_invoice_id"):
            # A draft in Xero: the platform's "sent" may still be on its way.
            message.finish(Outcome("retry", "invoice_not_approved", "its invoice is still a draft in Xero", 60))
        elif invoice.get("pending_version"):
            # The invoice is being pushed, or waits for a retry: wait without spending a receive.
            message.finish(Outcome("defer", "invoice_pending", "its invoice is on its way to Xero", 60))
        else:
            # No event for the invoice yet (events arrive in any order): wait for it, boundedly.
            message.finish(Outcome("retry", "invoice_not_synced", "its invoice has not reached Xero yet", 60))
        return False

    def _adopt_payment(self, event: PaymentRecorded, invoice: dict[str, Any]) -> bool:
        """After an unanswered attempt: is the payment already in Xero? Then record it, do not send it again."""
        where = f'Invoice.InvoiceID==guid("{invoice["xero_invoice_id"]}")'
        answer = self._session.get("Payments", {"where": where})
        for payment in answer.get("Payments", []):
            if (
                payment.get("Status") != "DELETED"
                and Decimal(str(payment.get("Amount", 0))) == event.data.amount
                and (payment.get("Reference") or None) == event.data.reference
            ):
                self._payment_done(event, str(payment["PaymentID"]))
                self.tally.pushed += 1
                return True
        return False

    def _payment_done(self, event: PaymentRecorded, xero_payment_id: str) -> None:
        self.s._records.complete_payment(
            self.account_id,
            event.data.payment_id,
            {
                "xero_payment_id": xero_payment_id,
                "amount": str(event.data.amount),
                "updated_at": self.now.isoformat(),
            },
        )
        self._claimed_payments.discard(event.data.payment_id)

    # --- calls -------------------------------------------------------------------------------

    @property
    def _session(self) -> XeroSession:
        assert self.session is not None
        return self.session

    def _write_elements(
        self,
        method: Literal["PUT", "POST"],
        resource: str,
        elements: list[dict[str, Any]],
        identities: list[str],
        params: dict[str, str] = ELEMENT_PARAMS,
    ) -> list[tuple[dict[str, Any] | None, list[str]]]:
        """Send a batch; per element, Xero's answer or its validation messages."""
        if not elements:
            return []
        try:
            answer = self._session.write(method, resource, {resource: elements}, identities=identities, params=params)
        except XeroValidationError as exc:
            if len(elements) == 1:
                return [(None, exc.messages or [str(exc)])]
            # The whole request was refused: send each element alone so only the bad one fails.
            return [
                result
                for element, identity in zip(elements, identities, strict=True)
                for result in self._write_elements(method, resource, [element], [identity], params)
            ]
        returned = answer.get(resource, [])
        if len(returned) != len(elements):
            raise XeroUnavailable(f"Xero answered {len(returned)} {resource} for {len(elements)} sent", 200)
        results: list[tuple[dict[str, Any] | None, list[str]]] = []
        for element in returned:
            messages = [str(e.get("Message", "")) for e in element.get("ValidationErrors", []) if isinstance(e, dict)]
            failed = messages or element.get("StatusAttributeString") == "ERROR" or element.get("HasErrors")
            results.append((None, messages or ["Xero refused it without a message"]) if failed else (element, []))
        return results


# --- helpers -----------------------------------------------------------------------------------


def _version(message: Message) -> int:
    event = message.event
    return event.data.version if isinstance(event, InvoiceUpserted | InvoiceVoided | InvoiceDeleted) else 0


def _tax_types(work: list[_InvoiceWork], settings: AccountSettings) -> set[str]:
    types: set[str] = set()
    for w in work:
        if not isinstance(w.event, InvoiceUpserted) or w.event.data.amounts_are == AmountsAre.NO_TAX:
            continue
        for line in w.event.data.line_items:
            mapping = settings.tax_mappings.get(line.tax_id) if line.tax_id else None
            tax_type = mapping.tax_type if mapping else (None if line.tax_id else settings.default_tax_type)
            if tax_type:
                types.add(tax_type)
    return types


def _removal_status(w: _InvoiceWork, current: str | None) -> str | None:
    """Void or delete: DELETED for a draft, VOIDED for an approved invoice, nothing if it never reached Xero."""
    if current is None or current in ("VOIDED", "DELETED") or not w.claim.xero_id:
        return None
    if current in ("DRAFT", "SUBMITTED"):
        return "DELETED"
    if current == "PAID":
        raise Rejected(
            "invoice_paid",
            f"Invoice {w.number or w.invoice_id} is paid in Xero, and Xero does not void a paid invoice.",
            "Remove the payment from the invoice in Xero first, then retry.",
        )
    return "VOIDED"


def _ours(invoice: dict[str, Any], contact_ids: dict[str, str], w: _InvoiceWork) -> bool:
    if not isinstance(w.event, InvoiceUpserted):
        return False
    expected = contact_ids.get(w.event.data.contact.contact_id)
    return bool(expected) and invoice.get("Contact", {}).get("ContactID") == expected


def _refused(kind: str, name: str, messages: list[str]) -> Rejected:
    shown = "; ".join(messages)
    return Rejected(
        "xero_validation",
        f"Xero refused {kind} {name}: {shown}",
        "Correct what Xero names on the platform (or in Xero's settings), then retry.",
        messages,
    )


def _distinct_name(contact: Contact) -> str:
    suffix = f" ({contact.contact_id})"
    return contact.name[: 255 - len(suffix)] + suffix


def _contact_fingerprint(contact: Contact) -> str:
    return content_fingerprint(contact_element(contact, xero_contact_id=None, name=contact.name))


def _chunks(items: Iterable[T], size: int) -> list[list[T]]:
    listed = list(items)
    return [listed[i : i + size] for i in range(0, len(listed), size)]


def _describe(exc: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
        for e in exc.errors(include_url=False, include_input=False)
    ]
    return "the event is not valid: " + "; ".join(problems[:10])


def message_from_record(record: dict[str, Any]) -> Message:
    """An SQS Lambda record as a :class:`Message`."""
    attributes = record.get("attributes") or {}
    deferrals = (record.get("messageAttributes") or {}).get("deferrals") or {}
    try:
        receive_count = int(attributes.get("ApproximateReceiveCount", 1))
        deferred = int(deferrals.get("stringValue") or 0)
    except (TypeError, ValueError):
        receive_count, deferred = 1, 0
    return Message(
        message_id=str(record.get("messageId", "")),
        receipt_handle=str(record.get("receiptHandle", "")),
        body=str(record.get("body", "")),
        receive_count=receive_count,
        deferrals=deferred,
    )
