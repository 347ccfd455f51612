"""Xero's rate limits, per organisation and per app, measured on the sandbox clock.

Per organisation (tenant): ``minute`` calls in a fixed 60 s window, ``day`` calls in a fixed 24 h
window, ``concurrent`` calls in progress at once. Per app (client id), across every organisation:
``app_minute`` calls in a fixed 60 s window. Xero: "Requests are counted against a fixed window which
will reset at different times for each tenant" (developer.xero.com/documentation/guides/oauth2/limits).
Where a window starts is not documented; the sandbox opens one at the first call counted when none is
open (so windows reset at different times for each tenant) and closes it 60 s / 24 h later.

The day limit follows the organisation's tier: 5,000 (``standard``) or 1,000 (``starter``, Xero's
free Starter tier since 2 March 2026, developer.xero.com/pricing), unless configured explicitly.

Every answer carries the remaining counts in ``X-DayLimit-Remaining``, ``X-MinLimit-Remaining`` and
``X-AppMinLimit-Remaining``. A call over a limit is answered 429 with ``X-Rate-Limit-Problem``
(``minute``, ``day``, ``appminute`` or ``concurrent``); the minute and day limits (and the app's
minute) also send ``Retry-After``: the *sandbox* seconds until their window ends (divide by the
clock's speed for real seconds). The concurrent limit sends none: Xero sends ``Retry-After`` only for
the minute and daily limits. Refused calls do not use up any allowance.
"""

from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass, field, replace
from typing import Any

MINUTE = 60.0
DAY = 86_400.0
STANDARD = "standard"
STARTER = "starter"
TIER_DAY_LIMITS = {STANDARD: 5000, STARTER: 1000}


@dataclass(frozen=True)
class Limits:
    minute: int = 60
    day: int | None = None  # None: the organisation's tier decides (TIER_DAY_LIMITS)
    concurrent: int = 5
    app_minute: int = 10_000


@dataclass
class Window:
    """A fixed window: opened by the first call counted, closed ``length`` seconds later."""

    length: float
    started: float | None = None
    count: int = 0

    def roll(self, now: float) -> None:
        if self.started is not None and now >= self.started + self.length:
            self.started, self.count = None, 0

    def add(self, now: float) -> None:
        if self.started is None:
            self.started = now
        self.count += 1

    def ends(self, now: float) -> float:
        return (self.started if self.started is not None else now) + self.length


@dataclass
class _Usage:
    minute: Window = field(default_factory=lambda: Window(MINUTE))
    day: Window = field(default_factory=lambda: Window(DAY))
    in_flight: int = 0


@dataclass(frozen=True)
class Admission:
    """The outcome of asking to make a call: admitted (``problem`` is None) or refused."""

    tenant_id: str
    client_id: str
    problem: str | None
    retry_after: int | None
    headers: dict[str, str]


class RateLimiter:
    def __init__(self, limits: Limits | None = None) -> None:
        self._lock = threading.Lock()
        self.limits = limits or Limits()
        self.tenant_limits: dict[str, Limits] = {}
        self.tiers: dict[str, str] = {}
        self._tenants: dict[str, _Usage] = {}
        self._apps: dict[str, Window] = {}

    def configure(self, limits: Limits | None = None, tenant_id: str | None = None, **changes: int) -> Limits:
        """Change the limits for everyone, or for one organisation (``day=...`` overrides its tier)."""
        with self._lock:
            if tenant_id is None:
                self.limits = limits or replace(self.limits, **changes)
                return self.limits
            current = self.tenant_limits.get(tenant_id, self.limits)
            self.tenant_limits[tenant_id] = limits or replace(current, **changes)
            return self.tenant_limits[tenant_id]

    def set_tier(self, tenant_id: str, tier: str) -> None:
        """Put an organisation on ``standard`` (5,000 calls a day) or ``starter`` (1,000)."""
        if tier not in TIER_DAY_LIMITS:
            raise ValueError(f"unknown tier {tier!r}: one of {', '.join(TIER_DAY_LIMITS)}")
        with self._lock:
            self.tiers[tenant_id] = tier

    def tier_of(self, tenant_id: str) -> str:
        return self.tiers.get(tenant_id, STANDARD)

    def reset(self) -> None:
        """Forget all usage (not the configuration)."""
        with self._lock:
            self._tenants.clear()
            self._apps.clear()

    def limits_for(self, tenant_id: str) -> Limits:
        """The organisation's limits with its day limit resolved (explicit setting, else its tier)."""
        limits = self.tenant_limits.get(tenant_id, self.limits)
        if limits.day is None:
            limits = replace(limits, day=TIER_DAY_LIMITS[self.tier_of(tenant_id)])
        return limits

    def admit(self, tenant_id: str, client_id: str, now: float) -> Admission:
        """Count a call against its organisation and app, or refuse it. An admitted call holds one
        concurrency slot until :meth:`release`."""
        with self._lock:
            limits = self.limits_for(tenant_id)
            day_limit = limits.day or 0
            usage = self._tenants.setdefault(tenant_id, _Usage())
            app = self._apps.setdefault(client_id, Window(MINUTE))
            for window in (usage.minute, usage.day, app):
                window.roll(now)
            problem: str | None = None
            retry_after: int | None = None
            if usage.day.count >= day_limit:
                problem, retry_after = "day", _wait(usage.day.ends(now) - now)
            elif usage.minute.count >= limits.minute:
                problem, retry_after = "minute", _wait(usage.minute.ends(now) - now)
            elif app.count >= self.limits.app_minute:
                problem, retry_after = "appminute", _wait(app.ends(now) - now)
            elif usage.in_flight >= limits.concurrent:
                problem = "concurrent"  # no Retry-After: Xero sends it only for the minute and day limits
            else:
                for window in (usage.minute, usage.day, app):
                    window.add(now)
                usage.in_flight += 1
            headers = {
                "X-DayLimit-Remaining": str(max(day_limit - usage.day.count, 0)),
                "X-MinLimit-Remaining": str(max(limits.minute - usage.minute.count, 0)),
                "X-AppMinLimit-Remaining": str(max(self.limits.app_minute - app.count, 0)),
            }
            if problem is not None:
                headers["X-Rate-Limit-Problem"] = problem
            if retry_after is not None:
                headers["Retry-After"] = str(retry_after)
            return Admission(tenant_id, client_id, problem, retry_after, headers)

    def release(self, admission: Admission) -> None:
        if admission.problem is not None:
            return
        with self._lock:
            usage = self._tenants.get(admission.tenant_id)
            if usage is not None and usage.in_flight > 0:
                usage.in_flight -= 1

    def hold(self, tenant_id: str, client_id: str, now: float, calls: int) -> list[Admission]:
        """Occupy ``calls`` slots as if that many calls were in progress (tests of the concurrent limit);
        each counts as a call, so holding and releasing also uses up minute and day allowance."""
        return [self.admit(tenant_id, client_id, now) for _ in range(calls)]

    def describe(self, now: float) -> dict[str, Any]:
        with self._lock:
            tenants = {}
            for tenant_id in sorted({*self._tenants, *self.tiers, *self.tenant_limits}):
                usage = self._tenants.get(tenant_id, _Usage())
                usage.minute.roll(now)
                usage.day.roll(now)
                tenants[tenant_id] = {
                    "tier": self.tier_of(tenant_id),
                    "limits": asdict(self.limits_for(tenant_id)),
                    "minute_used": usage.minute.count,
                    "minute_window_ends": usage.minute.ends(now) if usage.minute.started is not None else None,
                    "day_used": usage.day.count,
                    "day_window_ends": usage.day.ends(now) if usage.day.started is not None else None,
                    "in_flight": usage.in_flight,
                }
            apps = {}
            for client_id, window in self._apps.items():
                window.roll(now)
                apps[client_id] = {"minute_used": window.count}
            return {"limits": asdict(self.limits), "tiers": dict(TIER_DAY_LIMITS), "tenants": tenants, "apps": apps}


def _wait(seconds: float) -> int:
    return max(1, math.ceil(seconds))
