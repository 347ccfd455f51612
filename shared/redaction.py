"""Scrubbing of secrets from anything that leaves the process as text (logs, errors, emails).

The first defence is never to put a secret in a message; this is the second. It removes the
values of keys that name secrets, and token-shaped strings wherever they appear.
"""

from __future__ import annotations

import re
from typing import Any

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


def redact_text(text: str) -> str:
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
