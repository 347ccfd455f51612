"""What every stage of the push works with: the outside parts (built once per container) and one
account's share of a batch."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from shared.adapters.outbox import InFlight
from shared.domain.push.model import SKIPPED, SYNCED, Fate, Message, Outcome, Tally
from shared.domain.push.outcomes import record_failure

if TYPE_CHECKING:
    from shared.adapters.backfill_progress import BackfillProgress
    from shared.adapters.budget import CallBudget
    from shared.adapters.connections import ConnectionRepository
    from shared.adapters.flush_tickets import FlushTickets
    from shared.adapters.org_registry import OrganisationRegistry
    from shared.adapters.outbox import Outbox
    from shared.adapters.queue import InvoiceQueue
    from shared.adapters.settings import SettingsRepository
    from shared.adapters.status_events import StatusEvents
    from shared.adapters.sync_records import SyncRecords
    from shared.adapters.xero import XeroClient
    from shared.domain.push.ledger import Ledger
    from shared.domain.queued_alerts import QueuedAlerts
    from shared.domain.tokens import TokenManager
    from shared.domain.xero_session import XeroSession
    from shared.errors import Rejected
    from shared.models.connection import Connection
    from shared.models.settings import AccountSettings

TAX_RATE_CACHE_SECONDS = 600


@dataclass
class PushParts:
    """The push's collaborators; tests and benchmarks build their own."""

    connections: ConnectionRepository
    settings: SettingsRepository
    records: SyncRecords
    registry: OrganisationRegistry
    tokens: TokenManager
    xero: XeroClient
    budget: CallBudget
    queue: InvoiceQueue
    alerts: QueuedAlerts
    max_receives: int = 8
    invoice_url: str = ""  # the platform's invoice page, with {invoice_id}; sent as the invoice's Url
    status_events: StatusEvents | None = None  # the platform's sync-status bus
    outbox: Outbox | None = None
    tickets: FlushTickets | None = None
    coalesce_seconds: float = 20.0  # how long a flush waits for more events to fill a batch
    progress: BackfillProgress | None = None  # each account's backfill counts
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    tax_rates: dict[str, tuple[float, dict[str, Decimal]]] = field(default_factory=dict)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)


@dataclass
class AccountRun:
    """One account's events of an organisation's flush, and what the stages learn about them."""

    parts: PushParts
    account_id: str
    messages: list[Message]
    seconds_left: Callable[[], float]
    tally: Tally
    now: datetime
    tenant_id: str
    ledger: Ledger
    in_flight: InFlight = field(default_factory=InFlight)  # what an earlier flush sent, unrecorded
    sent: InFlight = field(default_factory=InFlight)  # what this flush sends
    connection: Connection | None = None
    settings: AccountSettings | None = None
    session: XeroSession | None = None
    contact_ids: dict[str, str] = field(default_factory=dict)  # platform contact id → Xero ContactID
    backfill: bool = False  # the account's history (the backfill lane): spends only above the live reserve
    noting: InFlight = field(default_factory=InFlight)  # what the latest note added (its write may not go)
    noting_calls: int = 0  # the session's calls when it was noted

    @property
    def xero(self) -> XeroSession:
        assert self.session is not None
        return self.session

    @property
    def account_settings(self) -> AccountSettings:
        assert self.settings is not None
        return self.settings

    def live(self) -> list[Message]:
        return [m for m in self.messages if m.outcome is None]

    def finish_rest(self, outcome: Outcome) -> None:
        for message in self.messages:
            message.finish(outcome)

    def done(self, message: Message) -> None:
        message.finish(SYNCED)

    def skip(self, message: Message) -> None:
        message.finish(SKIPPED)

    def fail(self, message: Message, failure: Rejected) -> None:
        """A permanent refusal: failed record, one email, and the dead-letter queue with the reason."""
        if message.outcome is not None:
            return
        if message.event is not None:
            record_failure(self.parts, message.event, message, failure, self.ledger)
        message.finish(Outcome(Fate.FAILED, failure.code, failure.message))

    def sending(self, *, invoices: dict[str, str | None] | None = None, payments: list[str] | None = None) -> None:
        """Before a write to Xero: note what it carries, so a crash before the answer is recorded leaves
        the next flush knowing where to look."""
        new = InFlight({i: {n} if n else set() for i, n in (invoices or {}).items()}, set(payments or ()))
        note = InFlight()
        note.add(self.in_flight)
        note.add(self.sent)
        self.noting = new.without(set(note.invoices), note.payments)  # what this write carries first
        self.noting_calls = self.xero.counts.calls
        self.sent.add(new)
        note.add(new)
        if self.parts.outbox is not None:
            self.parts.outbox.note_in_flight(self.tenant_id, self.account_id, note)
