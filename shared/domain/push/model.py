"""The push's vocabulary: a message, the fate it meets, and what a batch did.

Every message ends with exactly one :class:`Fate`. The same words name the EMF metrics
(``Events<Fate>``), the ``batch done`` log line and the README's table:

| fate       | when                                                        | what happens to the message           |
| ---------- | ----------------------------------------------------------- | ------------------------------------- |
| queued     | the intake put it in its organisation's outbox              | deleted from the platform's queue     |
| synced     | Xero holds what the event says (or needed nothing sent)     | deleted from the queue                |
| skipped    | older than what was pushed, or superseded in the same batch | deleted; counted on the sync record   |
| deferred   | Xero's rate limit, or another invocation on the same item   | sent again later; no receive spent    |
| retried    | Xero down, offline or timing out; storage hiccups           | handed back to SQS after a backoff    |
| parked     | the account cannot sync until its owner acts                | held in the table, released later     |
| failed     | malformed, refused by the rules or by Xero                  | dead-lettered with its reason, one email |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.adapters.sync_records import Claim
    from shared.domain.mapping import PreparedInvoice
    from shared.models.alerts import SyncFailure
    from shared.models.events import Event, InvoiceEvent
    from shared.models.records import InvoiceRecord


class Fate(StrEnum):
    QUEUED = "queued"
    SYNCED = "synced"
    SKIPPED = "skipped"
    DEFERRED = "deferred"
    RETRIED = "retried"
    PARKED = "parked"
    FAILED = "failed"

    @property
    def metric(self) -> str:
        return f"Events{self.value.capitalize()}"

    @property
    def settled(self) -> bool:
        """Nothing more will be done for this event (its claim, if any, is finished)."""
        return self in (Fate.SYNCED, Fate.SKIPPED, Fate.FAILED)


@dataclass(frozen=True)
class Outcome:
    fate: Fate
    code: str = "synced"
    reason: str = ""
    delay: int = 0


SYNCED = Outcome(Fate.SYNCED)
SKIPPED = Outcome(Fate.SKIPPED, "older_version", "a newer version was pushed already")


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
    subject_account: str | None = None  # the account a malformed body still names
    synced: InvoiceRecord | None = None  # the invoice's record as this message left it in Xero
    key: str = ""  # its outbox item's key (an event being flushed)
    queued_at: float = 0.0  # when it reached its organisation's outbox
    published_ms: int = 0  # when the platform sent it (SQS's SentTimestamp)

    @property
    def account_id(self) -> str | None:
        return self.event.account_id if self.event else self.subject_account

    def finish(self, outcome: Outcome) -> None:
        """The first outcome decided for a message is the one it keeps."""
        if self.outcome is None:
            self.outcome = outcome


def subject_of(message: Message) -> str:
    """What a message's event is about: its versions and its duplicate deliveries share it, so a batch
    is counted in what it writes to Xero, not in messages."""
    event = message.event
    if event is None:
        return message.message_id
    data = event.data
    for kind, field_name in (
        ("payment", "payment_id"),
        ("refund", "refund_id"),
        ("invoice", "invoice_id"),
        ("credit_note", "credit_note_id"),
        ("contact", "contact_id"),
    ):
        value = getattr(data, field_name, None)
        if value is not None:
            return f"{event.account_id}/{kind}/{value}"
    return f"{event.account_id}/event/{event.event_id}"


@dataclass
class Tally:
    """What one batch did, for the log line, the metrics and the benchmarks."""

    fates: dict[Fate, int] = field(default_factory=lambda: dict.fromkeys(Fate, 0))
    xero_calls: int = 0
    rate_limited: int = 0
    by_resource: dict[str, int] = field(default_factory=dict)

    def count(self, fate: Fate) -> None:
        self.fates[fate] += 1

    def of(self, fate: Fate) -> int:
        return self.fates[fate]

    def add_calls(self, calls: int, rate_limited: int, by_resource: dict[str, int]) -> None:
        self.xero_calls += calls
        self.rate_limited += rate_limited
        for name, count in by_resource.items():
            self.by_resource[name] = self.by_resource.get(name, 0) + count

    def merge(self, other: Tally) -> None:
        for fate, count in other.fates.items():
            self.fates[fate] += count
        self.add_calls(other.xero_calls, other.rate_limited, other.by_resource)

    def summary(self) -> dict[str, int]:
        return {**{fate.value: n for fate, n in self.fates.items()}, "xero_calls": self.xero_calls}


@dataclass
class InvoiceWork:
    """One claimed invoice version on its way through the stages."""

    message: Message
    event: InvoiceEvent
    claim: Claim[InvoiceRecord]
    prepared: PreparedInvoice | None = None
    contact_id: str | None = None
    element: dict[str, Any] | None = None
    fingerprint: str | None = None
    status: str | None = None
    adopted: str | None = None  # a history invoice matched in Xero by its number (ADOPTED_UPDATED)

    @property
    def record(self) -> InvoiceRecord:
        return self.claim.record

    @property
    def invoice_id(self) -> str:
        return self.event.data.invoice_id

    @property
    def version(self) -> int:
        return self.event.data.version

    @property
    def number(self) -> str | None:
        return self.event.data.number

    @property
    def live(self) -> bool:
        return self.message.outcome is None
