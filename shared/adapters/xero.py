"""Xero's HTTP APIs (identity and accounting) behind one small client.

One pooled ``httpx.Client`` per container; a timeout on every call; every answer's remaining-limit
headers handed to an observer; ``xero-tenant-id`` on every accounting call; an ``Idempotency-Key``
on every write. Xero's answers become the typed errors of :mod:`shared.errors`; no token, secret or
request header is ever put into an error or a log line.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Literal, NoReturn

import httpx
from pydantic import SecretStr

from shared.config import Settings
from shared.errors import (
    XeroAuthLost,
    XeroConfigError,
    XeroError,
    XeroNotFound,
    XeroRateLimited,
    XeroRequestTooLarge,
    XeroUnauthorized,
    XeroUnavailable,
    XeroValidationError,
)
from shared.models.xero import ClientCredentials, RateLimits, TenantConnection, TokenSet, jwt_claims
from shared.observability import logger

ACCOUNTING_PREFIX = "/api.xro/2.0/"
MAX_IDEMPOTENCY_KEY = 128
# Xero answers 404 to URLs longer than about 2,091 characters (XeroAPI/Xero-NetStandard#471,
# XeroAPI/xero-node#404, XeroAPI/Xero-OpenAPI#534); the push builds its lookups to stay well below.
MAX_URL_LENGTH = 2000
# Xero takes request bodies of at most 3.5 MB (its API limits documentation).
MAX_BODY_BYTES = 3_500_000
# Xero sends Retry-After with its minute and day limits; a 429 without one (the concurrent limit) is
# a moment's wait, never a long block.
DEFAULT_RETRY_AFTER = 60

WriteMethod = Literal["PUT", "POST"]
ResponseObserver = Callable[[str | None, int, RateLimits], None]


def build_http_client(settings: Settings) -> httpx.Client:
    """The container's one pooled client. Connect fails fast; reads wait for Xero's slower batches."""
    timeout = httpx.Timeout(settings.http_timeout_seconds, connect=min(5.0, settings.http_timeout_seconds))
    return httpx.Client(
        timeout=timeout,
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=60),
        headers={"Accept": "application/json", "User-Agent": "xero-invoice-sync/0.1"},
        follow_redirects=False,
    )


class XeroClient:
    def __init__(
        self,
        settings: Settings,
        credentials: Callable[[], ClientCredentials],
        http: httpx.Client | None = None,
        on_response: ResponseObserver | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._credentials = credentials
        self._http = http or build_http_client(settings)
        self._on_response = on_response
        self._clock = clock
        self.last_limits: dict[str, RateLimits] = {}
        # Body bytes of every GET answered, per organisation: Xero charges apps for egress since March 2026.
        self.bytes_read: dict[str, int] = {}

    # --- identity ----------------------------------------------------------------------------

    def authorize_url(self, *, client_id: str, redirect_uri: str, state: str, code_challenge: str) -> str:
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": self._settings.xero_scopes,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        return str(httpx.URL(f"{self._settings.xero_login_url}/identity/connect/authorize", params=params))

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> TokenSet:
        return self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            }
        )

    def refresh(self, refresh_token: str) -> TokenSet:
        return self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def revoke(self, refresh_token: str) -> None:
        """Revoke a refresh token (and with it the connections it created)."""
        response = self._send(
            "POST",
            f"{self._settings.xero_identity_url}/connect/revocation",
            data={"token": refresh_token},
            auth=self._basic_auth(),
        )
        if response.status_code != 200:
            self._raise_identity_error(response)

    def list_connections(self, access_token: str) -> list[TenantConnection]:
        response = self._send(
            "GET",
            f"{self._settings.xero_api_url}/connections",
            headers={"Authorization": f"Bearer {access_token}"},
        )
        if response.status_code != 200:
            self._raise_api_error(response)
        body = _json(response)
        if not isinstance(body, list):
            raise XeroUnavailable("Xero answered GET /connections with an unexpected body", response.status_code)
        return [TenantConnection.model_validate(item) for item in body]

    def delete_connection(self, access_token: str, connection_id: str) -> None:
        response = self._send(
            "DELETE",
            f"{self._settings.xero_api_url}/connections/{connection_id}",
            headers={"Authorization": f"Bearer {access_token}"},
        )
        if response.status_code not in (200, 204, 404):
            self._raise_api_error(response)

    # --- accounting --------------------------------------------------------------------------

    def url_length(self, resource: str, params: Mapping[str, str] | None = None) -> int:
        """How long the URL of an accounting call would be (Xero refuses long ones with a 404)."""
        return len(str(httpx.URL(self._api(resource), params=params)))

    def _api(self, resource: str) -> str:
        return f"{self._settings.xero_api_url}{ACCOUNTING_PREFIX}{resource.lstrip('/')}"

    def get(
        self,
        access_token: str,
        tenant_id: str,
        resource: str,
        params: Mapping[str, str] | None = None,
        *,
        modified_since: str | None = None,
    ) -> dict[str, Any]:
        """``modified_since`` (UTC, ``2026-12-03T10:00:00``) asks only for what changed after it."""
        headers = {"If-Modified-Since": modified_since} if modified_since else None
        return self._accounting("GET", access_token, tenant_id, resource, params=params, extra_headers=headers)

    def write(
        self,
        method: WriteMethod,
        access_token: str,
        tenant_id: str,
        resource: str,
        body: Mapping[str, Any],
        *,
        idempotency_key: str,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        if not idempotency_key or len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
            raise ValueError(f"an Idempotency-Key of 1 to {MAX_IDEMPOTENCY_KEY} characters is required")
        return self._accounting(
            method,
            access_token,
            tenant_id,
            resource,
            params=params,
            json_body=body,
            extra_headers={"Idempotency-Key": idempotency_key},
        )

    def _accounting(
        self,
        method: str,
        access_token: str,
        tenant_id: str,
        resource: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {access_token}", "xero-tenant-id": tenant_id}
        headers.update(extra_headers or {})
        url = httpx.URL(self._api(resource), params=params)
        if len(str(url)) > MAX_URL_LENGTH:
            raise XeroRequestTooLarge(
                f"a {method} {resource} URL of {len(str(url))} characters is longer than Xero takes"
            )
        content: bytes | None = None
        if json_body is not None:
            content = dumps(json_body)
            if len(content) > MAX_BODY_BYTES:
                raise XeroRequestTooLarge(
                    f"a {method} {resource} body of {len(content)} bytes is larger than Xero takes"
                )
            headers["Content-Type"] = "application/json"
        response = self._send(method, str(url), headers=headers, content=content, tenant_id=tenant_id)
        if response.status_code in (200, 201):
            body = _json(response)
            if not isinstance(body, dict):
                raise XeroUnavailable(f"Xero answered {method} {resource} with an unexpected body", 200)
            return body
        if response.status_code == 204:
            return {}
        return self._raise_api_error(response)

    # --- transport and error translation -----------------------------------------------------

    def _token_request(self, form: dict[str, str]) -> TokenSet:
        sent_at = self._clock()
        response = self._send(
            "POST", f"{self._settings.xero_identity_url}/connect/token", data=form, auth=self._basic_auth()
        )
        if response.status_code != 200:
            self._raise_identity_error(response)
        body = _json(response)
        try:
            access = str(body["access_token"])
            refresh = str(body["refresh_token"])
            expires_in = int(body.get("expires_in", 1800))
        except (KeyError, TypeError, ValueError):
            raise XeroUnavailable("Xero's token endpoint answered without the expected tokens", 200) from None
        access_claims = jwt_claims(access)
        id_token = body.get("id_token")
        return TokenSet(
            access_token=SecretStr(access),
            refresh_token=SecretStr(refresh),
            # Count the lifetime from when we asked, so a slow answer never makes us trust a token too long.
            expires_at=int(sent_at) + expires_in,
            scopes=tuple(str(body.get("scope", "")).split()),
            id_claims=jwt_claims(id_token) if isinstance(id_token, str) else {},
            auth_event_id=access_claims.get("authentication_event_id"),
        )

    def _basic_auth(self) -> httpx.BasicAuth:
        creds = self._credentials()
        return httpx.BasicAuth(creds.client_id, creds.client_secret.get_secret_value())

    def _send(self, method: str, url: str, *, tenant_id: str | None = None, **kwargs: Any) -> httpx.Response:
        started = time.perf_counter()
        path = httpx.URL(url).path
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.TimeoutException:
            logger.warning("xero call timed out", extra={"method": method, "path": path, "tenant_id": tenant_id})
            raise XeroUnavailable(f"Xero did not answer {method} {path} in time") from None
        except httpx.TransportError as exc:
            logger.warning(
                "xero call failed in transport",
                extra={"method": method, "path": path, "tenant_id": tenant_id, "error": type(exc).__name__},
            )
            raise XeroUnavailable(f"the connection to Xero failed during {method} {path}") from None
        limits = _limits(response.headers)
        if tenant_id is not None:
            self.last_limits[tenant_id] = limits
            if method == "GET":
                self.bytes_read[tenant_id] = self.bytes_read.get(tenant_id, 0) + len(response.content)
        if self._on_response is not None:
            self._on_response(tenant_id, response.status_code, limits)
        logger.debug(
            "xero call",
            extra={
                "method": method,
                "path": path,
                "status": response.status_code,
                "tenant_id": tenant_id,
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "minute_remaining": limits.minute_remaining,
                "day_remaining": limits.day_remaining,
            },
        )
        return response

    def _raise_identity_error(self, response: httpx.Response) -> NoReturn:
        status = response.status_code
        body = _json(response)
        error = str(body.get("error", "")) if isinstance(body, dict) else ""
        if status >= 500 or status == 429:
            raise XeroUnavailable(f"Xero's identity service answered {status}", status)
        if error == "invalid_grant":
            raise XeroAuthLost("Xero refused the refresh token (invalid_grant): the user must reconnect", status)
        if error in ("invalid_client", "unauthorized_client") or status == 401:
            raise XeroConfigError(
                f"Xero refused this app's credentials ({error or status}): check the client id and secret",
                status,
            )
        raise XeroError(f"Xero's identity service refused the request ({error or status})", status)

    def _raise_api_error(self, response: httpx.Response) -> NoReturn:
        status = response.status_code
        body = _json(response)
        if status == 400:
            raise XeroValidationError(validation_messages(body))
        if status == 401:
            raise XeroUnauthorized("Xero refused the access token (401)", status)
        if status == 403:
            raise XeroAuthLost(
                "Xero refused access to the organisation (403): it was disconnected or a scope is missing",
                status,
            )
        if status == 404:
            raise XeroNotFound(f"Xero found nothing at {response.request.url.path}", status)
        if status == 429:
            retry_after = _int(response.headers.get("Retry-After"))
            problem = response.headers.get("X-Rate-Limit-Problem", "").lower() or (
                "minute" if retry_after is not None else "concurrent"
            )
            if retry_after is None:
                retry_after = 1 if problem == "concurrent" else DEFAULT_RETRY_AFTER
            raise XeroRateLimited(f"Xero's {problem} limit was reached", retry_after, problem)
        if status == 503:
            raise XeroUnavailable(
                "the Xero organisation is offline or Xero is unavailable (503)",
                status,
                offline=True,
                retry_after=_int(response.headers.get("Retry-After")),
            )
        if status >= 500:
            raise XeroUnavailable(f"Xero answered {status}", status)
        raise XeroError(f"Xero answered {status}", status)


def validation_messages(body: Any) -> list[str]:
    """Xero's human-readable validation messages, from a whole answer or from one element."""
    if not isinstance(body, dict):
        return []
    messages: list[str] = []
    elements = body.get("Elements")
    for element in elements if isinstance(elements, list) else [body]:
        for error in element.get("ValidationErrors", []) if isinstance(element, dict) else []:
            message = error.get("Message") if isinstance(error, dict) else None
            if message and message not in messages:
                messages.append(str(message))
    if not messages and isinstance(body.get("Message"), str):
        messages.append(body["Message"])
    if not messages and isinstance(body.get("Detail"), str):
        messages.append(body["Detail"])
    return messages


def _json(response: httpx.Response) -> Any:
    """Xero's JSON with every number as a Decimal: money keeps its cents however large it is."""
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:
        return {}


_EXACT = re.compile(r'"\\u0000exact:(-?[0-9.]+(?:E[+-]?[0-9]+)?)"')


def dumps(body: Any) -> bytes:
    """``body`` as JSON, Decimals written as exact JSON numbers (never floats, never strings)."""

    def exact(value: Any) -> str:
        if isinstance(value, Decimal):
            return f"\u0000exact:{value:f}"
        raise TypeError(f"{type(value).__name__} is not JSON")

    text = json.dumps(body, default=exact, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return _EXACT.sub(r"\1", text).encode()


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _limits(headers: httpx.Headers) -> RateLimits:
    return RateLimits(
        minute_remaining=_int(headers.get("X-MinLimit-Remaining")),
        day_remaining=_int(headers.get("X-DayLimit-Remaining")),
        app_minute_remaining=_int(headers.get("X-AppMinLimit-Remaining")),
    )


__all__ = ["XeroClient", "XeroError", "build_http_client", "validation_messages"]
