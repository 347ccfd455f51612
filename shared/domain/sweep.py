"""The daily inactivity sweep: warn the owner before the cut-off, then disconnect and tell them.

Every connected account carries its next sweep action in the ``SweepIndex``: ``warn`` due
``inactivity_days - warning_days`` after its last activity, then (once warned) ``disconnect`` due
``inactivity_days`` after it. Activity (a push to Xero, a settings change, a reconnection) moves the
date forward and resets the stage to ``warn``.

A run reads only what is due on or before today, page by page, and handles each entry on its own:
an entry that fails (Xero down, SES refusing) is counted, logged and left due for the next run; the
rest go on. Every step is conditional, so re-running a day, or two runs at once, neither repeats an
email (the alert's dedupe record) nor a revocation (the disconnect's lease):

- ``warn``: read the connection, email the warning (once per disconnect date), then move the entry
  to ``disconnect`` on the disconnect date, only if it is still the entry that was read. A crash
  between the two: the re-run finds the warning already sent and just moves the entry. A warning
  that comes too late (the sweep did not run for days) is skipped and the connection disconnected.
- ``disconnect``: take the disconnect's lease (an item that stays in the index until the owner's
  email is sent), disconnect (Xero first; a failure at Xero still disconnects here and the email
  says so), email the owner, drop the lease item. A crash anywhere: the lease lapses and the next
  run finishes the job from where it stopped.

The run stops before the Lambda's time runs out; what is left stays due and the next run resumes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from aws_lambda_powertools.metrics import MetricUnit

from shared.adapters.connections import ConnectionRepository, InactivityPolicy
from shared.adapters.sweep_index import DISCONNECT, DISCONNECTING, WARN, DisconnectClaim, DueEntry, SweepIndex
from shared.domain.alerts import Alerts
from shared.domain.disconnect import Disconnector
from shared.models.connection import Connection, ConnectionStatus, day, utc_now
from shared.observability import logger, metrics

Outcome = Literal["warned", "disconnected", "skipped"]


@dataclass
class SweepSummary:
    today: str
    examined: int = 0
    warned: int = 0
    disconnected: int = 0
    failed: int = 0
    skipped: int = 0
    items_read: int = 0
    complete: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def inactivity_reason(days: int) -> str:
    return f"no activity for {days} days"


def sweep_time(event: Mapping[str, Any], *, allow_override: bool, clock: Callable[[], datetime] = utc_now) -> datetime:
    """The moment the sweep runs for: the schedule's time (``event.time``), which EventBridge keeps on
    retries, so a retried run sweeps the same day. ``detail.now`` overrides it only when the
    deployment allows it (the local stack and the demo move the clock this way)."""
    detail = event.get("detail")
    if allow_override and isinstance(detail, Mapping) and detail.get("now"):
        return _aware(datetime.fromisoformat(str(detail["now"])))
    if event.get("time"):
        return _aware(datetime.fromisoformat(str(event["time"])))
    return clock()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Sweep:
    def __init__(
        self,
        *,
        index: SweepIndex,
        connections: ConnectionRepository,
        disconnector: Disconnector,
        alerts: Alerts,
        policy: InactivityPolicy,
        lease_seconds: int = 600,
        margin_seconds: float = 60.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._index = index
        self._connections = connections
        self._disconnector = disconnector
        self._alerts = alerts
        self._policy = policy
        self._lease = lease_seconds
        self._margin = margin_seconds
        self._clock = clock  # real time, for leases; ``now`` of a run may be overridden (demo)

    def run(self, now: datetime, *, seconds_left: Callable[[], float] | None = None) -> SweepSummary:
        today = day(now)
        summary = SweepSummary(today=today.isoformat())
        for page in self._index.due(today):
            summary.items_read += page.items_read
            for entry in page.entries:
                if seconds_left is not None and seconds_left() < self._margin:
                    summary.complete = False
                    break
                summary.examined += 1
                try:
                    outcome = self._handle(entry, now)
                except Exception:  # noqa: BLE001 - one account's failure must not stop the others
                    summary.failed += 1
                    logger.exception(
                        "sweep entry failed; it stays due for the next run",
                        extra={"account_id": entry.account_id, "stage": entry.stage},
                    )
                    continue
                if outcome == "warned":
                    summary.warned += 1
                elif outcome == "disconnected":
                    summary.disconnected += 1
                else:
                    summary.skipped += 1
            if not summary.complete:
                logger.warning("sweep stopped before the Lambda timeout; the next run resumes", extra=summary.as_dict())
                break
        self._report(summary)
        return summary

    def _handle(self, entry: DueEntry, now: datetime) -> Outcome:
        if entry.stage == WARN:
            return self._warn(entry, now)
        if entry.stage == DISCONNECT:
            connection = self._connections.get(entry.account_id)
            if not _still(connection, DISCONNECT, entry.due_on):
                return "skipped"
            claim = self._claim(entry.account_id, entry.due_on, existing_only=False)
            return self._disconnect(claim, now) if claim else "skipped"
        if entry.stage == DISCONNECTING:
            claim = self._claim(entry.account_id, entry.due_on, existing_only=True)
            return self._disconnect(claim, now) if claim else "skipped"
        logger.warning("unknown sweep stage", extra={"account_id": entry.account_id, "stage": entry.stage})
        return "skipped"

    def _warn(self, entry: DueEntry, now: datetime) -> Outcome:
        connection = self._connections.get(entry.account_id)
        if connection is None or not _still(connection, WARN, entry.due_on):
            return "skipped"  # the index lags the table: activity moved it, or it was disconnected
        disconnect_on = date.fromisoformat(self._policy.disconnect_on(connection.last_activity_at))
        if day(now) < disconnect_on:
            self._alerts.inactivity_warning(connection, disconnect_on, now=now)
        moved = self._index.move_to_disconnect(entry.account_id, seen_due=entry.due_on, disconnect_on=disconnect_on)
        if not moved:
            return "skipped"
        if day(now) < disconnect_on:
            return "warned"
        logger.warning("warning date missed: disconnecting without a warning", extra={"account_id": entry.account_id})
        claim = self._claim(entry.account_id, disconnect_on, existing_only=False)
        return self._disconnect(claim, now) if claim else "skipped"

    def _claim(self, account_id: str, due_on: date, *, existing_only: bool) -> DisconnectClaim | None:
        return self._index.claim_disconnect(
            account_id, due_on=due_on, now=self._clock(), lease_seconds=self._lease, existing_only=existing_only
        )

    def _disconnect(self, claim: DisconnectClaim, now: datetime) -> Outcome:
        reason = inactivity_reason(self._policy.inactivity_days)
        try:
            connection = self._connections.get(claim.account_id)
            if connection is not None and connection.status == ConnectionStatus.CONNECTED:
                if not _still(connection, DISCONNECT, claim.due_on):
                    self._index.finish(claim)  # used again since it was found due: nothing to do
                    return "skipped"
                outcome = self._disconnector.disconnect(claim.account_id, reason=reason, now=now)
                revoked = outcome.revoked_at_xero
                self._index.record_disconnected(claim, revoked_at_xero=revoked)
                connection = outcome.connection or self._connections.get(claim.account_id)
                if outcome.problems:
                    logger.warning(
                        "disconnected here; Xero did not confirm everything",
                        extra={"account_id": claim.account_id, "problems": outcome.problems},
                    )
            elif connection is not None and connection.status_reason == reason:
                revoked = bool(claim.revoked_at_xero)  # an earlier run disconnected it, then stopped
            else:
                self._index.finish(claim)  # disconnected by its owner, or lost, meanwhile: not ours to tell
                return "skipped"
            if connection is not None:
                self._alerts.disconnected(connection, revoked_at_xero=revoked, now=now)
            self._index.finish(claim)
        except BaseException:
            self._index.release(claim)
            raise
        return "disconnected"

    def _report(self, summary: SweepSummary) -> None:
        for name, value in (
            ("SweepExamined", summary.examined),
            ("SweepWarned", summary.warned),
            ("SweepDisconnected", summary.disconnected),
            ("SweepFailed", summary.failed),
            ("SweepItemsRead", summary.items_read),
        ):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        if not summary.complete:
            metrics.add_metric(name="SweepIncomplete", unit=MetricUnit.Count, value=1)
        logger.info("sweep finished", extra=summary.as_dict())


def _still(connection: Connection | None, stage: str, due_on: date) -> bool:
    return (
        connection is not None
        and connection.status == ConnectionStatus.CONNECTED
        and connection.sweep_stage == stage
        and connection.sweep_due_on == due_on
    )
