"""The push: one SQS batch of platform events → Xero, grouped by account, batched per call.

A pipeline of stages, one module each:

| stage      | module                                  | does                                                      |
| ---------- | --------------------------------------- | --------------------------------------------------------- |
| receive    | :mod:`shared.domain.push.receive`       | parse, refuse the malformed and the oversized             |
| claim      | :mod:`shared.domain.push.claims`        | the newest version of each invoice, one invocation at a time |
| invoices ¹ | :mod:`shared.domain.push.invoices`      | check money, mappings and numbers before any write        |
| contacts   | :mod:`shared.domain.push.contacts`      | every contact the invoices need, and contact updates      |
| invoices ² | :mod:`shared.domain.push.invoices`      | create, change, void, delete, 50 a call                   |
| payments   | :mod:`shared.domain.push.payments`      | payments once their invoice is approved                   |
| outcomes   | :mod:`shared.domain.push.outcomes`      | each message's fate carried out, failures told            |

:mod:`shared.domain.push.account` runs one account's share through the stages;
:mod:`shared.domain.push.model` holds the vocabulary (every message ends with one :class:`Fate`).
"""

from __future__ import annotations

from collections.abc import Callable

from shared.domain.push.account import run_account
from shared.domain.push.context import AccountRun, PushParts
from shared.domain.push.model import Fate, Message, Outcome, Tally
from shared.domain.push.outcomes import settle
from shared.domain.push.receive import message_from_record, receive

# Below this, an invocation starts no new account: what it began must still have time to finish.
TIME_MARGIN_SECONDS = 45


class PushService:
    def __init__(self, parts: PushParts) -> None:
        self.parts = parts

    def process(self, messages: list[Message], seconds_left: Callable[[], float]) -> Tally:
        """Give every message its fate, then carry it out; returns the tally."""
        tally = Tally()
        for account_id, group in receive(self.parts, messages).items():
            if seconds_left() < TIME_MARGIN_SECONDS:
                for message in group:
                    message.finish(Outcome(Fate.DEFERRED, "out_of_time", "the invocation ran out of time", 5))
                continue
            run = AccountRun(self.parts, account_id, group, seconds_left, tally, self.parts.now())
            run_account(run)
        settle(self.parts, messages, tally)
        return tally


__all__ = ["Fate", "Message", "Outcome", "PushParts", "PushService", "Tally", "message_from_record"]
