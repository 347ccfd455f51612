"""Signed links: how the platform vouches for the account whose user opens a page of this service.

The platform backend holds the link secret (``ConnectLinkSecretArn`` in the stack outputs) and gives
its signed-in user a short-lived link, either to connect Xero::

    https://<api>/xero/connect?account_id=acct_123&expires=1767225600&signature=<hex>

or to open the drop-in settings page::

    https://<api>/xero/settings/open?account_id=acct_123&expires=1767225600&signature=<hex>

``signature`` is HMAC-SHA256, keyed with the secret, in lower-case hex, over
``"v1\\n<account_id>\\n<expires>"`` for a connect link and ``"settings-v1\\n<account_id>\\n<expires>"``
for a settings link; ``expires`` is a Unix time at most ``CONNECT_LINK_MAX_AGE_SECONDS`` ahead. The
purpose is part of the signed message, so a connect link never opens the settings page, nor a settings
link consent. This module has no dependencies beyond the standard library so the platform can vendor it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Literal
from urllib.parse import urlencode

ACCOUNT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
VERSION = "v1"
Purpose = Literal["connect", "settings"]
# The first line of the signed message, per purpose. The connect link's is the original "v1".
MESSAGE_PREFIX: dict[Purpose, str] = {"connect": VERSION, "settings": f"settings-{VERSION}"}
NAMES: dict[Purpose, str] = {"connect": "connect link", "settings": "settings link"}


class ConnectLinkError(ValueError):
    """The link is not one the platform signed, or no longer valid; the message says which."""


def link_signature(secret: str, purpose: Purpose, account_id: str, expires: int) -> str:
    message = f"{MESSAGE_PREFIX[purpose]}\n{account_id}\n{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def connect_signature(secret: str, account_id: str, expires: int) -> str:
    return link_signature(secret, "connect", account_id, expires)


def settings_signature(secret: str, account_id: str, expires: int) -> str:
    return link_signature(secret, "settings", account_id, expires)


def sign_link(base_url: str, secret: str, purpose: Purpose, account_id: str, ttl_seconds: int = 300) -> str:
    if not ACCOUNT_ID.match(account_id):
        raise ConnectLinkError("account ids are 1-128 letters, digits and . _ : @ -")
    expires = int(time.time()) + ttl_seconds
    query = urlencode(
        {
            "account_id": account_id,
            "expires": expires,
            "signature": link_signature(secret, purpose, account_id, expires),
        }
    )
    return f"{base_url}?{query}"


def sign_connect_link(base_url: str, secret: str, account_id: str, ttl_seconds: int = 300) -> str:
    """The connect URL the platform gives its user (``base_url`` is the stack's ConnectUrl output)."""
    return sign_link(base_url, secret, "connect", account_id, ttl_seconds)


def sign_settings_link(base_url: str, secret: str, account_id: str, ttl_seconds: int = 300) -> str:
    """The settings page URL the platform gives its user (``base_url`` is the stack's SettingsUrl output)."""
    return sign_link(base_url, secret, "settings", account_id, ttl_seconds)


def verify_link(
    secret: str,
    purpose: Purpose,
    account_id: str | None,
    expires: str | None,
    signature: str | None,
    *,
    now: int,
    max_age: int,
) -> str:
    """The account id the link vouches for, or :class:`ConnectLinkError` saying why it is refused."""
    name = NAMES[purpose]
    if not account_id or not expires or not signature:
        raise ConnectLinkError(f"the {name} is not signed (account_id, expires and signature are required)")
    if not ACCOUNT_ID.match(account_id):
        raise ConnectLinkError(f"the {name} names an invalid account id")
    try:
        expires_at = int(expires)
    except ValueError:
        raise ConnectLinkError(f"the {name}'s expiry is not a Unix time") from None
    expected = link_signature(secret, purpose, account_id, expires_at)
    if not hmac.compare_digest(expected, signature.lower()):
        raise ConnectLinkError(f"the {name}'s signature does not match")
    if expires_at < now:
        raise ConnectLinkError(f"the {name} has expired")
    if expires_at > now + max_age:
        raise ConnectLinkError(f"the {name} is valid for longer than this service allows")
    return account_id


def verify_connect_link(
    secret: str, account_id: str | None, expires: str | None, signature: str | None, *, now: int, max_age: int
) -> str:
    return verify_link(secret, "connect", account_id, expires, signature, now=now, max_age=max_age)


def verify_settings_link(
    secret: str, account_id: str | None, expires: str | None, signature: str | None, *, now: int, max_age: int
) -> str:
    return verify_link(secret, "settings", account_id, expires, signature, now=now, max_age=max_age)
