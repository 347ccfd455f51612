"""Everything the Xero sandbox holds, in memory, behind one lock.

The model follows Xero's: an *app* (client id) is authorised by a *user* for some *organisations*;
that authorisation (a *grant*) owns the *connections* (one per organisation) and the rotating
refresh tokens; access tokens are short-lived JWTs naming the grant.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from local.xero_sandbox.clock import SandboxClock
from local.xero_sandbox.idempotency import RETENTION_SECONDS, IdempotencyStore
from local.xero_sandbox.limits import Limits, RateLimiter

ACCESS_TOKEN_SECONDS = 30 * 60
REFRESH_TOKEN_IDLE_SECONDS = 60 * 24 * 3600
REFRESH_GRACE_SECONDS = 30 * 60
CODE_SECONDS = 5 * 60

DEFAULT_CLIENT_ID = "SANDBOXCLIENTID0000000000000000"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret-not-for-production"  # noqa: S105 - the sandbox's own fixed test secret

VALID_SCOPES = frozenset(
    {
        "openid",
        "profile",
        "email",
        "offline_access",
        "accounting.transactions",
        "accounting.transactions.read",
        "accounting.invoices",
        "accounting.invoices.read",
        "accounting.payments",
        "accounting.payments.read",
        "accounting.contacts",
        "accounting.contacts.read",
        "accounting.settings",
        "accounting.settings.read",
        "accounting.reports.read",
        "accounting.journals.read",
        "accounting.attachments",
        "accounting.attachments.read",
    }
)


@dataclass
class App:
    client_id: str
    client_secret: str
    redirect_uris: set[str] = field(default_factory=set)
    name: str = "Invoice Sync (sandbox app)"


@dataclass
class User:
    user_id: str
    email: str
    given_name: str = "Sam"
    family_name: str = "Owner"


@dataclass
class Organisation:
    tenant_id: str
    name: str
    profile: dict[str, Any]
    accounts: list[dict[str, Any]]
    tax_rates: list[dict[str, Any]]
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, Any] = field(default_factory=dict)  # InvoiceID -> invoices.Invoice
    payments: dict[str, Any] = field(default_factory=dict)  # PaymentID -> payments.Payment
    extra: dict[str, Any] = field(default_factory=dict)
    currencies: list[str] = field(default_factory=list)  # besides the base currency
    invoice_numbers: dict[str, str] = field(default_factory=dict)  # sales invoice number -> InvoiceID
    next_invoice_number: int = 1
    stats: Counter[str] = field(default_factory=Counter)
    period_lock_date: dt.date | None = None  # lock dates (see locks.py)
    end_of_year_lock_date: dt.date | None = None
    items: list[dict[str, Any]] = field(default_factory=list)  # as Xero answers them (see catalogue.py)
    archived_items: set[str] = field(default_factory=set)  # ItemIDs archived in Xero: not listed, not usable
    tracking_categories: list[dict[str, Any]] = field(default_factory=list)  # with their Options and Status

    @property
    def base_currency(self) -> str:
        return str(self.profile.get("BaseCurrency", ""))

    def account_by_code(self, code: str) -> dict[str, Any] | None:
        return next((a for a in self.accounts if a.get("Code") == code), None)

    def account_by_id(self, account_id: str) -> dict[str, Any] | None:
        wanted = account_id.lower()
        return next((a for a in self.accounts if a["AccountID"].lower() == wanted), None)

    def tax_rate(self, tax_type: str) -> dict[str, Any] | None:
        return next((t for t in self.tax_rates if t["TaxType"] == tax_type), None)


@dataclass
class TenantLink:
    """A connection: one organisation reachable through one grant."""

    id: str
    tenant_id: str
    auth_event_id: str
    created: float
    updated: float


@dataclass
class Grant:
    grant_id: str
    client_id: str
    user_id: str
    scopes: list[str]
    connections: dict[str, TenantLink] = field(default_factory=dict)
    revoked: bool = False


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    code_challenge: str | None
    scopes: list[str]
    user_id: str
    tenant_ids: list[str]
    auth_event_id: str
    expires_at: float
    used: bool = False


@dataclass
class RefreshRecord:
    token: str
    grant_id: str
    issued_at: float
    rotated_to: str | None = None
    rotated_at: float | None = None
    answered: bool = True
    revoked: bool = False


@dataclass
class AccessRecord:
    jti: str
    grant_id: str
    scopes: list[str]
    expires_at: float
    auth_event_id: str


@dataclass
class ConsentPolicy:
    """What the automatic consent page does for the next authorisations."""

    tenant_ids: list[str] | None = None  # None: every organisation
    deny: bool = False
    user_id: str | None = None


class SandboxState:
    def __init__(
        self,
        clock: SandboxClock | None = None,
        limits: Limits | None = None,
        idempotency_retention_seconds: float = RETENTION_SECONDS,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock or SandboxClock()
        self.limiter = RateLimiter(limits)
        self.idempotency = IdempotencyStore(idempotency_retention_seconds)
        self.signing_key = secrets.token_bytes(32)
        self.apps: dict[str, App] = {}
        self.users: dict[str, User] = {}
        self.organisations: dict[str, Organisation] = {}
        self.grants: dict[str, Grant] = {}
        self.codes: dict[str, AuthCode] = {}
        self.refresh_tokens: dict[str, RefreshRecord] = {}
        self.access_tokens: dict[str, AccessRecord] = {}
        self.consent = ConsentPolicy()
        self.stats: Counter[str] = Counter()
        self.extensions: dict[str, Any] = {}

    # --- setup ---------------------------------------------------------------------------------

    def add_app(self, client_id: str, client_secret: str, redirect_uris: set[str] | None = None) -> App:
        with self.lock:
            app = self.apps.get(client_id) or App(client_id, client_secret)
            app.client_secret = client_secret
            app.redirect_uris |= redirect_uris or set()
            self.apps[client_id] = app
            return app

    def add_user(self, email: str, user_id: str | None = None) -> User:
        with self.lock:
            user = User(user_id=user_id or str(uuid.uuid4()), email=email)
            self.users[user.user_id] = user
            return user

    def default_user(self) -> User:
        with self.lock:
            chosen = self.consent.user_id
            if chosen and chosen in self.users:
                return self.users[chosen]
            return next(iter(self.users.values()))

    # --- tokens --------------------------------------------------------------------------------

    def issue_access_token(self, grant: Grant, auth_event_id: str) -> tuple[str, AccessRecord]:
        now = self.clock.now()
        record = AccessRecord(
            jti=uuid.uuid4().hex,
            grant_id=grant.grant_id,
            scopes=list(grant.scopes),
            expires_at=now + ACCESS_TOKEN_SECONDS,
            auth_event_id=auth_event_id,
        )
        self.access_tokens[record.jti] = record
        user = self.users[grant.user_id]
        claims = {
            "nbf": int(now),
            "exp": int(record.expires_at),
            "iss": "https://identity.xero.com",
            "aud": "https://identity.xero.com/resources",
            "client_id": grant.client_id,
            "sub": user.user_id,
            "xero_userid": user.user_id,
            "global_session_id": grant.grant_id,
            "authentication_event_id": auth_event_id,
            "jti": record.jti,
            "scope": grant.scopes,
        }
        return self.sign(claims), record

    def issue_id_token(self, grant: Grant, nonce: str | None = None) -> str:
        now = self.clock.now()
        user = self.users[grant.user_id]
        claims: dict[str, Any] = {
            "nbf": int(now),
            "exp": int(now) + 300,
            "iss": "https://identity.xero.com",
            "aud": grant.client_id,
            "iat": int(now),
            "sub": user.user_id,
            "xero_userid": user.user_id,
            "global_session_id": grant.grant_id,
        }
        if "email" in grant.scopes:
            claims["email"] = user.email
        if "profile" in grant.scopes:
            claims |= {"given_name": user.given_name, "family_name": user.family_name}
        if nonce:
            claims["nonce"] = nonce
        return self.sign(claims)

    def issue_refresh_token(self, grant: Grant) -> RefreshRecord:
        record = RefreshRecord(token=secrets.token_hex(32), grant_id=grant.grant_id, issued_at=self.clock.now())
        self.refresh_tokens[record.token] = record
        return record

    def sign(self, claims: dict[str, Any]) -> str:
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "sandbox"}).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = _b64(hmac.new(self.signing_key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        return f"{header}.{payload}.{signature}"

    def verify(self, token: str) -> dict[str, Any] | None:
        try:
            header, payload, signature = token.split(".")
        except ValueError:
            return None
        expected = _b64(hmac.new(self.signing_key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, signature):
            return None
        claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return claims

    def access_record(self, bearer: str) -> AccessRecord | None:
        """The live access token behind ``bearer``, or None (unknown, expired, or grant revoked)."""
        claims = self.verify(bearer)
        if claims is None:
            return None
        with self.lock:
            record = self.access_tokens.get(str(claims.get("jti")))
            if record is None or record.expires_at <= self.clock.now():
                return None
            grant = self.grants.get(record.grant_id)
            if grant is None or grant.revoked:
                return None
            return record

    def clone_organisation(self, tenant_id: str, count: int, *, name: str = "Clone") -> list[str]:
        """``count`` organisations like ``tenant_id`` (its accounts, tax rates and settings; no contacts,
        invoices or payments), each with its own tenant id; their ids."""
        template = self.organisations[tenant_id]
        tenants = []
        with self.lock:
            base = uuid.UUID(tenant_id).int + len(self.organisations)
            for n in range(count):
                clone_id = str(uuid.UUID(int=(base + n) % 2**128))
                org = copy.deepcopy(template)
                org.tenant_id = clone_id
                org.name = f"{name} {len(self.organisations) + 1:04d}"
                org.contacts, org.invoices, org.payments, org.invoice_numbers = {}, {}, {}, {}
                org.stats.clear()
                self.organisations[clone_id] = org
                tenants.append(clone_id)
        return tenants

    def grant_access(
        self,
        scopes: list[str] | tuple[str, ...],
        tenant_ids: list[str] | None = None,
        client_id: str = DEFAULT_CLIENT_ID,
    ) -> str:
        """An access token for ``client_id`` to ``tenant_ids`` (default: every organisation) with
        ``scopes``, without the consent dance: for tests and benchmarks that only need the API."""
        with self.lock:
            user = self.default_user()
            grant = Grant(grant_id=str(uuid.uuid4()), client_id=client_id, user_id=user.user_id, scopes=list(scopes))
            now = self.clock.now()
            event = str(uuid.uuid4())
            for tenant_id in tenant_ids if tenant_ids is not None else list(self.organisations):
                grant.connections[tenant_id] = TenantLink(str(uuid.uuid4()), tenant_id, event, now, now)
            self.grants[grant.grant_id] = grant
            token, _ = self.issue_access_token(grant, event)
            return token

    def set_lock_dates(
        self, tenant_id: str, period_lock_date: dt.date | None, end_of_year_lock_date: dt.date | None
    ) -> None:
        """Set (or, with None, clear) an organisation's lock dates."""
        with self.lock:
            org = self.organisations[tenant_id]
            org.period_lock_date, org.end_of_year_lock_date = period_lock_date, end_of_year_lock_date

    def revoke_grant(self, grant_id: str) -> None:
        with self.lock:
            grant = self.grants.get(grant_id)
            if grant is None:
                return
            grant.revoked = True
            grant.connections.clear()
            for record in self.refresh_tokens.values():
                if record.grant_id == grant_id:
                    record.revoked = True


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
