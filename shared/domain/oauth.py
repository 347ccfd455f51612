"""The consent flow: a signed connect link starts it, Xero's callback finishes it.

``start`` checks the platform's signature, stores a single-use state (bound to the account, to a
PKCE verifier and to a cookie on the user's browser) and returns Xero's authorize URL. ``finish``
consumes that state, exchanges the code, reads the granted organisations and stores the connection.
Everything refused raises :class:`OAuthRefused` with a message that is safe to show the user.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.adapters.connections import ConnectionRepository
from shared.adapters.oauth_state import OAuthStateStore, PendingConsent, digest
from shared.adapters.settings import SettingsRepository
from shared.adapters.xero import XeroClient
from shared.config import Settings
from shared.connect_link import ConnectLinkError, verify_connect_link
from shared.domain.tokens import TokenManager
from shared.errors import OAuthRefused, XeroAuthLost, XeroError
from shared.models.connection import Connection, Tenant
from shared.models.xero import ClientCredentials, TenantConnection
from shared.observability import logger

ORGANISATION = "ORGANISATION"


@dataclass(frozen=True)
class ConsentStart:
    authorize_url: str
    browser_binding: str
    max_age: int


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class ConnectFlow:
    def __init__(
        self,
        settings: Settings,
        *,
        states: OAuthStateStore,
        connections: ConnectionRepository,
        tokens: TokenManager,
        xero: XeroClient,
        credentials: Callable[[], ClientCredentials],
        link_secret: Callable[[], str],
        account_settings: SettingsRepository | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._states = states
        self._connections = connections
        self._tokens = tokens
        self._xero = xero
        self._credentials = credentials
        self._link_secret = link_secret
        self._account_settings = account_settings
        self._clock = clock

    def start(
        self, *, account_id: str | None, expires: str | None, signature: str | None, redirect_uri: str
    ) -> ConsentStart:
        now = int(self._clock().timestamp())
        try:
            account = verify_connect_link(
                self._link_secret(),
                account_id,
                expires,
                signature,
                now=now,
                max_age=self._settings.connect_link_max_age_seconds,
            )
        except ConnectLinkError as exc:
            raise OAuthRefused(
                "This connect link is not valid. Open the Xero connection again from your account.",
                reason=str(exc),
            ) from None
        state = secrets.token_urlsafe(32)
        binding = secrets.token_urlsafe(32)
        verifier, challenge = pkce_pair()
        ttl = self._settings.oauth_state_ttl_seconds
        self._states.put(
            state,
            PendingConsent(
                account_id=account,
                code_verifier=verifier,
                browser_binding=digest(binding),
                redirect_uri=redirect_uri,
                expires_at=now + ttl,
            ),
        )
        url = self._xero.authorize_url(
            client_id=self._credentials().client_id,
            redirect_uri=redirect_uri,
            state=state,
            code_challenge=challenge,
        )
        logger.info("consent started", extra={"account_id": account})
        return ConsentStart(authorize_url=url, browser_binding=binding, max_age=ttl)

    def finish(
        self,
        *,
        state: str | None,
        code: str | None,
        error: str | None,
        browser_binding: str | None,
    ) -> Connection:
        if not state:
            raise OAuthRefused("This page needs the link Xero sends you back with.", reason="missing state")
        pending = self._states.consume(state)
        if pending is None:
            raise OAuthRefused(
                "This sign-in link was already used or is not one we issued. Start the connection again.",
                reason="unknown or replayed state",
            )
        now = self._clock()
        if pending.expires_at < int(now.timestamp()):
            raise OAuthRefused("This sign-in link has expired. Start the connection again.", reason="expired state")
        if not browser_binding or digest(browser_binding) != pending.browser_binding:
            raise OAuthRefused(
                "This connection was started in a different browser. Start it again here.",
                reason="state not bound to this browser",
            )
        if error:
            if error == "access_denied":
                raise OAuthRefused("You cancelled the connection at Xero. Nothing was changed.", reason="denied")
            raise OAuthRefused(f"Xero could not complete the connection ({error}).", reason=f"xero error {error}")
        if not code:
            raise OAuthRefused("Xero sent no authorisation code. Start the connection again.", reason="missing code")
        return self._connect(pending, code, now)

    def _connect(self, pending: PendingConsent, code: str, now: datetime) -> Connection:
        account_id = pending.account_id
        try:
            tokens = self._xero.exchange_code(
                code=code, redirect_uri=pending.redirect_uri, code_verifier=pending.code_verifier
            )
        except XeroAuthLost:
            raise OAuthRefused(
                "Xero did not accept the authorisation (it may have expired). Start the connection again.",
                reason="code refused",
            ) from None
        granted = self._xero.list_connections(tokens.access_token.get_secret_value())
        tenants = _organisations(granted, tokens.auth_event_id)
        if not tenants:
            self._revoke_quietly(tokens.refresh_token.get_secret_value())
            raise OAuthRefused(
                "No Xero organisation was selected, so nothing was connected. Start again and pick one.",
                reason="no tenants granted",
            )
        before = self._connections.get(account_id)
        connection = self._connections.save_grant(
            account_id,
            tokens=self._tokens.encrypt(account_id, tokens),
            tenants=tenants,
            scopes=tokens.scopes or tuple(self._settings.scopes),
            email=tokens.email,
            xero_user_id=tokens.id_claims.get("xero_userid"),
            now=now,
        )
        if before is not None and before.tenant_id and connection.tenant_id not in (None, before.tenant_id):
            self._moved(account_id, now)
        logger.info(
            "connection stored",
            extra={
                "account_id": account_id,
                "tenants": len(tenants),
                "organisation_chosen": connection.tenant_id is not None,
            },
        )
        return connection

    def _moved(self, account_id: str, now: datetime) -> None:
        """Reconnected to another organisation: a fresh start there. Settings naming the previous one are
        cleared, and events wait until the new ones are chosen (sync records of the previous organisation
        are never used for this one)."""
        if self._account_settings is None:
            return
        settings = self._account_settings.get(account_id)
        self._account_settings.save(settings.for_another_organisation(now), now=now)
        logger.info("reconnected to another organisation", extra={"account_id": account_id})

    def _revoke_quietly(self, refresh_token: str) -> None:
        try:
            self._xero.revoke(refresh_token)
        except XeroError as exc:
            logger.warning("could not revoke an unused grant", extra={"error": exc.code})


def _organisations(granted: list[TenantConnection], auth_event_id: str | None) -> list[Tenant]:
    """Organisations the grant reaches, those authorised in this consent first."""
    orgs = [g for g in granted if g.tenant_type.upper() == ORGANISATION]
    orgs.sort(key=lambda g: (g.auth_event_id != auth_event_id if auth_event_id else False, g.tenant_name))
    return [
        Tenant(
            tenant_id=g.tenant_id,
            tenant_name=g.tenant_name,
            tenant_type=g.tenant_type,
            connection_id=g.connection_id,
        )
        for g in orgs
    ]
