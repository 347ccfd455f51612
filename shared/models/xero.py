"""What Xero's identity service answers, as the service keeps it."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class ClientCredentials(BaseModel):
    """The Xero app's client id and secret, from Secrets Manager."""

    model_config = ConfigDict(frozen=True)

    client_id: str = Field(min_length=1)
    client_secret: SecretStr


class TokenSet(BaseModel):
    """A token endpoint answer. Secrets are ``SecretStr`` so that no repr or log can show them."""

    model_config = ConfigDict(frozen=True)

    access_token: SecretStr
    refresh_token: SecretStr
    expires_at: int = Field(description="Epoch seconds at which the access token expires")
    scopes: tuple[str, ...] = ()
    id_claims: dict[str, Any] = Field(default_factory=dict, description="Claims of the OpenID id_token")
    auth_event_id: str | None = None

    @property
    def email(self) -> str | None:
        email = self.id_claims.get("email")
        return email if isinstance(email, str) and "@" in email else None


class TenantConnection(BaseModel):
    """One organisation the user granted, from ``GET /connections``."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    connection_id: str = Field(alias="id")
    tenant_id: str = Field(alias="tenantId")
    tenant_name: str = Field(default="", alias="tenantName")
    tenant_type: str = Field(default="ORGANISATION", alias="tenantType")
    auth_event_id: str | None = Field(default=None, alias="authEventId")


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The remaining-call headers Xero puts on every answer (absent ones are None)."""

    minute_remaining: int | None = None
    day_remaining: int | None = None
    app_minute_remaining: int | None = None


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT received directly from Xero's token endpoint over TLS.

    OpenID Connect lets a client that receives an id_token straight from the token endpoint rely on
    TLS instead of the signature; nothing here trusts a token that came from anywhere else.
    """
    try:
        payload = token.split(".")[1]
        padded = payload + "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (IndexError, ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}
