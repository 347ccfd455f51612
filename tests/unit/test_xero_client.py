"""The Xero client's contract: what it sends, and which typed error each of Xero's answers becomes."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
import respx
from pydantic import SecretStr

from shared.adapters.xero import XeroClient, validation_messages
from shared.config import load_settings
from shared.errors import (
    XeroAuthLost,
    XeroConfigError,
    XeroError,
    XeroNotFound,
    XeroRateLimited,
    XeroUnauthorized,
    XeroUnavailable,
    XeroValidationError,
)
from shared.models.xero import ClientCredentials, RateLimits

API = "https://api.xero.com/api.xro/2.0"
TOKEN_URL = "https://identity.xero.com/connect/token"
TENANT = "tenant-1"
SETTINGS = load_settings(
    {"TABLE_NAME": "t-t", "TOKEN_KEY_ID": "k", "XERO_APP_SECRET_ARN": "a", "CONNECT_LINK_SECRET_ARN": "l"}
)


def jwt(claims: dict[str, object]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJub25lIn0.{body}.sig"


@pytest.fixture
def observed() -> list[tuple[str | None, int, RateLimits]]:
    return []


@pytest.fixture
def client(observed) -> XeroClient:
    creds = ClientCredentials(client_id="cid", client_secret=SecretStr("csecret"))
    return XeroClient(SETTINGS, credentials=lambda: creds, on_response=lambda *a: observed.append(a))


@respx.mock
def test_writes_carry_tenant_idempotency_key_and_bearer_and_limits_are_recorded(client, observed):
    route = respx.post(f"{API}/Invoices").respond(
        200,
        json={"Invoices": []},
        headers={"X-MinLimit-Remaining": "57", "X-DayLimit-Remaining": "4990", "X-AppMinLimit-Remaining": "9999"},
    )

    client.write(
        "POST",
        "access-1",
        TENANT,
        "Invoices",
        {"Invoices": []},
        idempotency_key="inv-1-v3",
        params={"summarizeErrors": "false"},
    )

    request = route.calls.last.request
    assert request.headers["xero-tenant-id"] == TENANT
    assert request.headers["Idempotency-Key"] == "inv-1-v3"
    assert request.headers["Authorization"] == "Bearer access-1"
    assert request.url.params["summarizeErrors"] == "false"
    assert client.last_limits[TENANT] == RateLimits(57, 4990, 9999)
    assert observed == [(TENANT, 200, RateLimits(57, 4990, 9999))]


@pytest.mark.parametrize("key", ["", "k" * 129])
def test_a_write_without_a_valid_idempotency_key_is_refused_before_sending(client, key):
    with pytest.raises(ValueError, match="Idempotency-Key"):
        client.write("PUT", "a", TENANT, "Contacts", {}, idempotency_key=key)


@respx.mock
@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "check"),
    [
        (
            400,
            {
                "ErrorNumber": 10,
                "Type": "ValidationException",
                "Message": "A validation exception occurred",
                "Elements": [{"ValidationErrors": [{"Message": "Invoice # must be unique."}]}],
            },
            {},
            XeroValidationError,
            lambda e: e.messages == ["Invoice # must be unique."],
        ),
        (401, {"Title": "Unauthorized"}, {}, XeroUnauthorized, lambda e: e.status == 401),
        (403, {"Title": "Forbidden"}, {}, XeroAuthLost, lambda e: not isinstance(e, XeroUnauthorized)),
        (404, {}, {}, XeroNotFound, lambda e: e.status == 404),
        (
            429,
            {},
            {"Retry-After": "37", "X-Rate-Limit-Problem": "Minute"},
            XeroRateLimited,
            lambda e: (e.retry_after, e.problem) == (37, "minute"),
        ),
        (429, {}, {"X-Rate-Limit-Problem": "day"}, XeroRateLimited, lambda e: e.retry_after == 60),
        (
            503,
            "The organisation is offline",
            {"Retry-After": "120"},
            XeroUnavailable,
            lambda e: e.offline and e.retry_after == 120,
        ),
        (500, {}, {}, XeroUnavailable, lambda e: not e.offline and e.retryable),
        (418, {}, {}, XeroError, lambda e: not e.retryable),
    ],
)
def test_each_answer_becomes_its_typed_error(client, status, body, headers, error, check):
    kwargs = {"json": body} if isinstance(body, dict) else {"text": body}
    respx.get(f"{API}/Accounts").respond(status, headers=headers, **kwargs)

    with pytest.raises(error) as raised:
        client.get("a", TENANT, "Accounts")

    assert check(raised.value)


@respx.mock
@pytest.mark.parametrize(
    "failure", [httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), httpx.RemoteProtocolError("dropped")]
)
def test_timeouts_and_dropped_connections_are_retryable(client, failure):
    respx.put(f"{API}/Contacts").mock(side_effect=failure)

    with pytest.raises(XeroUnavailable) as raised:
        client.write("PUT", "a", TENANT, "Contacts", {"Contacts": []}, idempotency_key="c-1")

    assert raised.value.retryable


@respx.mock
def test_code_exchange_reads_tokens_scopes_and_the_users_email(client):
    route = respx.post(TOKEN_URL).respond(
        200,
        json={
            "access_token": jwt({"authentication_event_id": "ae-1"}),
            "refresh_token": "r-1",
            "expires_in": 1800,
            "scope": "openid email offline_access",
            "id_token": jwt({"email": "owner@example.com", "xero_userid": "u-1"}),
        },
    )

    tokens = client.exchange_code(code="c", redirect_uri="https://x/cb", code_verifier="v")

    request = route.calls.last.request
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"cid:csecret").decode()
    assert b"code_verifier=v" in request.content
    assert tokens.email == "owner@example.com"
    assert tokens.auth_event_id == "ae-1"
    assert tokens.scopes == ("openid", "email", "offline_access")
    assert "r-1" not in repr(tokens)


@respx.mock
@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, {"error": "invalid_grant"}, XeroAuthLost),
        (400, {"error": "invalid_client"}, XeroConfigError),
        (401, {}, XeroConfigError),
        (400, {"error": "unsupported_grant_type"}, XeroError),
        (502, {}, XeroUnavailable),
    ],
)
def test_token_endpoint_errors(client, status, body, error):
    respx.post(TOKEN_URL).respond(status, json=body)

    with pytest.raises(error):
        client.refresh("r-1")


@respx.mock
def test_token_answer_without_tokens_is_retryable_not_a_crash(client):
    respx.post(TOKEN_URL).respond(200, json={"unexpected": True})

    with pytest.raises(XeroUnavailable):
        client.refresh("r-1")


@respx.mock
def test_connections_and_disconnect(client):
    respx.get("https://api.xero.com/connections").respond(
        200, json=[{"id": "c1", "tenantId": "t1", "tenantName": "Org", "tenantType": "ORGANISATION"}]
    )
    deleted = respx.delete("https://api.xero.com/connections/c1").respond(204)

    tenants = client.list_connections("a")
    client.delete_connection("a", "c1")

    assert tenants[0].tenant_id == "t1"
    assert deleted.called


@respx.mock
def test_revocation_posts_the_refresh_token_with_client_auth(client):
    route = respx.post("https://identity.xero.com/connect/revocation").respond(200)

    client.revoke("r-9")

    assert route.calls.last.request.content == b"token=r-9"
    assert route.calls.last.request.headers["Authorization"].startswith("Basic ")


def test_authorize_url_carries_pkce_state_and_configured_scopes(client):
    url = httpx.URL(client.authorize_url(client_id="cid", redirect_uri="https://x/cb", state="s", code_challenge="ch"))

    assert url.host == "login.xero.com"
    assert url.path == "/identity/connect/authorize"
    assert url.params["scope"] == SETTINGS.xero_scopes
    assert url.params["code_challenge_method"] == "S256"


def test_validation_messages_from_element_and_whole_answers():
    element = {"ValidationErrors": [{"Message": "A"}, {"Message": "B"}, {"Message": "A"}]}

    assert validation_messages(element) == ["A", "B"]
    assert validation_messages({"Message": "Only this"}) == ["Only this"]
    assert validation_messages("not json") == []
