"""Alert emails through the alert queue: queued by whoever has one to send, sent by the alerts function.

:class:`QueuedAlerts` has the two methods of :class:`~shared.domain.alerts.Alerts` the push calls
(``sync_failed``, ``reconnect_needed``), but only queues the request: SES being slow or down never
holds up the caller's batch. :class:`AlertDelivery` is the other end, one queued message at a time:

- it sends the email through :class:`~shared.domain.alerts.Alerts`, whose dedupe claim makes a
  redelivered or duplicated request send nothing a second time;
- when SES throttles, answers 5xx or cannot be reached (``AlertDeliveryFailed``), refuses the email
  (``AlertRejected``: the deployment may be fixed meanwhile, e.g. the sender verified), or the table
  is unavailable, the message is hidden for a while (its visibility timeout: ``base`` seconds, doubled
  on every receive up to ``max`` seconds, with jitter) and comes back for another try;
- on its last receive (``max_receives``) a message that still fails is moved to the alert dead-letter
  queue with ``failure_code`` and ``failure_reason``, and so is a malformed one at once.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from shared.adapters.alert_queue import AlertQueue
from shared.domain.alerts import Alerts
from shared.errors import StorageError, SyncError
from shared.models.alerts import (
    AlertRequest,
    DigestItem,
    ReconciliationDigestAlert,
    ReconnectNeededAlert,
    SyncFailedAlert,
    SyncFailure,
    parse_alert_request,
)
from shared.models.connection import utc_now
from shared.models.reconcile import Difference, ReconcileRun
from shared.observability import logger, metrics

DIGEST_ITEMS = 50  # differences listed in one digest; the rest are counted
# Below this much Lambda time, an email is not tried (one try may wait 2 x 13 s on SES): it comes back.
MIN_SECONDS_TO_SEND = 30


class QueuedAlerts:
    """Queues alert emails instead of sending them; the alerts function sends them."""

    def __init__(self, queue: AlertQueue, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._queue = queue
        self._clock = clock

    def sync_failed(self, account_id: str, failure: SyncFailure, *, now: datetime | None = None) -> bool:
        """Queue the sync-failed email (True); raises ``StorageError`` when the queue cannot take it."""
        self.publish([SyncFailedAlert(account_id=account_id, occurred_at=now or self._clock(), failure=failure)])
        return True

    def reconnect_needed(self, account_id: str, reason: str, *, now: datetime | None = None) -> bool:
        """Queue the reconnect email (True); raises ``StorageError`` when the queue cannot take it."""
        self.publish([ReconnectNeededAlert(account_id=account_id, occurred_at=now or self._clock(), reason=reason)])
        return True

    def reconciliation_digest(self, account_id: str, run: ReconcileRun, differences: Sequence[Difference]) -> bool:
        """Queue the weekly digest after a scheduled full run; False (nothing queued) when nothing is open
        or the run was not the weekly one."""
        open_ = [d for d in differences if d.state == "open"]
        if not open_ or run.kind != "full" or run.requested_by != "schedule":
            return False
        items = tuple(
            DigestItem(
                invoice_id=d.invoice_id,
                number=d.number or d.invoice_id,
                kind=d.kind,
                details=tuple(d.details[:20]),
                what_to_do=d.what_to_do,
            )
            for d in open_[:DIGEST_ITEMS]
        )
        self.publish(
            [
                ReconciliationDigestAlert(
                    account_id=account_id,
                    occurred_at=self._clock(),
                    run_id=run.run_id,
                    compared=run.compared,
                    total=len(open_),
                    items=items,
                )
            ]
        )
        return True

    def publish(self, requests: Sequence[AlertRequest]) -> int:
        """Queue several at once (ten per SQS call); how many were queued."""
        count = self._queue.publish(requests)
        if count:
            metrics.add_metric(name="AlertQueued", unit=MetricUnit.Count, value=count)
        return count


@dataclass(frozen=True)
class QueuedMessage:
    """One received message of the alert queue."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int = 1


class RetryLater(Exception):
    """The message was hidden for a while and comes back for another try."""

    def __init__(self, code: str, delay: int) -> None:
        super().__init__(f"{code}: next try in {delay} s")
        self.code = code
        self.delay = delay


@dataclass(frozen=True)
class RetryPolicy:
    max_receives: int = 10
    base_seconds: int = 30
    max_seconds: int = 3600

    def delay(self, receive_count: int, jitter: Callable[[float, float], float] = random.uniform) -> int:
        """The wait after the ``receive_count``-th failed receive: exponential, capped, half of it random."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(0, receive_count - 1))
        return round(jitter(ceiling / 2, ceiling))


class AlertDelivery:
    def __init__(
        self,
        alerts: Alerts,
        queue: AlertQueue,
        policy: RetryPolicy,
        *,
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self._alerts = alerts
        self._queue = queue
        self._policy = policy
        self._jitter = jitter

    def deliver(self, message: QueuedMessage, seconds_left: Callable[[], float] = lambda: 900.0) -> str:
        """Send one queued alert: ``sent``, ``not_sent`` (already sent, or nobody to send it to) or
        ``dead`` (moved to the dead-letter queue); raises :class:`RetryLater` when it comes back."""
        try:
            request = parse_alert_request(message.body)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5])
            self._dead(message, None, "malformed_alert", f"the alert request is not valid: {problems}")
            return "dead"
        if seconds_left() < MIN_SECONDS_TO_SEND:
            return self._again(message, request, "out_of_time", "too little Lambda time left to try SES", delay=0)
        try:
            sent = self._send(request)
        except SyncError as exc:
            return self._again(message, request, exc.code, exc.message)
        except Exception as exc:  # noqa: BLE001 - a bug must not lose the alert: it is retried, then dead-lettered
            logger.exception("alert delivery failed unexpectedly", extra={"account_id": request.account_id})
            return self._again(message, request, "unexpected_error", type(exc).__name__)
        return "sent" if sent else "not_sent"

    def _send(self, request: AlertRequest) -> bool:
        if isinstance(request, ReconciliationDigestAlert):
            return self._alerts.reconciliation_digest(request)
        if isinstance(request, SyncFailedAlert):
            return self._alerts.sync_failed(request.account_id, request.failure, occurred_at=request.occurred_at)
        return self._alerts.reconnect_needed(request.account_id, request.reason, occurred_at=request.occurred_at)

    def _again(
        self, message: QueuedMessage, request: AlertRequest, code: str, reason: str, *, delay: int | None = None
    ) -> str:
        """Dead-letter the message on its last receive (``dead``), else hide it until its next try and
        raise :class:`RetryLater`."""
        if message.receive_count >= self._policy.max_receives:
            self._dead(message, request.account_id, code, f"{reason} (after {message.receive_count} receives)")
            return "dead"
        wait = self._policy.delay(message.receive_count, self._jitter) if delay is None else delay
        try:
            self._queue.back_off(message.receipt_handle, wait)
        except StorageError:
            logger.exception("could not delay an alert; it comes back after the queue's visibility timeout")
        logger.warning(
            "alert not sent: will be tried again",
            extra={"account_id": request.account_id, "alert": request.kind, "error": code, "retry_in": wait},
        )
        metrics.add_metric(name="AlertRetried", unit=MetricUnit.Count, value=1)
        raise RetryLater(code, wait)

    def _dead(self, message: QueuedMessage, account_id: str | None, code: str, reason: str) -> None:
        self._queue.dead(
            message.body,
            code=code,
            reason=reason,
            message_id=message.message_id,
            account_id=account_id,
            receives=message.receive_count,
        )
        logger.error(
            "alert moved to the dead-letter queue",
            extra={"account_id": account_id, "error": code, "reason": reason, "receives": message.receive_count},
        )
        metrics.add_metric(name="AlertDeadLettered", unit=MetricUnit.Count, value=1)
