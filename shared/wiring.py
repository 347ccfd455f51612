"""The composition root: each outside client and service is built once per container, on first use.

Handlers ask for what they need (``wiring.connect_flow()``); tests point the environment at moto and
the Xero sandbox and call :func:`reset` to rebuild everything from it.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from shared.adapters.connections import ConnectionRepository, InactivityPolicy
from shared.adapters.kms import TokenCipher
from shared.adapters.oauth_state import OAuthStateStore
from shared.adapters.secrets import Secrets
from shared.adapters.settings import SettingsRepository
from shared.config import Settings, get_settings

if TYPE_CHECKING:
    from shared.adapters.alert_queue import AlertQueue
    from shared.adapters.backfill_progress import BackfillProgress
    from shared.adapters.budget import CallBudget
    from shared.adapters.flush_tickets import FlushTickets
    from shared.adapters.mailer import Mailer
    from shared.adapters.outbox import Outbox
    from shared.adapters.queue import InvoiceQueue
    from shared.adapters.reconcile_queue import ReconcileQueue
    from shared.adapters.status_events import StatusEvents
    from shared.adapters.sync_records import SyncRecords
    from shared.adapters.xero import XeroClient
    from shared.adapters.xero_cache import XeroReadCache
    from shared.domain.alerts import Alerts
    from shared.domain.backlog import BacklogReader
    from shared.domain.disconnect import Disconnector
    from shared.domain.intake import Intake
    from shared.domain.management import ManagementService
    from shared.domain.oauth import ConnectFlow
    from shared.domain.push.context import PushParts
    from shared.domain.push.flush import Flush
    from shared.domain.push.service import PushService
    from shared.domain.queued_alerts import AlertDelivery, QueuedAlerts
    from shared.domain.reconcile.service import Reconciler
    from shared.domain.requeue import Requeue
    from shared.domain.settings_page import SettingsPage
    from shared.domain.sweep import Sweep
    from shared.domain.tokens import TokenManager

# Bounded waits: a Lambda that hangs on AWS costs its whole timeout; standard retries ride out blips.
AWS_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})
_caches: list[Any] = []


def cached(function: Any) -> Any:
    # One entry per distinct argument list: aws_client("sqs") must not evict aws_client("dynamodb").
    wrapped = lru_cache(maxsize=None)(function)
    _caches.append(wrapped)
    return wrapped


def reset() -> None:
    """Forget every built client and service (tests; a new environment)."""
    get_settings.cache_clear()
    for cache in _caches:
        cache.cache_clear()


def settings() -> Settings:
    return get_settings()


@cached
def aws_client(service: str) -> Any:
    return boto3.client(service, config=AWS_CONFIG)  # type: ignore[call-overload]


@cached
def secrets() -> Secrets:
    return Secrets(aws_client("secretsmanager"), max_age=settings().secret_cache_seconds)


@cached
def connections() -> ConnectionRepository:
    s = settings()
    return ConnectionRepository(
        aws_client("dynamodb"),
        s.table_name,
        InactivityPolicy(inactivity_days=s.inactivity_days, warning_days=s.inactivity_warning_days),
    )


@cached
def oauth_states() -> OAuthStateStore:
    return OAuthStateStore(aws_client("dynamodb"), settings().table_name)


@cached
def token_cipher() -> TokenCipher:
    return TokenCipher(aws_client("kms"), settings().token_key_id)


@cached
def xero() -> XeroClient:
    from shared.adapters.xero import XeroClient  # httpx only where Xero is called

    s = settings()
    return XeroClient(s, credentials=lambda: secrets().xero_credentials(s.xero_app_secret_arn))


@cached
def token_manager() -> TokenManager:
    from shared.domain.tokens import TokenManager

    return TokenManager(
        connections(),
        token_cipher(),
        xero(),
        refresh_margin=settings().token_refresh_margin_seconds,
        status_events=status_events(),
    )


@cached
def connect_flow() -> ConnectFlow:
    from shared.domain.oauth import ConnectFlow

    s = settings()
    return ConnectFlow(
        s,
        states=oauth_states(),
        connections=connections(),
        tokens=token_manager(),
        xero=xero(),
        credentials=lambda: secrets().xero_credentials(s.xero_app_secret_arn),
        link_secret=lambda: secrets().text(s.connect_link_secret_arn),
        account_settings=account_settings(),
    )


@cached
def account_settings() -> SettingsRepository:
    return SettingsRepository(aws_client("dynamodb"), settings().table_name)


@cached
def disconnector() -> Disconnector:
    from shared.domain.disconnect import Disconnector

    return Disconnector(connections(), token_manager(), xero(), status_events())


@cached
def status_events() -> StatusEvents:
    """The platform's sync-status events; the EventBridge client is built when the first one is sent."""
    from shared.adapters.status_events import StatusEvents

    return StatusEvents(settings().status_event_bus_name, client=lambda: aws_client("events"))


# ---- alerts and the inactivity sweep ----------------------------------------------------------


@cached
def ses_client() -> Any:
    # One attempt per call: the mailer retries throttling and 5xx itself, with its own backoff.
    return boto3.client("sesv2", config=AWS_CONFIG.merge(Config(retries={"mode": "standard", "total_max_attempts": 1})))


@cached
def mailer() -> Mailer:
    from shared.adapters.mailer import Mailer

    s = settings()
    return Mailer(ses_client(), s.alert_sender, sender_name=s.brand_name)


@cached
def push_service() -> PushService:
    from shared.domain.push.service import PushService

    return PushService(push_parts())


@cached
def outbox() -> Outbox:
    from shared.adapters.outbox import Outbox

    return Outbox(aws_client("dynamodb"), settings().table_name)


@cached
def flush_tickets() -> FlushTickets:
    from shared.adapters.flush_tickets import FlushTickets

    return FlushTickets(aws_client("sqs"), settings().flush_queue_url, settings().wake_queue_url)


@cached
def intake() -> Intake:
    from shared.domain.intake import Intake

    return Intake(push_parts())


@cached
def flush() -> Flush:
    from shared.domain.push.flush import Flush

    return Flush(push_parts(), push_service())


@cached
def call_budget() -> CallBudget:
    """Each organisation's Xero call budget: the minute rate and the day's calls, less a reserve for
    the settings API and the sweep."""
    from shared.adapters.budget import DAY_RESERVE, CallBudget

    s = settings()
    return CallBudget(
        aws_client("dynamodb"),
        s.table_name,
        per_minute=s.xero_calls_per_minute,
        per_day=s.xero_day_limit - DAY_RESERVE,
    )


@cached
def backlog_reader() -> BacklogReader:
    from shared.domain.backlog import BacklogReader

    return BacklogReader(connections(), outbox(), call_budget(), time.time, backfill_progress())


@cached
def push_parts() -> PushParts:
    from shared.adapters.org_registry import OrganisationRegistry
    from shared.domain.push.context import PushParts

    s = settings()
    return PushParts(
        connections=connections(),
        settings=account_settings(),
        records=sync_records(),
        registry=OrganisationRegistry(aws_client("dynamodb"), s.table_name),
        tokens=token_manager(),
        xero=xero(),
        budget=call_budget(),
        queue=invoice_queue(),
        alerts=queued_alerts(),
        max_receives=s.queue_max_receives,
        invoice_url=s.platform_invoice_url,
        status_events=status_events(),
        outbox=outbox(),
        tickets=flush_tickets(),
        coalesce_seconds=s.push_coalesce_seconds,
        progress=backfill_progress(),
    )


@cached
def backfill_progress() -> BackfillProgress:
    from shared.adapters.backfill_progress import BackfillProgress

    return BackfillProgress(aws_client("dynamodb"), settings().table_name)


@cached
def sync_records() -> SyncRecords:
    from shared.adapters.sync_records import SyncRecords

    return SyncRecords(aws_client("dynamodb"), settings().table_name)


@cached
def alerts() -> Alerts:
    return _alerts(mailer())


def _alerts(mailer: Mailer) -> Alerts:
    from shared.adapters.alert_records import AlertRecords
    from shared.domain.alerts import Alerts
    from shared.emails.messages import EmailContext

    s = settings()
    return Alerts(
        mailer=mailer,
        records=AlertRecords(aws_client("dynamodb"), s.table_name),
        connections=connections(),
        account_settings=account_settings(),
        context=EmailContext(
            brand=s.brand_name,
            settings_url=s.platform_settings_url,
            invoice_url=s.platform_invoice_url,
            inactivity_days=s.inactivity_days,
        ),
    )


@cached
def alert_queue() -> AlertQueue:
    from shared.adapters.alert_queue import AlertQueue

    s = settings()
    return AlertQueue(aws_client("sqs"), s.alert_queue_url, s.alert_dead_letter_queue_url)


@cached
def queued_alerts() -> QueuedAlerts:
    """What the push calls to email the owner: the same methods as alerts(), through the alert queue."""
    from shared.domain.queued_alerts import QueuedAlerts

    return QueuedAlerts(alert_queue())


@cached
def alert_delivery() -> AlertDelivery:
    from shared.adapters.mailer import Mailer
    from shared.domain.queued_alerts import AlertDelivery, RetryPolicy

    s = settings()
    # Two tries per receive: the queue retries with a longer backoff, and the function's time is bounded.
    sender = Mailer(ses_client(), s.alert_sender, sender_name=s.brand_name, attempts=2)
    policy = RetryPolicy(
        max_receives=s.alert_queue_max_receives,
        base_seconds=s.alert_retry_base_seconds,
        max_seconds=s.alert_retry_max_seconds,
    )
    return AlertDelivery(_alerts(sender), alert_queue(), policy)


@cached
def sweep() -> Sweep:
    from shared.adapters.sweep_index import SweepIndex
    from shared.domain.sweep import Sweep

    repo = connections()
    return Sweep(
        index=SweepIndex(aws_client("dynamodb"), settings().table_name),
        connections=repo,
        disconnector=disconnector(),
        alerts=alerts(),
        policy=repo.policy,
    )


@cached
def xero_cache() -> XeroReadCache:
    from shared.adapters.xero_cache import XeroReadCache

    return XeroReadCache(aws_client("dynamodb"), settings().table_name, max_age=settings().xero_cache_seconds)


@cached
def management() -> ManagementService:
    from shared.domain.management import ManagementService

    return ManagementService(
        connections(),
        account_settings(),
        token_manager(),
        xero(),
        xero_cache(),
        disconnector(),
        on_ready=lambda account_id: requeue().release_parked(account_id),
    )


@cached
def invoice_queue() -> InvoiceQueue:
    from shared.adapters.queue import InvoiceQueue

    s = settings()
    return InvoiceQueue(aws_client("sqs"), s.queue_url, s.dead_letter_queue_url)


@cached
def requeue() -> Requeue:
    from shared.domain.requeue import Requeue

    return Requeue(sync_records(), invoice_queue())


@cached
def settings_page() -> SettingsPage:
    from shared.adapters.activity import ActivityLog
    from shared.adapters.page_sessions import PageSessionStore
    from shared.domain.settings_page import SessionPolicy, SettingsPage

    s = settings()
    client = aws_client("dynamodb")
    return SettingsPage(
        management=management(),
        records=sync_records(),
        activity=ActivityLog(client, s.table_name),
        requeue=requeue(),
        sessions=PageSessionStore(client, s.table_name),
        link_secret=lambda: secrets().text(s.connect_link_secret_arn),
        backlog=backlog_reader().backlog,
        reconciler=reconciler(),
        backfill=backlog_reader().backfill,
        policy=SessionPolicy(
            idle_seconds=s.settings_session_idle_seconds,
            max_seconds=s.settings_session_max_seconds,
            link_max_age_seconds=s.connect_link_max_age_seconds,
        ),
    )


@cached
def reconcile_queue() -> ReconcileQueue:
    from shared.adapters.reconcile_queue import ReconcileQueue

    return ReconcileQueue(aws_client("sqs"), settings().reconcile_queue_url)


@cached
def reconciler() -> Reconciler:
    from shared.adapters.reconciliation import ReconciliationStore
    from shared.adapters.sweep_index import SweepIndex
    from shared.domain.reconcile.service import Reconciler

    s = settings()
    client = aws_client("dynamodb")
    return Reconciler(
        connections=connections(),
        store=ReconciliationStore(client, s.table_name),
        tokens=token_manager(),
        xero=xero(),
        budget=call_budget(),
        outbox=outbox(),
        queue=reconcile_queue(),
        index=SweepIndex(client, s.table_name),
        requeue=requeue(),
        on_complete=lambda account_id, run, differences: queued_alerts().reconciliation_digest(
            account_id, run, differences
        ),
    )
