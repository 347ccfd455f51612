"""Scrubbing of secrets from anything that leaves the process as text (logs, errors, emails).

The first defence is never to put a secret in a message; this is the second. It removes the
values of keys that name secrets, token-shaped strings wherever they appear, and every secret value
the service has read or holds (:func:`register_secret`: the adapters register what they read from
Secrets Manager and every token they decrypt or encrypt), whatever text it turns up in.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"

SECRET_KEYS = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "code",
        "code_verifier",
        "client_secret",
        "authorization",
        "signature",
        "secret",
        "password",
        "cookie",
        "set-cookie",
    }
)

# JWTs (Xero's access and id tokens), bearer/basic credentials, and key=value pairs in query strings.
_TOKEN_PATTERNS = (
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(
        r"(?i)\b(access_token|refresh_token|id_token|code|code_verifier|client_secret|signature|token)"
        r"=[^&\s\"']+"
    ),
)


# Values shorter than this are not secrets worth the false positives (a client id prefix, "true").
MIN_SECRET_LENGTH = 8
# Tokens rotate; the registry keeps the newest few hundred (an access token lives 30 minutes).
MAX_SECRETS = 512
_known: OrderedDict[str, None] = OrderedDict()
_known_lock = threading.Lock()
_snapshot: tuple[tuple[str, ...], int] = ((), 0)  # (values, longest first; the shortest length)


def register_secret(value: str | None) -> None:
    """Scrub ``value`` (and its JSON-escaped and URL-encoded forms) from everything redacted from now on."""
    global _snapshot  # noqa: PLW0603 - one registry per process, swapped whole so readers need no lock
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    forms = {value, json.dumps(value)[1:-1], quote(value, safe=""), quote_plus(value)}
    with _known_lock:
        for form in forms:
            _known[form] = None
            _known.move_to_end(form)
        while len(_known) > MAX_SECRETS:
            _known.popitem(last=False)
        values = tuple(sorted(_known, key=len, reverse=True))
        _snapshot = (values, min(len(v) for v in values))


def forget_secrets() -> None:
    """Empty the registry (tests)."""
    global _snapshot  # noqa: PLW0603
    with _known_lock:
        _known.clear()
        _snapshot = ((), 0)


def redact_text(text: str) -> str:
    values, shortest = _snapshot
    if values and len(text) >= shortest:
        for value in values:
            if value in text:
                text = text.replace(value, REDACTED)
    for pattern in _TOKEN_PATTERNS:
        text = pattern.sub(_replacement, text)
    return text


def _replacement(match: re.Match[str]) -> str:
    whole = match.group(0)
    if "=" in whole and not whole.startswith("eyJ"):
        return whole.split("=", 1)[0] + "=" + REDACTED
    if " " in whole:
        return whole.split(" ", 1)[0] + " " + REDACTED
    return REDACTED


def redact(value: Any) -> Any:
    """A copy of ``value`` with secret-named keys and token-shaped strings replaced."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {
            k: (REDACTED if isinstance(k, str) and k.lower() in SECRET_KEYS else redact(v)) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    # Anything else (an exception in a stack trace, a datetime) is logged as its str(): scrub that.
    return redact_text(str(value))
