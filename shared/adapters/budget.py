"""Each Xero organisation's call budget, shared by every invocation through one DynamoDB item.

Xero allows an app, per organisation, 60 calls in a fixed minute window, 5 at once, and a day limit
by the organisation's tier (1,000 calls on the free Starter tier since 2 March 2026, 5,000
otherwise). Every invocation takes a token before each call from a bucket that refills at
``per_minute`` a minute and holds at most ``burst`` tokens, so no 60-second window, fixed or rolling,
sees more than ``per_minute + burst`` calls whatever the number of concurrent invocations. A day
counter stops short of ``per_day`` (the deployment's tier), and what Xero says after each call rules
over both (:meth:`observe`): a spent minute blocks the organisation until its window ends, a day
limit nearly spent blocks it for an hour at a time (probing with one call within the reserve), and
a 429 blocks it until Xero's ``Retry-After``.

A backfill (an account's history, :mod:`shared.domain.backfill`) asks with ``backfill=True`` and
spends only the day's calls above :attr:`CallBudget.live_reserve`, a share of the day
(:data:`LIVE_SHARE`) kept for live events: once the day's count reaches it, or Xero's
``X-DayLimit-Remaining`` says as much, the backfill is told to wait (until the next day, or an hour
for Xero's own count), and live calls go on.

The item is ``TENANT#<tenant id>`` / ``BUDGET``, updated with optimistic locking on its ``at``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.dynamo import from_item, is_conditional_failure, to_attr, to_item
from shared.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ATTEMPTS = 8
EPSILON = 1e-4
MIN_WAIT = 0.05
XERO_MINUTE_LIMIT = 60
MINUTE_WINDOW = 60.0
# Calls of a day kept for the management API and the sweep once the push has used the rest.
DAY_RESERVE = 25
DAY_PROBE_SECONDS = 3600.0
# The share of the push's daily calls a backfill leaves for live events, whatever the hour.
LIVE_SHARE = 0.2


@dataclass(frozen=True)
class BudgetState:
    per_minute: float  # calls a minute the push keeps to
    per_day: int  # calls a day the push may use
    day_left: int  # of today's
    blocked_for: float  # seconds before any call may go (Xero said so)
    live_reserve: int = 0  # of each day's calls, never spent on a backfill
    backfill_hold: float = 0.0  # seconds before a backfill may spend a call


class CallBudget:
    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        per_minute: int = 55,
        burst: int = 3,
        per_day: int = 4900,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table_name
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._per_day = per_day
        self._clock = clock
        self.live_reserve = math.ceil(per_day * LIVE_SHARE)

    def take(self, tenant_id: str, *, backfill: bool = False) -> float:
        """Take one call from the budget: 0 when granted, else the seconds to wait before asking again.
        A ``backfill`` call is granted only above the day's :attr:`live_reserve`."""
        for _ in range(ATTEMPTS):
            now = self._clock()
            item = self._read(tenant_id)
            wait = self._wait(item, now)
            if backfill and wait <= 0:
                wait = self._backfill_hold(item, now)
            if wait > 0:
                return wait
            if self._write(tenant_id, item, now):
                return 0.0
        return 1.0 / self._rate  # heavy contention: back off for about one token's time

    def block(self, tenant_id: str, seconds: float) -> None:
        """No calls to this organisation for ``seconds`` (Xero said so), for every invocation."""
        until = self._clock() + max(seconds, 1.0)
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(tenant_id),
                UpdateExpression="SET blocked_until = :until, tokens = :zero",
                ConditionExpression="attribute_not_exists(blocked_until) OR blocked_until < :until",
                ExpressionAttributeValues={":until": to_attr(until), ":zero": to_attr(0)},
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise StorageError(f"could not record the rate limit of organisation {tenant_id}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not record the rate limit of organisation {tenant_id}") from exc

    def blocked_for(self, tenant_id: str) -> float:
        """How long no call may go to this organisation (Xero's 429, its spent minute or day): 0 if none."""
        now = self._clock()
        return self._blocked(self._read(tenant_id), now)

    def backfill_hold(self, tenant_id: str) -> float:
        """How long a backfill must wait before it may spend a call here: 0 if it may now."""
        now = self._clock()
        item = self._read(tenant_id)
        return max(self._blocked(item, now), self._backfill_hold(item, now))

    def _backfill_hold(self, item: dict[str, Any], now: float) -> float:
        """The live reserve reached: by the day's count (until tomorrow), or by what Xero said last (an
        hour at a time, as for the day limit: Xero's day need not begin at our midnight)."""
        hold = float(item.get("backfill_until", 0)) - now
        used = int(item.get("day_count", 0)) if item.get("day") == _day(now) else 0
        if self._per_day - used <= self.live_reserve:
            hold = max(hold, _tomorrow(now) - now)
        return max(0.0, hold)

    def _blocked(self, item: dict[str, Any], now: float) -> float:
        blocked = float(item.get("blocked_until", 0)) - now
        day_spent = item.get("day") == _day(now) and int(item.get("day_count", 0)) >= self._per_day
        if day_spent:
            blocked = max(blocked, _tomorrow(now) - now)
        return max(0.0, blocked)

    def state(self, tenant_id: str) -> BudgetState:
        """The organisation's budget as it stands: for an estimate of how long a backlog takes."""
        now = self._clock()
        item = self._read(tenant_id)
        used = int(item.get("day_count", 0)) if item.get("day") == _day(now) else 0
        blocked = self._blocked(item, now)
        return BudgetState(
            per_minute=self._rate * 60.0,
            per_day=self._per_day,
            day_left=max(0, self._per_day - used),
            blocked_for=blocked,
            live_reserve=self.live_reserve,
            backfill_hold=max(blocked, self._backfill_hold(item, now)),
        )

    def observe(self, tenant_id: str, minute_remaining: int | None, day_remaining: int | None) -> None:
        """Follow what Xero said after a call (its ``X-MinLimit-Remaining``, ``X-DayLimit-Remaining``)."""
        now = self._clock()
        if minute_remaining == XERO_MINUTE_LIMIT - 1:
            # The first call of a new window: Xero's minute window is fixed, so remember where it began.
            self._set(tenant_id, {"window_started_at": now})
        elif minute_remaining == 0:
            started = float(self._read(tenant_id).get("window_started_at", 0))
            ends = started + MINUTE_WINDOW if now - started < MINUTE_WINDOW else now + MINUTE_WINDOW
            self.block(tenant_id, ends - now)
        if day_remaining is not None and day_remaining <= DAY_RESERVE:
            self.block(tenant_id, DAY_PROBE_SECONDS)
        if day_remaining is not None and day_remaining <= DAY_RESERVE + self.live_reserve:
            # Xero's own count is into what live events need: no backfill call for an hour.
            self._set(tenant_id, {"backfill_until": now + DAY_PROBE_SECONDS})

    def _set(self, tenant_id: str, values: dict[str, Any]) -> None:
        names = {f"#{k}": k for k in values}
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(tenant_id),
                UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in values),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={f":{k}": to_attr(v) for k, v in values.items()},
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not update the call budget of organisation {tenant_id}") from exc

    def _wait(self, item: dict[str, Any], now: float) -> float:
        blocked_until = float(item.get("blocked_until", 0))
        if blocked_until > now:
            return blocked_until - now
        if item.get("day") == _day(now) and int(item.get("day_count", 0)) >= self._per_day:
            return _tomorrow(now) - now
        tokens = self._tokens(item, now)
        # A hair under one token (rounding in storage) counts as one; otherwise wait at least 50 ms.
        return 0.0 if tokens >= 1 - EPSILON else max((1 - tokens) / self._rate, MIN_WAIT)

    def _tokens(self, item: dict[str, Any], now: float) -> float:
        if "at" not in item:
            return self._burst
        elapsed = max(0.0, now - float(item["at"]))
        return min(self._burst, float(item.get("tokens", 0)) + elapsed * self._rate)

    def _write(self, tenant_id: str, item: dict[str, Any], now: float) -> bool:
        day = _day(now)
        values = {
            "pk": f"TENANT#{tenant_id}",
            "sk": "BUDGET",
            "tokens": max(0.0, round(self._tokens(item, now) - 1, 6)),
            "at": now,
            "day": day,
            "day_count": (int(item.get("day_count", 0)) if item.get("day") == day else 0) + 1,
            "ttl": int(now) + 3 * 86400,
        }
        for kept in ("blocked_until", "window_started_at", "backfill_until"):
            if kept in item:
                values[kept] = item[kept]
        condition: dict[str, Any] = (
            {"ConditionExpression": "#at = :seen", "ExpressionAttributeNames": {"#at": "at"}}
            if "at" in item
            else {"ConditionExpression": "attribute_not_exists(pk)"}
        )
        if "at" in item:
            condition["ExpressionAttributeValues"] = {":seen": to_attr(item["at"])}
        try:
            self._client.put_item(TableName=self._table, Item=to_item(values), **condition)
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise StorageError(f"could not update the call budget of organisation {tenant_id}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not update the call budget of organisation {tenant_id}") from exc
        return True

    def _read(self, tenant_id: str) -> dict[str, Any]:
        try:
            answer = self._client.get_item(TableName=self._table, Key=self._key(tenant_id), ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not read the call budget of organisation {tenant_id}") from exc
        return from_item(answer.get("Item", {}))

    @staticmethod
    def _key(tenant_id: str) -> dict[str, Any]:
        return {"pk": to_attr(f"TENANT#{tenant_id}"), "sk": to_attr("BUDGET")}


def _day(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).date().isoformat()


def _tomorrow(now: float) -> float:
    """The next midnight (UTC), when the day's count starts again."""
    midnight = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight + timedelta(days=1)).timestamp()
