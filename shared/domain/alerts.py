"""The owner's alert emails: who receives them, once per event, and never silently lost.

Used by the inactivity sweep and by the invoice push. Every method returns True when an email was
sent now and False when there was nothing to send (already sent for this event, or nobody to send
it to). Delivery failures raise :class:`AlertDeliveryFailed` (retryable) or :class:`AlertRejected`
after releasing the dedupe claim, so the caller's retry sends the email.

Dedupe keys (``ALERT#<kind>#<key>`` records, see :mod:`shared.adapters.alert_records`):

| alert               | once per                                                            |
| ------------------- | ------------------------------------------------------------------- |
| sync_failed         | account, what failed (invoice, payment, contact), code and UTC day  |
| reconnect_needed    | connection loss (the connection's ``status_changed_at``), else day  |
| inactivity_warning  | disconnect date                                                     |
| disconnected        | disconnection (``status_changed_at``)                               |
| reconciliation_digest | reconciliation run (the weekly run's id)                          |

Recipients: the account's ``alert_recipients`` setting, else the Xero user who connected.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, datetime

from aws_lambda_powertools.metrics import MetricUnit

from shared.adapters.alert_records import AlertRecords
from shared.adapters.connections import ConnectionRepository
from shared.adapters.mailer import Mailer, OutgoingEmail
from shared.adapters.settings import SettingsRepository
from shared.emails import messages
from shared.emails.messages import EmailContext
from shared.errors import SyncError
from shared.models.alerts import ReconciliationDigestAlert, SyncFailure
from shared.models.connection import Connection, ConnectionStatus, day, utc_now
from shared.observability import logger, metrics

__all__ = ["Alerts", "SyncFailure"]


class Alerts:
    def __init__(
        self,
        *,
        mailer: Mailer,
        records: AlertRecords,
        connections: ConnectionRepository,
        account_settings: SettingsRepository,
        context: EmailContext,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._mailer = mailer
        self._records = records
        self._connections = connections
        self._settings = account_settings
        self._context = context
        self._clock = clock

    def sync_failed(
        self,
        account_id: str,
        failure: SyncFailure,
        *,
        now: datetime | None = None,
        occurred_at: datetime | None = None,
    ) -> bool:
        """``occurred_at`` (default: now) is when it failed: the once-a-day dedupe counts its day, so an
        email sent late (a queued alert after an SES outage) is still the same email."""
        now = now or self._clock()
        subject = hashlib.sha256(failure.subject_key.encode()).hexdigest()[:32]  # bounded, any characters
        return self._deliver(
            account_id,
            "sync_failed",
            f"{day(occurred_at or now).isoformat()}#{failure.code}#{subject}",
            lambda: messages.sync_failed(
                self._context,
                invoice_id=failure.invoice_id,
                invoice_number=failure.invoice_number,
                code=failure.code,
                message=failure.message,
                fix=failure.fix,
                xero_messages=failure.xero_messages,
                subject_kind=failure.subject_kind,
                payment_id=failure.payment_id,
                amount=failure.amount,
                currency=failure.currency,
                contact_id=failure.contact_id,
                contact_name=failure.contact_name,
                credit_note_id=failure.credit_note_id,
                credit_note_number=failure.credit_note_number,
            ),
            connection=None,
            now=now,
        )

    def reconnect_needed(
        self, account_id: str, reason: str, *, now: datetime | None = None, occurred_at: datetime | None = None
    ) -> bool:
        now = now or self._clock()
        connection = self._connections.get(account_id)
        lost = connection.status_changed_at if connection and connection.status != ConnectionStatus.CONNECTED else None
        key = lost.isoformat() if lost else day(occurred_at or now).isoformat()
        return self._deliver(
            account_id,
            "reconnect_needed",
            key,
            lambda: messages.reconnect_needed(self._context, organisation=_organisation(connection), reason=reason),
            connection=connection,
            now=now,
        )

    def inactivity_warning(self, connection: Connection, disconnect_on: date, *, now: datetime | None = None) -> bool:
        now = now or self._clock()
        return self._deliver(
            connection.account_id,
            "inactivity_warning",
            disconnect_on.isoformat(),
            lambda: messages.inactivity_warning(
                self._context,
                organisation=_organisation(connection),
                last_active=day(connection.last_activity_at),
                disconnect_on=disconnect_on,
            ),
            connection=connection,
            now=now,
        )

    def disconnected(self, connection: Connection, *, revoked_at_xero: bool, now: datetime | None = None) -> bool:
        now = now or self._clock()
        key = (connection.status_changed_at or now).isoformat()
        return self._deliver(
            connection.account_id,
            "disconnected",
            key,
            lambda: messages.disconnected(
                self._context,
                organisation=_organisation(connection),
                last_active=day(connection.last_activity_at),
                revoked_at_xero=revoked_at_xero,
            ),
            connection=connection,
            now=now,
        )

    def reconciliation_digest(self, request: ReconciliationDigestAlert, *, now: datetime | None = None) -> bool:
        """The weekly digest of what differs between Xero and the platform; never sent for an empty one."""
        if not request.items:
            return False
        now = now or self._clock()
        connection = self._connections.get(request.account_id)
        return self._deliver(
            request.account_id,
            "reconciliation_digest",
            request.run_id,
            lambda: messages.reconciliation_digest(
                self._context,
                organisation=_organisation(connection),
                compared=request.compared,
                total=request.total,
                items=request.items,
            ),
            connection=connection,
            now=now,
        )

    def _deliver(
        self,
        account_id: str,
        kind: str,
        key: str,
        build: Callable[[], OutgoingEmail],
        *,
        connection: Connection | None,
        now: datetime,
    ) -> bool:
        recipients = self._recipients(account_id, connection)
        if not recipients:
            logger.warning("alert not sent: nobody to send it to", extra={"account_id": account_id, "alert": kind})
            metrics.add_metric(name="AlertNoRecipient", unit=MetricUnit.Count, value=1)
            return False
        owner = self._records.claim(account_id, kind, key, now)
        if owner is None:
            logger.info("alert already sent", extra={"account_id": account_id, "alert": kind})
            metrics.add_metric(name="AlertDeduplicated", unit=MetricUnit.Count, value=1)
            return False
        try:
            message_id = self._mailer.send(recipients, build())
        except SyncError as exc:
            self._records.release(account_id, kind, key, owner)
            logger.warning(
                "alert not sent: will be retried",
                extra={"account_id": account_id, "alert": kind, "error": exc.code, "retryable": exc.retryable},
            )
            metrics.add_metric(name="AlertFailed", unit=MetricUnit.Count, value=1)
            raise
        except BaseException:
            self._records.release(account_id, kind, key, owner)
            raise
        if not self._records.complete(account_id, kind, key, owner, message_id=message_id, now=now):
            logger.warning("alert sent after its claim lapsed", extra={"account_id": account_id, "alert": kind})
        logger.info("alert sent", extra={"account_id": account_id, "alert": kind, "recipients": len(recipients)})
        metrics.add_metric(name="AlertSent", unit=MetricUnit.Count, value=1)
        return True

    def _recipients(self, account_id: str, connection: Connection | None) -> tuple[str, ...]:
        chosen = self._settings.get(account_id).alert_recipients
        if chosen:
            return tuple(dict.fromkeys(chosen))
        if connection is None:
            connection = self._connections.get(account_id)
        email = connection.connected_email if connection else None
        return (email,) if email else ()


def _organisation(connection: Connection | None) -> str | None:
    tenant = connection.tenant if connection else None
    if tenant is not None:
        return tenant.tenant_name or None
    if connection and len(connection.tenants) == 1:
        return connection.tenants[0].tenant_name or None
    return None
