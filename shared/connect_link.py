"""Signed connect links: how the platform vouches for the account that is about to connect Xero.

The platform backend holds the connect-link secret (``ConnectLinkSecretArn`` in the stack outputs)
and gives its signed-in user a short-lived link::

    https://<api>/xero/connect?account_id=acct_123&expires=1767225600&signature=<hex>

``signature`` is HMAC-SHA256 over ``"v1\\n<account_id>\\n<expires>"`` keyed with the secret, in
lower-case hex; ``expires`` is a Unix time at most ``CONNECT_LINK_MAX_AGE_SECONDS`` ahead. This
module has no dependencies beyond the standard library so the platform can vendor it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from urllib.parse import urlencode

ACCOUNT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
VERSION = "v1"


class ConnectLinkError(ValueError):
    """The link is not one the platform signed, or no longer valid; the message says which."""


def connect_signature(secret: str, account_id: str, expires: int) -> str:
    message = f"{VERSION}\n{account_id}\n{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_connect_link(base_url: str, secret: str, account_id: str, ttl_seconds: int = 300) -> str:
    """The connect URL the platform gives its user (``base_url`` is the stack's ConnectUrl output)."""
    if not ACCOUNT_ID.match(account_id):
        raise ConnectLinkError("account ids are 1-128 letters, digits and . _ : @ -")
    expires = int(time.time()) + ttl_seconds
    query = urlencode(
        {
            "account_id": account_id,
            "expires": expires,
            "signature": connect_signature(secret, account_id, expires),
        }
    )
    return f"{base_url}?{query}"


def verify_connect_link(
    secret: str, account_id: str | None, expires: str | None, signature: str | None, *, now: int, max_age: int
) -> str:
    """The account id the link vouches for, or :class:`ConnectLinkError` saying why it is refused."""
    if not account_id or not expires or not signature:
        raise ConnectLinkError("the connect link is not signed (account_id, expires and signature are required)")
    if not ACCOUNT_ID.match(account_id):
        raise ConnectLinkError("the connect link names an invalid account id")
    try:
        expires_at = int(expires)
    except ValueError:
        raise ConnectLinkError("the connect link's expiry is not a Unix time") from None
    expected = connect_signature(secret, account_id, expires_at)
    if not hmac.compare_digest(expected, signature.lower()):
        raise ConnectLinkError("the connect link's signature does not match")
    if expires_at < now:
        raise ConnectLinkError("the connect link has expired")
    if expires_at > now + max_age:
        raise ConnectLinkError("the connect link is valid for longer than this service allows")
    return account_id
