"""Finding Xero tokens and the service's secrets in text, without ever printing them.

What to look for comes from the sandbox (``GET /_sandbox/issued``: every refresh token, access token
id, authorisation code and grant it issued) and from Secrets Manager (the client secret, the
connect-link secret). Access and id tokens are JWTs: any JWT in the text whose id or session is one
the sandbox issued is a leak, whole or cut short.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from shared.models.xero import jwt_claims

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*)?")
PREFIX = 16  # a secret cut to its first 16 characters still leaks it


@dataclass(frozen=True)
class KnownSecrets:
    literals: dict[str, str]  # value -> what it is
    access_token_ids: frozenset[str] = frozenset()
    grant_ids: frozenset[str] = frozenset()

    @classmethod
    def from_sandbox(cls, issued: dict[str, list[str]], **service_secrets: str) -> KnownSecrets:
        literals = dict.fromkeys(issued.get("refresh_tokens", []), "refresh token")
        literals |= dict.fromkeys(issued.get("authorization_codes", []), "authorisation code")
        literals |= dict.fromkeys(issued.get("client_secrets", []), "client secret")
        literals |= {value: name.replace("_", " ") for name, value in service_secrets.items() if value}
        return cls(
            literals=literals,
            access_token_ids=frozenset(issued.get("access_token_ids", [])),
            grant_ids=frozenset(issued.get("grant_ids", [])),
        )


@dataclass(frozen=True)
class Finding:
    where: str  # the kind of text: log line, page, error, email, stored item, stdout
    what: str  # the kind of secret; never the secret


def find_in(text: str, known: KnownSecrets) -> list[str]:
    """What kinds of secret ``text`` holds."""
    found = [
        label
        for value, label in known.literals.items()
        if value in text or (len(value) >= 24 and value[:PREFIX] in text)
    ]
    for match in JWT.finditer(text):
        claims = jwt_claims(match.group(0))
        if claims.get("jti") in known.access_token_ids:
            found.append("access token")
        elif claims.get("global_session_id") in known.grant_ids:
            found.append("id token")
    return found


def scan(texts: Iterable[tuple[str, str]], known: KnownSecrets) -> tuple[int, list[Finding]]:
    """How many texts were scanned, and every secret found in them."""
    scanned = 0
    findings: list[Finding] = []
    for where, text in texts:
        scanned += 1
        findings += [Finding(where, what) for what in find_in(text, known)]
    return scanned, findings
