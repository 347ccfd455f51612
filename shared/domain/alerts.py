"""Alerts to an account's owner. (Placeholder on this branch for the interface; the sweep branch
provides the implementation.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class SyncFailure:
    invoice_id: str
    invoice_number: str | None
    code: str
    message: str
    fix: str
    xero_messages: tuple[str, ...] = ()


class Alerts(Protocol):
    def sync_failed(self, account_id: str, failure: SyncFailure, *, now: datetime | None = None) -> bool: ...

    def reconnect_needed(self, account_id: str, reason: str, *, now: datetime | None = None) -> bool: ...


class LoggedAlerts:
    def sync_failed(self, account_id: str, failure: SyncFailure, *, now: datetime | None = None) -> bool:
        return False

    def reconnect_needed(self, account_id: str, reason: str, *, now: datetime | None = None) -> bool:
        return False
