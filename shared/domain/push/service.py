"""The push service: one organisation's waiting events, account by account, through the stages
(see :mod:`shared.domain.push`)."""

from __future__ import annotations

from collections.abc import Callable

from shared.adapters.outbox import InFlight
from shared.domain.push.account import run_account
from shared.domain.push.context import AccountRun, PushParts
from shared.domain.push.ledger import Ledger
from shared.domain.push.model import Fate, Message, Outcome, Tally
from shared.domain.push.outcomes import EventSource, settle
from shared.domain.push.receive import receive

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
        backfill: bool = False,
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
                backfill=backfill,
            )
            run_account(run)
        settle(self.parts, messages, tally, source)
        return tally
