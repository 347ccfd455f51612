"""Calls to one Xero organisation on behalf of one account, within its budget.

Before each call a token is taken from the organisation's shared budget (short waits are paced,
long ones raise :class:`OutOfBudget` so the caller hands its messages back with a delay); a 401
refreshes the access token once; a 429 blocks the organisation for every invocation until Xero's
``Retry-After``; a write that got no answer is sent once more with the same ``Idempotency-Key``,
which Xero answers with the first answer if the first attempt had in fact been committed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.errors import SyncError, XeroRateLimited, XeroUnauthorized, XeroUnavailable
from shared.observability import logger, metrics

if TYPE_CHECKING:
    from shared.adapters.budget import CallBudget
    from shared.adapters.xero import WriteMethod, XeroClient
    from shared.domain.tokens import Access, TokenManager

# A 429 for the concurrent limit (no Retry-After) is a moment's wait: another call of ours is in flight.
CONCURRENT_RETRIES = 2


class OutOfBudget(SyncError):
    """The organisation's call budget is spent for now: try again after ``retry_after`` seconds."""

    code = "rate_limited"
    retryable = True
    sent_nothing = False  # True: raised before the request went (and no earlier attempt of it went either)
    calls_made = 0  # calls the request made before it was stopped

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class CallCounts:
    calls: int = 0
    rate_limited: int = 0
    replays: int = 0
    bytes_read: int = 0  # body bytes of the GETs answered (Xero's egress)
    by_resource: dict[str, int] = field(default_factory=dict)


def idempotency_key(
    account_id: str, tenant_id: str, method: str, resource: str, identities: list[str], body: Any
) -> str:
    """One key per distinct request: the platform account (event identities are its own), the events'
    identities and versions, and the exact body sent. Two accounts syncing to one organisation, with
    the same platform ids and bodies, must not be answered each other's replies."""
    digest = hashlib.sha256()
    digest.update(f"{account_id}|{tenant_id}|{method}|{resource}|{','.join(identities)}|".encode())
    digest.update(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode())
    return f"push-{digest.hexdigest()[:48]}"


class XeroSession:
    def __init__(
        self,
        *,
        account_id: str,
        tenant_id: str,
        tokens: TokenManager,
        xero: XeroClient,
        budget: CallBudget,
        seconds_left: Callable[[], float],
        sleep: Callable[[float], None],
        max_pace_wait: float = 3.0,
        on_success: Callable[[], None] | None = None,
        backfill: bool = False,
    ) -> None:
        self.account_id = account_id
        self.tenant_id = tenant_id
        self._tokens = tokens
        self._xero = xero
        self._budget = budget
        self._seconds_left = seconds_left
        self._sleep = sleep
        self._max_pace_wait = max_pace_wait
        self._on_success = on_success
        self._backfill = backfill  # an account's history: only the calls above the live reserve
        self._access: Access | None = None
        self.counts = CallCounts()

    def url_length(self, resource: str, params: Mapping[str, str] | None = None) -> int:
        return self._xero.url_length(resource, params)

    def get(
        self, resource: str, params: Mapping[str, str] | None = None, *, modified_since: str | None = None
    ) -> dict[str, Any]:
        return self._call(
            "GET",
            resource,
            lambda token: self._xero.get(token, self.tenant_id, resource, params, modified_since=modified_since),
        )

    def write(
        self,
        method: WriteMethod,
        resource: str,
        body: Mapping[str, Any],
        *,
        identities: list[str],
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        key = idempotency_key(self.account_id, self.tenant_id, method, resource, identities, body)

        def send(token: str) -> dict[str, Any]:
            return self._xero.write(method, token, self.tenant_id, resource, body, idempotency_key=key, params=params)

        try:
            return self._call(method, resource, send)
        except XeroUnavailable as exc:
            if exc.status is not None:
                raise
            # No answer at all: Xero may have committed. The same key returns the first answer.
            logger.info("xero write got no answer; sending it again with the same idempotency key")
            self.counts.replays += 1
            try:
                return self._call(method, resource, send)
            except (OutOfBudget, XeroRateLimited) as again:
                again.sent_nothing = False  # the first attempt may have been committed
                raise

    def _call(self, method: str, resource: str, send: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        before = self.counts.calls
        try:
            self._pace()
            access = self._current_access()
            try:
                answer = self._counted(resource, send, access.access_token)
            except XeroUnauthorized:
                self._access = self._tokens.access(self.account_id, stale_version=access.connection.token_version)
                self._pace()
                answer = self._counted(resource, send, self._access.access_token)
        except (OutOfBudget, XeroRateLimited) as exc:
            # Our budget said wait before sending, or Xero refused the call with a 429 (after a 401 at most):
            # Xero did nothing with this request. What the caller noted as in flight for it is not.
            exc.sent_nothing, exc.calls_made = True, self.counts.calls - before
            raise
        if self._on_success is not None:
            self._on_success()
            self._on_success = None  # once per session is enough
        self._watch_limits()
        return answer

    def _counted(self, resource: str, send: Callable[[str], dict[str, Any]], token: str) -> dict[str, Any]:
        name = resource.split("/", 1)[0].split("?", 1)[0]
        for attempt in range(CONCURRENT_RETRIES + 1):
            self.counts.calls += 1
            self.counts.by_resource[name] = self.counts.by_resource.get(name, 0) + 1
            before = self._xero.bytes_read.get(self.tenant_id, 0)
            try:
                return send(token)
            except XeroRateLimited as exc:
                self.counts.rate_limited += 1
                metrics.add_metric(name="XeroRateLimited", unit="Count", value=1)
                logger.warning(
                    "xero rate limit reached",
                    extra={"tenant_id": self.tenant_id, "problem": exc.problem, "retry_after": exc.retry_after},
                )
                if exc.problem == "concurrent" and attempt < CONCURRENT_RETRIES:
                    self._sleep(exc.retry_after * (attempt + 1))
                    continue
                if exc.problem != "concurrent":
                    self._budget.block(self.tenant_id, exc.retry_after)
                raise
            except XeroUnavailable as exc:
                if exc.offline and exc.retry_after:
                    self._budget.block(self.tenant_id, exc.retry_after)
                raise
            finally:
                self.counts.bytes_read += self._xero.bytes_read.get(self.tenant_id, 0) - before
        raise AssertionError("unreachable")  # pragma: no cover

    def _current_access(self) -> Access:
        if self._access is None:
            self._access = self._tokens.access(self.account_id)
        return self._access

    def _pace(self) -> None:
        while True:
            wait = self._budget.take(self.tenant_id, backfill=self._backfill)
            if wait <= 0:
                return
            if wait > self._max_pace_wait or wait > self._seconds_left() - 30:
                raise OutOfBudget(f"the call budget of organisation {self.tenant_id} is spent", wait)
            self._sleep(wait)

    def _watch_limits(self) -> None:
        limits = self._xero.last_limits.get(self.tenant_id)
        if limits is not None:
            self._budget.observe(self.tenant_id, limits.minute_remaining, limits.day_remaining)
