"""Xero's rate limits, per organisation and per app, measured on the sandbox clock.

Per organisation (tenant): ``minute`` calls in any rolling 60 s, ``day`` calls in any rolling 24 h,
``concurrent`` calls in progress at once. Per app (client id), across every organisation:
``app_minute`` calls in any rolling 60 s. Every answer carries the remaining counts in
``X-DayLimit-Remaining``, ``X-MinLimit-Remaining`` and ``X-AppMinLimit-Remaining``; a call over a
limit is answered 429 with ``X-Rate-Limit-Problem`` (``minute``, ``day``, ``concurrent`` or
``appminute``) and ``Retry-After``, in *sandbox* seconds (divide by the clock's speed for real
seconds). Refused calls do not use up any allowance.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import asdict, dataclass, field, replace
from typing import Any

MINUTE = 60.0
DAY = 86_400.0


@dataclass(frozen=True)
class Limits:
    minute: int = 60
    day: int = 5000
    concurrent: int = 5
    app_minute: int = 10_000


@dataclass
class _Usage:
    minute: deque[float] = field(default_factory=deque)
    day: deque[float] = field(default_factory=deque)
    in_flight: int = 0


@dataclass(frozen=True)
class Admission:
    """The outcome of asking to make a call: admitted (``problem`` is None) or refused."""

    tenant_id: str
    client_id: str
    problem: str | None
    retry_after: int
    headers: dict[str, str]


class RateLimiter:
    def __init__(self, limits: Limits | None = None) -> None:
        self._lock = threading.Lock()
        self.limits = limits or Limits()
        self.tenant_limits: dict[str, Limits] = {}
        self._tenants: dict[str, _Usage] = {}
        self._apps: dict[str, deque[float]] = {}

    def configure(self, limits: Limits | None = None, tenant_id: str | None = None, **changes: int) -> Limits:
        """Change the limits for everyone, or for one organisation (e.g. the Starter tier's 1,000 a day)."""
        with self._lock:
            if tenant_id is None:
                self.limits = limits or replace(self.limits, **changes)
                return self.limits
            current = self.tenant_limits.get(tenant_id, self.limits)
            self.tenant_limits[tenant_id] = limits or replace(current, **changes)
            return self.tenant_limits[tenant_id]

    def reset(self) -> None:
        """Forget all usage (not the configuration)."""
        with self._lock:
            self._tenants.clear()
            self._apps.clear()

    def limits_for(self, tenant_id: str) -> Limits:
        return self.tenant_limits.get(tenant_id, self.limits)

    def admit(self, tenant_id: str, client_id: str, now: float) -> Admission:
        """Count a call against its organisation and app, or refuse it. An admitted call holds one
        concurrency slot until :meth:`release`."""
        with self._lock:
            limits = self.limits_for(tenant_id)
            usage = self._tenants.setdefault(tenant_id, _Usage())
            app = self._apps.setdefault(client_id, deque())
            _expire(usage.minute, now - MINUTE)
            _expire(usage.day, now - DAY)
            _expire(app, now - MINUTE)
            problem, retry_after = None, 0
            if len(usage.day) >= limits.day:
                problem, retry_after = "day", _wait(usage.day[0] + DAY - now)
            elif len(usage.minute) >= limits.minute:
                problem, retry_after = "minute", _wait(usage.minute[0] + MINUTE - now)
            elif len(app) >= self.limits.app_minute:
                problem, retry_after = "appminute", _wait(app[0] + MINUTE - now)
            elif usage.in_flight >= limits.concurrent:
                problem, retry_after = "concurrent", 1
            else:
                usage.minute.append(now)
                usage.day.append(now)
                app.append(now)
                usage.in_flight += 1
            headers = {
                "X-DayLimit-Remaining": str(max(limits.day - len(usage.day), 0)),
                "X-MinLimit-Remaining": str(max(limits.minute - len(usage.minute), 0)),
                "X-AppMinLimit-Remaining": str(max(self.limits.app_minute - len(app), 0)),
            }
            if problem is not None:
                headers |= {"Retry-After": str(retry_after), "X-Rate-Limit-Problem": problem}
            return Admission(tenant_id, client_id, problem, retry_after, headers)

    def release(self, admission: Admission) -> None:
        if admission.problem is not None:
            return
        with self._lock:
            usage = self._tenants.get(admission.tenant_id)
            if usage is not None and usage.in_flight > 0:
                usage.in_flight -= 1

    def hold(self, tenant_id: str, client_id: str, now: float, calls: int) -> list[Admission]:
        """Occupy ``calls`` slots as if that many calls were in progress (tests of the concurrent limit)."""
        return [self.admit(tenant_id, client_id, now) for _ in range(calls)]

    def describe(self, now: float) -> dict[str, Any]:
        with self._lock:
            tenants = {}
            for tenant_id, usage in self._tenants.items():
                _expire(usage.minute, now - MINUTE)
                _expire(usage.day, now - DAY)
                tenants[tenant_id] = {
                    "limits": asdict(self.limits_for(tenant_id)),
                    "minute_used": len(usage.minute),
                    "day_used": len(usage.day),
                    "in_flight": usage.in_flight,
                }
            apps = {}
            for client_id, calls in self._apps.items():
                _expire(calls, now - MINUTE)
                apps[client_id] = {"minute_used": len(calls)}
            return {"limits": asdict(self.limits), "tenants": tenants, "apps": apps}


def _expire(window: deque[float], horizon: float) -> None:
    while window and window[0] <= horizon:
        window.popleft()


def _wait(seconds: float) -> int:
    return max(1, math.ceil(seconds))
