"""Xero's ``Idempotency-Key`` on writes: the first answer to a key is kept and replayed.

Keys belong to one app (client id) and one organisation. The same key with the same request (method,
path, query and JSON body, compared after parsing so whitespace and key order do not matter) within
the retention replays the first answer exactly, status and body bytes, and changes nothing. The same
key with a *different* request is refused (numbers are compared as the exact decimals they are, so
bodies that differ by a cent at 1e14 are different requests): Xero's documentation available to us does not give that
answer, so the sandbox chooses ``409 Conflict`` with a Xero-shaped problem body (see
:data:`CONFLICT_STATUS`). Keys longer than 128 characters are refused with 400 before any work.
Answers of 5xx are not kept (the work may not have happened), so a retry runs again.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from local.xero_sandbox.formats import from_json, to_json

MAX_KEY_LENGTH = 128
RETENTION_SECONDS = 24 * 3600.0  # assumed: the sandbox keeps answers for a day
CONFLICT_STATUS = 409  # chosen (undocumented at Xero): same key, different request


@dataclass(frozen=True)
class StoredAnswer:
    fingerprint: str
    status: int
    body: bytes
    content_type: str
    stored_at: float


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    try:
        canonical = to_json(_canonical(from_json(body or b"null"))).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _canonical(value: Any) -> Any:
    """Key order and number spelling do not make a request different: 1.10 and 1.1 are one number."""
    if isinstance(value, dict):
        return {key: _canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    if isinstance(value, Decimal):
        return value.normalize()
    return value


class IdempotencyStore:
    def __init__(self, retention_seconds: float = RETENTION_SECONDS) -> None:
        self._lock = threading.Lock()
        self.retention_seconds = retention_seconds
        self._answers: dict[tuple[str, str, str], StoredAnswer] = {}

    def lookup(self, client_id: str, tenant_id: str, key: str, now: float) -> StoredAnswer | None:
        with self._lock:
            found = self._answers.get((client_id, tenant_id, key))
            if found is not None and now - found.stored_at > self.retention_seconds:
                del self._answers[(client_id, tenant_id, key)]
                return None
            return found

    def store(self, client_id: str, tenant_id: str, key: str, answer: StoredAnswer) -> None:
        with self._lock:
            self._answers[(client_id, tenant_id, key)] = answer

    def count(self) -> int:
        with self._lock:
            return len(self._answers)


def conflict_body(key_length: int) -> dict[str, Any]:
    return {
        "Type": None,
        "Title": "Conflict",
        "Status": CONFLICT_STATUS,
        "Detail": (
            f"The Idempotency-Key ({key_length} characters) was already used with a different request "
            "for this organisation; use a new key for a new request."
        ),
    }
