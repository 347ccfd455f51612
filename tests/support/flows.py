"""The consent flow as a user's browser walks it: signed link → connect → Xero → callback."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx

from functions.oauth import handler as oauth
from shared.connect_link import connect_signature
from tests.support.events import FakeContext, http_event

LOCAL_API_DOMAIN = "127.0.0.1:3000"


@dataclass
class BrowserResult:
    connect: dict[str, Any]
    callback: dict[str, Any] | None
    callback_query: dict[str, str]
    cookie: str | None


def link_secret(env: dict[str, str]) -> str:
    client = boto3.client("secretsmanager")
    return client.get_secret_value(SecretId=env["CONNECT_LINK_SECRET_ARN"])["SecretString"]


def signed_query(env: dict[str, str], account_id: str, *, ttl: int = 300, now: int | None = None) -> dict[str, str]:
    expires = (now or int(time.time())) + ttl
    signature = connect_signature(link_secret(env), account_id, expires)
    return {"account_id": account_id, "expires": str(expires), "signature": signature}


def invoke_oauth(event: dict[str, Any]) -> dict[str, Any]:
    return oauth.lambda_handler(event, FakeContext())


def set_cookie(response: dict[str, Any]) -> str | None:
    """The cookie pair (``name=value``) the response sets, as the browser would send it back."""
    for cookie in response.get("cookies", []):
        pair = cookie.split(";", 1)[0]
        if pair.split("=", 1)[1]:
            return str(pair)
    return None


def start(env: dict[str, str], account_id: str) -> dict[str, Any]:
    return invoke_oauth(http_event("oauth_connect.json", query=signed_query(env, account_id), domain=LOCAL_API_DOMAIN))


def consent_at_xero(authorize_url: str) -> dict[str, str]:
    """Follow Xero's authorize URL (the sandbox consents automatically); the query it sends us back."""
    answer = httpx.get(authorize_url, follow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def callback(query: dict[str, str], cookie: str | None) -> dict[str, Any]:
    return invoke_oauth(
        http_event(
            "oauth_callback.json",
            query=query,
            cookies=[cookie] if cookie else [],
            domain=LOCAL_API_DOMAIN,
        )
    )


def connect_account(env: dict[str, str], account_id: str) -> BrowserResult:
    """The whole consent, as a browser does it; asserts only that each hop happened."""
    connect = start(env, account_id)
    assert connect["statusCode"] == 302, connect.get("body")
    cookie = set_cookie(connect)
    query = consent_at_xero(connect["headers"]["Location"])
    return BrowserResult(connect=connect, callback=callback(query, cookie), callback_query=query, cookie=cookie)
