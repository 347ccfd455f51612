"""The drop-in settings page's logic: its sessions, what it shows, and what its forms change.

A session starts from a settings link the platform signed (:mod:`shared.connect_link`, purpose
``settings``): the link is checked, used once, and traded for a random session id that only the
browser's cookie holds (the table keeps its hash). The session is bound to the link's account for
its whole life: no request names an account, so a session can read and change nothing else. It ends
after ``settings_session_idle_seconds`` unused or ``settings_session_max_seconds`` after it began,
whichever comes first. Every form carries the session's CSRF token.

What the page shows and changes goes through the management API's own domain code
(:class:`~shared.domain.management.ManagementService`), the push's sync records and the retry of
:class:`~shared.domain.requeue.Requeue`: the page and the API can never disagree.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import ValidationError

from shared.adapters.page_sessions import PageSession
from shared.connect_link import ConnectLinkError, sign_connect_link, verify_settings_link
from shared.domain.backlog import BackfillStatus, Backlog
from shared.errors import RequestRefused, StorageError, SyncError
from shared.models import api
from shared.observability import logger

if TYPE_CHECKING:
    from shared.adapters.activity import ActivityLog
    from shared.adapters.page_sessions import PageSessionStore
    from shared.adapters.sync_records import SyncRecords
    from shared.domain.management import ManagementService
    from shared.domain.reconcile.service import Reconciler
    from shared.domain.requeue import Requeue
    from shared.models.chart import XeroAccount
    from shared.models.reconcile import Difference, ReconcileRun

T_co = TypeVar("T_co", covariant=True)
M = TypeVar("M")
DISCONNECT_REASON = "disconnected in the settings page"
TOUCH_EVERY_SECONDS = 60
CONNECT_LINK_SECONDS = 300
RECENT_SYNCS = 15
FAILURES_SHOWN = 20


@dataclass(frozen=True)
class SessionPolicy:
    idle_seconds: int = 1800
    max_seconds: int = 28800
    link_max_age_seconds: int = 900


@dataclass(frozen=True)
class OpenedSession:
    session_id: str
    session: PageSession

    def __repr__(self) -> str:
        return f"OpenedSession(account_id={self.session.account_id!r})"


@dataclass(frozen=True)
class Loaded(Generic[T_co]):
    """One section's data, or why it could not be read (the rest of the page still shows)."""

    value: T_co | None = None
    problem: str | None = None


@dataclass(frozen=True)
class FailureRow:
    invoice_id: str
    payment_id: str | None
    number: str | None
    code: str
    message: str
    fix: str
    xero_messages: list[str]
    failed_at: str | None
    credit: str | None = None  # "Credit note CN-1" or "Refund rf-1 of credit note CN-1": not an invoice


@dataclass(frozen=True)
class ActivityRow:
    invoice_id: str
    payment_id: str | None
    number: str | None
    state: str
    xero_status: str | None
    total: float | None
    at: str | None
    error_code: str | None
    credit: str | None = None  # as in FailureRow


@dataclass(frozen=True)
class Activity:
    failures: Loaded[list[FailureRow]]
    recent: Loaded[list[ActivityRow]]
    backlog: Backlog | None
    watching: str | None = None  # a retried invoice this view is waiting to see synced
    backfill: BackfillStatus | None = None  # the account's history being imported, if it ever was


@dataclass(frozen=True)
class Reconciliation:
    """The last reconciliation against Xero and the differences it found (open ones first)."""

    run: ReconcileRun | None
    differences: list[Difference]


@dataclass(frozen=True)
class PageView:
    account_id: str
    connection: api.ConnectionView
    settings: Loaded[api.SettingsView] = field(default_factory=Loaded)
    payment_accounts: Loaded[api.PaymentAccountsView] = field(default_factory=Loaded)
    sales_accounts: Loaded[list[XeroAccount]] = field(default_factory=Loaded)
    tax_rates: Loaded[api.TaxRatesView] = field(default_factory=Loaded)
    tax_mappings: Loaded[api.TaxMappingsView] = field(default_factory=Loaded)
    items: Loaded[api.ItemsView] = field(default_factory=Loaded)
    product_mappings: Loaded[api.ProductMappingsView] = field(default_factory=Loaded)
    tracking_categories: Loaded[api.TrackingCategoriesView] = field(default_factory=Loaded)
    tracking_mappings: Loaded[api.TrackingMappingsView] = field(default_factory=Loaded)
    activity: Activity | None = None
    reconciliation: Loaded[Reconciliation] = field(default_factory=Loaded)

    @property
    def known(self) -> bool:
        return self.connection.status != "not_connected"

    @property
    def connected(self) -> bool:
        return self.connection.status == "connected"

    @property
    def ready(self) -> bool:
        """Connected with an organisation chosen: Xero's accounts and tax rates can be read."""
        return self.connected and self.connection.organisation is not None


class SettingsPage:
    def __init__(
        self,
        *,
        management: ManagementService,
        records: SyncRecords,
        activity: ActivityLog,
        requeue: Requeue,
        sessions: PageSessionStore,
        link_secret: Callable[[], str],
        policy: SessionPolicy,
        backlog: Callable[[str], Backlog | None] = lambda account_id: None,
        reconciler: Reconciler | None = None,
        clock: Callable[[], float] = time.time,
        backfill: Callable[[str], BackfillStatus | None] = lambda account_id: None,
    ) -> None:
        self._management = management
        self._reconciler = reconciler
        self._backlog = backlog
        self._backfill = backfill
        self._records = records
        self._activity = activity
        self._requeue = requeue
        self._sessions = sessions
        self._link_secret = link_secret
        self._policy = policy
        self._clock = clock

    # --- sessions ------------------------------------------------------------------------------

    def open(self, account_id: str | None, expires: str | None, signature: str | None) -> OpenedSession:
        """Trade a signed settings link for a new session of its account (the link is then used up)."""
        now = int(self._clock())
        try:
            account = verify_settings_link(
                self._link_secret(),
                account_id,
                expires,
                signature,
                now=now,
                max_age=self._policy.link_max_age_seconds,
            )
        except ConnectLinkError as exc:
            raise RequestRefused("link_refused", f"This settings link cannot be used: {exc}.", status=403) from None
        if not self._sessions.use_link(str(signature), int(str(expires))):
            raise RequestRefused(
                "link_used", "This settings link was already used: open the settings again for a new one.", status=403
            )
        session_id = secrets.token_urlsafe(32)
        session = PageSession(
            session_hash="",
            account_id=account,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + self._policy.max_seconds,
        )
        self._sessions.create(session_id, session)
        logger.info("settings session opened", extra={"account_id": account})
        return OpenedSession(session_id, session)

    def session(self, session_id: str | None) -> PageSession:
        """The live session the cookie names; refused (401) when there is none or it has ended."""
        if not session_id or len(session_id) > 100:
            raise RequestRefused("no_session", "There is no settings session in this browser.", status=401)
        session = self._sessions.get(session_id)
        if session is None:
            raise RequestRefused("no_session", "This settings session has ended.", status=401)
        now = int(self._clock())
        if now >= session.expires_at or now - session.last_seen_at >= self._policy.idle_seconds:
            self._sessions.end(session)
            raise RequestRefused("session_expired", "This settings session has expired.", status=401)
        if now - session.last_seen_at >= TOUCH_EVERY_SECONDS:
            self._sessions.touch(session, now)
        return session

    @staticmethod
    def check_csrf(session: PageSession, token: str | None) -> None:
        if not token or not hmac.compare_digest(token.encode(), session.csrf_token.encode()):
            raise RequestRefused(
                "csrf_refused", "This form is out of date or was not sent by the settings page.", status=403
            )

    def end(self, session: PageSession) -> None:
        self._sessions.end(session)
        logger.info("settings session ended", extra={"account_id": session.account_id})

    # --- what the page shows -------------------------------------------------------------------

    def view(self, account_id: str, *, watch: str | None = None, since: str | None = None) -> PageView:
        connection = self._management.connection(account_id)
        view = PageView(account_id=account_id, connection=connection)
        if not view.known:
            return view
        m = self._management
        ready = view.ready
        return PageView(
            account_id=account_id,
            connection=connection,
            settings=_load(lambda: m.settings(account_id)),
            payment_accounts=_load(lambda: m.payment_accounts(account_id)) if ready else Loaded(),
            sales_accounts=_load(lambda: m.sales_accounts(account_id)) if ready else Loaded(),
            tax_rates=_load(lambda: m.tax_rates(account_id)) if ready else Loaded(),
            tax_mappings=_load(lambda: m.tax_mappings(account_id)),
            items=_load(lambda: m.items(account_id)) if ready else Loaded(),
            product_mappings=_load(lambda: m.product_mappings(account_id)),
            tracking_categories=_load(lambda: m.tracking_categories(account_id)) if ready else Loaded(),
            tracking_mappings=_load(lambda: m.tracking_mappings(account_id)),
            activity=self.activity(account_id, watch=watch, since=since),
            reconciliation=_load(lambda: self._reconciliation(account_id)) if self._reconciler else Loaded(),
        )

    def _reconciliation(self, account_id: str) -> Reconciliation:
        assert self._reconciler is not None
        run, differences = self._reconciler.report(account_id)
        return Reconciliation(run=run, differences=differences)

    # --- reconciliation: the same domain code as the management API's routes ---------------------

    def check_now(self, account_id: str) -> None:
        if self._reconciler is None or self._reconciler.request(account_id) is None:
            raise RequestRefused("not_connected", "Xero is not connected, so it cannot be checked now.", status=409)

    def accept_difference(self, account_id: str, invoice_id: str) -> None:
        if self._reconciler is None or self._reconciler.accept(account_id, _named(invoice_id)) is None:
            raise RequestRefused("unknown_difference", "That difference is no longer reported.", status=404)

    def resend_difference(self, account_id: str, invoice_id: str) -> None:
        found = self._reconciler.resend(account_id, _named(invoice_id)) if self._reconciler else None
        if found is None:
            raise RequestRefused("unknown_difference", "That difference is no longer reported.", status=404)

    def activity(self, account_id: str, *, watch: str | None = None, since: str | None = None) -> Activity:
        failures = _load(lambda: [_failure_row(item) for item in self._records.failures(account_id, FAILURES_SHOWN)])
        recent = _load(lambda: [_activity_row(item) for item in self._activity.recent(account_id, RECENT_SYNCS)])
        watching = watch if watch and not self._settled(account_id, watch, since) else None
        return Activity(
            failures=failures,
            recent=recent,
            backlog=self._backlog_of(account_id),
            watching=watching,
            backfill=self._backfill_of(account_id),
        )

    def _backfill_of(self, account_id: str) -> BackfillStatus | None:
        """The backfill's progress, shown once the account has imported any history."""
        try:
            status = self._backfill(account_id)
        except StorageError:
            logger.warning("could not read the backfill's progress", extra={"account_id": account_id})
            return None
        if status is None or not (status.waiting or status.synced or status.failed):
            return None
        return status

    def _backlog_of(self, account_id: str) -> Backlog | None:
        """The backlog figure; none when the outbox or the budget cannot be read (the page still shows)."""
        try:
            return self._backlog(account_id)
        except StorageError:
            logger.warning("could not read the backlog", extra={"account_id": account_id})
            return None

    def _settled(self, account_id: str, invoice_id: str, since: str | None) -> bool:
        """A retried invoice has synced, or failed again since the retry (there is nothing to wait for)."""
        try:
            record = self._records.invoice(account_id, invoice_id)
        except SyncError:
            return False
        if record is None:
            return True
        if record.pending_version:
            return False
        if record.state == "synced":
            return True
        return bool(since and (record.failed_at or "") > since)

    # --- what its forms change -----------------------------------------------------------------

    def choose_organisation(self, account_id: str, tenant_id: str) -> api.OrganisationChoice:
        body = _valid(api.ChooseOrganisation, {"tenant_id": tenant_id})
        choice = self._management.choose_organisation(account_id, body.tenant_id)
        try:  # as the API's route does: events parked while no organisation was chosen can go now
            self._requeue.release_parked(account_id)
        except SyncError:
            logger.exception("could not release parked events", extra={"account_id": account_id})
        return choice

    def choose_payment_account(self, account_id: str, xero_account_id: str) -> api.SettingsView:
        body = _valid(api.ChoosePaymentAccount, {"account_id": xero_account_id})
        return self._management.choose_payment_account(account_id, body)

    def set_sales_account(self, account_id: str, code: str) -> api.SettingsView:
        patch = _valid(api.SettingsPatch, {"sales_account_code": code or None})
        return self._management.update_settings(account_id, patch)

    def set_default_tax_type(self, account_id: str, tax_type: str) -> api.SettingsView:
        patch = _valid(api.SettingsPatch, {"default_tax_type": tax_type or None})
        return self._management.update_settings(account_id, patch)

    def map_tax(self, account_id: str, platform_tax_id: str, tax_type: str) -> api.TaxMappingView:
        body = _valid(api.TaxMappingIn, {"platform_tax_id": platform_tax_id.strip(), "tax_type": tax_type})
        return self._management.set_tax_mapping(account_id, body.platform_tax_id, body.tax_type)

    def unmap_tax(self, account_id: str, platform_tax_id: str) -> api.TaxMappingsView:
        return self._management.delete_tax_mapping(account_id, platform_tax_id)

    def map_product(
        self, account_id: str, product_id: str, item_code: str, account_code: str
    ) -> api.ProductMappingView:
        if not item_code and not account_code:
            raise RequestRefused("invalid_request", "Choose a Xero item, an account, or both for the product.")
        body = _valid(api.SetProductMapping, {"item_code": item_code or None, "account_code": account_code or None})
        return self._management.set_product_mapping(account_id, product_id.strip(), body)

    def unmap_product(self, account_id: str, product_id: str) -> api.ProductMappingsView:
        return self._management.delete_product_mapping(account_id, product_id)

    def map_tracking(self, account_id: str, dimension: str, value: str, option: str) -> api.TrackingMappingView:
        """Map one value of a dimension to an option (``<TrackingCategoryID>:<TrackingOptionID>``), keeping
        the dimension's other values; saving checks them all against Xero again, with their current names."""
        category_id, _, option_id = option.partition(":")
        if not category_id or not option_id:
            raise RequestRefused("invalid_request", "Choose the Xero tracking option the value becomes.")
        values = {"dimension": dimension, "category": category_id, "options": {value: option_id}}
        chosen = _valid(api.TrackingMappingIn, values)
        current = self._dimension_mapping(account_id, chosen.dimension)
        options = {o.value: o.option_id for o in current.options} if current else {}
        if current is not None and current.tracking_category_id != category_id and set(options) - set(chosen.options):
            raise RequestRefused(
                "tracking_category_taken",
                f"The dimension {chosen.dimension!r} goes to the Xero tracking category '{current.category_name}'. "
                "Remove its values first to map it to another category.",
            )
        body = api.SetTrackingMapping(category=category_id, options=options | dict(chosen.options))
        return self._management.set_tracking_mapping(account_id, chosen.dimension, body)

    def unmap_tracking(self, account_id: str, dimension: str, value: str) -> api.TrackingMappingsView:
        current = self._dimension_mapping(account_id, dimension)
        remaining = {o.value: o.option_id for o in current.options if o.value != value} if current else {}
        if current is None or not remaining:
            return self._management.delete_tracking_mapping(account_id, dimension)
        body = api.SetTrackingMapping(category=current.tracking_category_id, options=remaining)
        self._management.set_tracking_mapping(account_id, dimension, body)
        return self._management.tracking_mappings(account_id)

    def set_unmapped_dimensions(self, account_id: str, policy: str) -> api.SettingsView:
        patch = _valid(api.SettingsPatch, {"unmapped_dimensions": policy})
        return self._management.update_settings(account_id, patch)

    def _dimension_mapping(self, account_id: str, dimension: str) -> api.TrackingMappingView | None:
        mappings = self._management.tracking_mappings(account_id).mappings
        return next((m for m in mappings if m.dimension == dimension), None)

    def set_alert_recipients(self, account_id: str, text: str) -> api.SettingsView:
        addresses = [a for a in text.replace(",", "\n").split() if a]
        patch = _valid(api.SettingsPatch, {"alert_recipients": addresses})
        return self._management.update_settings(account_id, patch)

    def retry(self, account_id: str, invoice_id: str) -> int:
        if not invoice_id or len(invoice_id) > 128:
            raise RequestRefused("invalid_request", "No invoice was named to retry.")
        queued = self._requeue.retry_invoice(account_id, invoice_id)
        if queued == 0:
            raise RequestRefused("nothing_to_retry", "Nothing of this invoice has failed: there is nothing to retry.")
        return queued

    def disconnect(self, account_id: str) -> api.DisconnectView:
        return self._management.disconnect(account_id, reason=DISCONNECT_REASON)

    def connect_link(self, account_id: str, connect_url: str) -> str:
        """Where the Connect and Reconnect buttons send the user: a fresh connect link of the session's account."""
        return sign_connect_link(connect_url, self._link_secret(), account_id, CONNECT_LINK_SECONDS)


# --- helpers ----------------------------------------------------------------------------------


def _named(invoice_id: str) -> str:
    if not invoice_id or len(invoice_id) > 128:
        raise RequestRefused("invalid_request", "No invoice was named.")
    return invoice_id


def _load(read: Callable[[], T_co]) -> Loaded[T_co]:
    try:
        return Loaded(value=read())
    except SyncError as exc:
        logger.warning("settings page section not loaded", extra={"error": exc.code})
        return Loaded(problem=user_message(exc))


def user_message(exc: SyncError) -> str:
    """What the page tells its user about a domain error: the domain's words, or a plain retry hint."""
    if exc.retryable:
        return "Xero or this service is unavailable right now; try again in a minute."
    return exc.message


def _valid(model: type[M], values: dict[str, Any]) -> M:
    try:
        return model.model_validate(values)  # type: ignore[attr-defined,no-any-return]
    except ValidationError as exc:
        problems = "; ".join(str(e.get("msg", "invalid")).removeprefix("Value error, ") for e in exc.errors()[:3])
        raise RequestRefused("invalid_request", f"That value cannot be used: {problems}.") from None


def _failure_row(item: dict[str, Any]) -> FailureRow:
    return FailureRow(
        invoice_id=str(item.get("invoice_id", "")),
        payment_id=item.get("payment_id"),
        number=item.get("number"),
        code=str(item.get("error_code", "")),
        message=str(item.get("error_message", "")),
        fix=str(item.get("error_fix", "")),
        xero_messages=[str(m) for m in item.get("xero_messages") or []],
        failed_at=item.get("failed_at"),
        credit=credit_name(item),
    )


def _activity_row(item: dict[str, Any]) -> ActivityRow:
    total = item.get("total")
    return ActivityRow(
        invoice_id=str(item.get("invoice_id", "")),
        payment_id=item.get("payment_id"),
        number=item.get("number"),
        state=str(item.get("state", "")),
        xero_status=item.get("xero_status"),
        total=float(total) if isinstance(total, int | float) else None,
        at=item.get("activity_at"),
        error_code=item.get("error_code"),
        credit=credit_name(item),
    )


def credit_name(item: dict[str, Any]) -> str | None:
    """What a credit note's or refund's record is called on the page (its sort key says which it is:
    every index projects the table's keys)."""
    sk = str(item.get("sk", ""))
    if sk.startswith("CREDIT_NOTE#"):
        return f"Credit note {item.get('number') or sk.removeprefix('CREDIT_NOTE#')}"
    if sk.startswith("REFUND#"):
        refund = sk.removeprefix("REFUND#")
        return f"Refund {refund} of credit note {item.get('credit_note_id') or '(not known)'}"
    return None


def moment(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
