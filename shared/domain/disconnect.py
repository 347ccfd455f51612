"""Disconnecting an account from Xero: used by the management API and by the inactivity sweep.

The order matters: first remove each organisation's connection at Xero (needs a live access token),
then revoke the refresh token, then mark the connection disconnected here. Xero being unreachable
does not keep a connection alive that the user or the sweep wanted gone: it is disconnected locally
all the same, and the outcome says what could not be done at Xero. Settings are kept, so a
reconnect restores them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from shared.adapters.connections import ConnectionRepository
from shared.adapters.xero import XeroClient
from shared.domain.status import announce
from shared.domain.tokens import TokenManager
from shared.errors import SyncError
from shared.models.connection import Connection, ConnectionStatus
from shared.observability import logger

if TYPE_CHECKING:
    from shared.adapters.status_events import StatusEvents


@dataclass(frozen=True)
class DisconnectOutcome:
    account_id: str
    was_connected: bool
    revoked_at_xero: bool
    connection: Connection | None
    problems: list[str] = field(default_factory=list)


class Disconnector:
    def __init__(
        self,
        connections: ConnectionRepository,
        tokens: TokenManager,
        xero: XeroClient,
        status_events: StatusEvents | None = None,
    ) -> None:
        self._connections = connections
        self._tokens = tokens
        self._xero = xero
        self._status_events = status_events

    def disconnect(self, account_id: str, *, reason: str, now: datetime) -> DisconnectOutcome:
        connection = self._connections.get(account_id)
        if connection is None or connection.status == ConnectionStatus.DISCONNECTED:
            return DisconnectOutcome(account_id, was_connected=False, revoked_at_xero=False, connection=connection)
        problems: list[str] = []
        revoked = False
        if connection.status == ConnectionStatus.CONNECTED:
            problems += self._remove_tenant_connections(account_id, connection)
        try:
            self._xero.revoke(self._tokens.refresh_token(connection))
            revoked = True
        except SyncError as exc:
            problems.append(f"Xero did not confirm the revocation: {exc.message}")
        stored = self._connections.mark_status(account_id, ConnectionStatus.DISCONNECTED, reason=reason, now=now)
        logger.info(
            "connection disconnected",
            extra={"account_id": account_id, "revoked_at_xero": revoked, "problems": len(problems)},
        )
        # Imported here, where a connection ends: the event models stay off every function's cold start.
        from shared.models.status_events import ConnectionDisconnected  # noqa: PLC0415

        announce(
            self._status_events,
            ConnectionDisconnected(account_id=account_id, occurred_at=now, reason=reason, revoked_at_xero=revoked),
        )
        return DisconnectOutcome(account_id, True, revoked, stored, problems)

    def _remove_tenant_connections(self, account_id: str, connection: Connection) -> list[str]:
        try:
            access = self._tokens.access(account_id)
            for tenant in connection.tenants:
                self._xero.delete_connection(access.access_token, tenant.connection_id)
        except SyncError as exc:
            return [f"Xero's organisation connections were not removed: {exc.message}"]
        return []
