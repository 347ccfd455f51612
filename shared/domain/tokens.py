"""Access tokens for a connection, refreshed at most once at a time across all invocations.

Xero rotates the refresh token on every use. Two workers refreshing at once means one of them gets
``invalid_grant`` and the connection is lost, so a refresh happens only under a lock held in the
connection's item (a conditional write). The holder calls Xero; everyone else waits for the new
token version and uses it. A refresh that gets no answer is retried with the same refresh token,
which Xero keeps valid for 30 minutes for exactly this case.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from shared.adapters.connections import ConnectionRepository, EncryptedTokens
from shared.adapters.kms import TokenCipher
from shared.adapters.xero import XeroClient
from shared.domain.status import announce
from shared.errors import ConnectionUnavailable, TokenRefreshBusy, XeroAuthLost, XeroUnavailable
from shared.models.connection import Connection, ConnectionStatus
from shared.models.xero import TokenSet
from shared.observability import logger

if TYPE_CHECKING:
    from shared.adapters.status_events import StatusEvents

ACCESS = "access_token"
REFRESH = "refresh_token"
NOT_CONNECTED = {
    None: "This account has not connected Xero yet.",
    ConnectionStatus.NEEDS_RECONNECT: "Xero needs to be reconnected for this account.",
    ConnectionStatus.DISCONNECTED: "Xero was disconnected for this account.",
}


@dataclass(frozen=True)
class Access:
    """What an API call needs: a valid access token and the connection it belongs to."""

    access_token: str
    connection: Connection

    def __repr__(self) -> str:
        return f"Access(account_id={self.connection.account_id!r}, token_version={self.connection.token_version})"


class TokenManager:
    def __init__(
        self,
        repository: ConnectionRepository,
        cipher: TokenCipher,
        xero: XeroClient,
        *,
        refresh_margin: int = 120,
        lock_seconds: int = 60,
        wait_seconds: float = 25.0,
        poll_seconds: float = 0.1,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        status_events: StatusEvents | None = None,
    ) -> None:
        self._status_events = status_events
        self._repo = repository
        self._cipher = cipher
        self._xero = xero
        self._margin = refresh_margin
        self._lock_seconds = lock_seconds
        self._wait_seconds = wait_seconds
        self._poll = poll_seconds
        self._clock = clock
        self._sleep = sleep
        self._owner = uuid.uuid4().hex

    def encrypt(self, account_id: str, tokens: TokenSet) -> EncryptedTokens:
        return EncryptedTokens(
            access_token_ct=self._cipher.encrypt(
                tokens.access_token.get_secret_value(), account_id=account_id, purpose=ACCESS
            ),
            refresh_token_ct=self._cipher.encrypt(
                tokens.refresh_token.get_secret_value(), account_id=account_id, purpose=REFRESH
            ),
            access_expires_at=tokens.expires_at,
        )

    def refresh_token(self, connection: Connection) -> str:
        """The current refresh token in clear, for revocation."""
        return self._cipher.decrypt(connection.refresh_token_ct, account_id=connection.account_id, purpose=REFRESH)

    def access(self, account_id: str, *, stale_version: int | None = None) -> Access:
        """A usable access token for the account, refreshing it first if it is about to expire.

        ``stale_version``: the token version Xero just refused with a 401; forces a refresh unless
        another invocation has already replaced it.
        """
        deadline = self._clock() + self._wait_seconds
        while True:
            connection = self._connected(account_id)
            now = int(self._clock())
            fresh = connection.access_expires_at - now > self._margin
            if fresh and connection.token_version != stale_version:
                return self._decrypted(connection)
            if connection.lock_free(now) and self._repo.try_lock_refresh(
                account_id,
                owner=self._owner,
                now=now,
                seconds=self._lock_seconds,
                version=connection.token_version,
            ):
                return self._refresh_locked(connection)
            if self._clock() >= deadline:
                raise TokenRefreshBusy(f"the tokens of account {account_id} are being refreshed elsewhere")
            self._sleep(self._poll)

    def _connected(self, account_id: str) -> Connection:
        connection = self._repo.get(account_id)
        if connection is None or connection.status != ConnectionStatus.CONNECTED:
            status = connection.status if connection else None
            raise ConnectionUnavailable(NOT_CONNECTED[status], status=str(status or "not_connected"))
        return connection

    def _decrypted(self, connection: Connection) -> Access:
        token = self._cipher.decrypt(connection.access_token_ct, account_id=connection.account_id, purpose=ACCESS)
        return Access(access_token=token, connection=connection)

    def _refresh_locked(self, connection: Connection) -> Access:
        account_id = connection.account_id
        refresh_token = self.refresh_token(connection)
        try:
            tokens = self._call_refresh(refresh_token)
        except XeroAuthLost as exc:
            logger.warning("refresh token refused: connection needs reconnecting", extra={"account_id": account_id})
            now = datetime.now(UTC)
            marked = self._repo.mark_status(
                account_id, ConnectionStatus.NEEDS_RECONNECT, reason=exc.message, now=now, owner=self._owner
            )
            if marked is not None:  # None: the lock was lost, whoever holds it now tells
                # Imported here, on this rare path: the event models stay off every function's cold start.
                from shared.models.status_events import ConnectionNeedsReconnect  # noqa: PLC0415

                announce(
                    self._status_events,
                    ConnectionNeedsReconnect(account_id=account_id, occurred_at=now, reason=exc.message),
                )
            raise
        except XeroUnavailable:
            self._repo.release_lock(account_id, owner=self._owner, unanswered_at=int(self._clock()))
            raise
        except Exception:
            self._repo.release_lock(account_id, owner=self._owner)
            raise
        stored = self._repo.store_refreshed(
            account_id,
            owner=self._owner,
            tokens=self.encrypt(account_id, tokens),
            version=connection.token_version,
        )
        logger.info("tokens refreshed", extra={"account_id": account_id, "token_version": stored.token_version})
        return Access(access_token=tokens.access_token.get_secret_value(), connection=stored)

    def _call_refresh(self, refresh_token: str) -> TokenSet:
        try:
            return self._xero.refresh(refresh_token)
        except XeroUnavailable:
            # No answer came back: Xero keeps the old refresh token valid for 30 minutes, so one
            # immediate retry with the same token is safe and usually saves the invocation.
            logger.warning("token refresh got no answer; retrying with the same refresh token")
            return self._xero.refresh(refresh_token)
