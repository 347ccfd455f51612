"""The push: an organisation's waiting events → Xero, batched per call, one account at a time.

The platform's events reach the push through two steps: the intake (:mod:`shared.domain.intake`)
puts each in its organisation's outbox and sends the organisation a flush ticket; the push
(:mod:`shared.domain.push.flush`) works one organisation's outbox at a time, full batches of 50 a
call whatever else the platform's queue carries. Each flush runs a pipeline of stages, one module each:

| stage      | module                                  | does                                                      |
| ---------- | --------------------------------------- | --------------------------------------------------------- |
| receive    | :mod:`shared.domain.push.receive`       | parse, refuse the malformed and the oversized             |
| claim      | :mod:`shared.domain.push.claims`        | the newest version of each invoice, against its record    |
| invoices ¹ | :mod:`shared.domain.push.invoices`      | check money, mappings and numbers before any write        |
| contacts   | :mod:`shared.domain.push.contacts`      | every contact the invoices need, and contact updates      |
| invoices ² | :mod:`shared.domain.push.invoices`      | create, change, void, delete, 50 a call                   |
| payments   | :mod:`shared.domain.push.payments`      | payments once their invoice is approved                   |
| outcomes   | :mod:`shared.domain.push.outcomes`      | each event's fate carried out, failures told              |

:mod:`shared.domain.push.account` runs one account's share through the stages, its records kept on a
:class:`~shared.domain.push.ledger.Ledger` written once at the end;
:mod:`shared.domain.push.model` holds the vocabulary (every event ends with one :class:`Fate`).
"""

from __future__ import annotations

from collections.abc import Callable

from shared.adapters.outbox import InFlight
from shared.domain.push.account import run_account
from shared.domain.push.context import AccountRun, PushParts
from shared.domain.push.ledger import Ledger
from shared.domain.push.model import Fate, Message, Outcome, Tally
from shared.domain.push.outcomes import EventSource, settle
from shared.domain.push.receive import message_from_record, receive

# Below this, a flush starts no new account: what it began must still have time to finish.
TIME_MARGIN_SECONDS = 45


class PushService:
    def __init__(self, parts: PushParts) -> None:
        self.parts = parts

    def process(
        self,
        messages: list[Message],
        seconds_left: Callable[[], float],
        *,
        tenant_id: str,
        source: EventSource,
        in_flight: dict[str, InFlight] | None = None,
    ) -> Tally:
        """Give every event of one organisation its fate, then carry it out; returns the tally."""
        tally = Tally()
        for account_id, group in receive(self.parts, messages).items():
            if seconds_left() < TIME_MARGIN_SECONDS:
                for message in group:
                    message.finish(Outcome(Fate.DEFERRED, "out_of_time", "the invocation ran out of time", 1))
                continue
            run = AccountRun(
                self.parts,
                account_id,
                group,
                seconds_left,
                tally,
                self.parts.now(),
                tenant_id,
                Ledger(self.parts.records, account_id, tenant_id),
                (in_flight or {}).get(account_id, InFlight()),
            )
            run_account(run)
        settle(self.parts, messages, tally, source)
        return tally


__all__ = ["Fate", "Message", "Outcome", "PushParts", "PushService", "Tally", "message_from_record"]
