"""The settings page's security, as an attacker's browser would meet it: links, sessions, CSRF, headers,
cookies, escaping. Plain HTTP against the local stack (the browser tests click through the same page)."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest

from local.stack import LocalStack
from local.xero_sandbox import SandboxServer
from local.xero_sandbox.seed import AU_TENANT, NZ_TENANT, nz_organisation
from shared.adapters.page_sessions import digest
from shared.connect_link import connect_signature, settings_signature

HOSTILE = "<script>alert(1)</script> & \"Quotes' Ltd"
HOSTILE_TENANT = "7c3e5a1f-0d2b-4c6e-9f81-3a5b7d9e1f03"


@pytest.fixture
def stack(local_stack: LocalStack) -> LocalStack:
    return local_stack


def connect(stack: LocalStack, sandbox: SandboxServer, account_id: str, tenants: list[str]) -> None:
    sandbox.sandbox.state.consent.tenant_ids = tenants
    with httpx.Client(timeout=30) as browser:
        start = browser.get(stack.connect_link(account_id))
        consent = browser.get(start.headers["location"])
        assert browser.get(consent.headers["location"]).status_code == 200


def open_page(stack: LocalStack, account_id: str, **headers: str) -> tuple[httpx.Client, httpx.Response]:
    browser = httpx.Client(base_url=stack.api_url, timeout=30, headers=headers)
    opened = browser.get(stack.settings_link(account_id))
    assert opened.status_code == 303, opened.text
    assert opened.headers["location"] == "/xero/settings"
    return browser, browser.get("/xero/settings")


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name=csrf_token value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def link_query(link: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}


def session_item(stack: LocalStack, cookie: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"PAGESESSION#{digest(cookie)}"}, "sk": {"S": "PAGESESSION"}}


@pytest.fixture
def browsers(stack: LocalStack, sandbox: SandboxServer) -> Iterator[dict[str, tuple[httpx.Client, httpx.Response]]]:
    connect(stack, sandbox, "acct-a", [NZ_TENANT])
    connect(stack, sandbox, "acct-b", [AU_TENANT])
    opened = {account: open_page(stack, account) for account in ("acct-a", "acct-b")}
    yield opened
    for browser, _ in opened.values():
        browser.close()


def test_only_a_fresh_unused_settings_link_opens_a_session(stack):
    secret = stack.connect_link_secret()
    now = int(time.time())
    refused: dict[str, dict[str, str | int]] = {
        "expired": {
            "account_id": "acct-a",
            "expires": now - 1,
            "signature": settings_signature(secret, "acct-a", now - 1),
        },
        "forged": {"account_id": "acct-a", "expires": now + 60, "signature": "0" * 64},
        "another account's": {
            "account_id": "acct-b",
            "expires": now + 60,
            "signature": settings_signature(secret, "acct-a", now + 60),
        },
        "a connect link's": {
            "account_id": "acct-a",
            "expires": now + 60,
            "signature": connect_signature(secret, "acct-a", now + 60),
        },
        "unsigned": {"account_id": "acct-a"},
    }
    with httpx.Client(base_url=stack.api_url, timeout=30) as browser:
        for why, query in refused.items():
            answer = browser.get("/xero/settings/open", params=query)
            assert answer.status_code == 403, why
            assert "set-cookie" not in answer.headers, why
            assert "This cannot be opened" in answer.text, why

        link = stack.settings_link("acct-a")
        assert browser.get(link).status_code == 303
        again = httpx.get(link, timeout=30)
        assert again.status_code == 403
        assert "already used" in again.text
        # The connect link's own signature (purpose connect) does not open settings either.
        connect_query = link_query(stack.connect_link("acct-a"))
        assert browser.get("/xero/settings/open", params=connect_query).status_code == 403


def test_without_a_live_session_nothing_is_shown_or_changed(stack, browsers):
    browser, page = browsers["acct-a"]
    cookie = browser.cookies["xero_settings"]
    with httpx.Client(base_url=stack.api_url, timeout=30) as stranger:
        assert stranger.get("/xero/settings").status_code == 401
        assert stranger.get("/xero/settings/activity").status_code == 401
        stranger.cookies.set("xero_settings", "not-a-session")
        forged = stranger.get("/xero/settings")
        assert forged.status_code == 401
        assert "Your settings session has ended" in forged.text
        answer = stranger.post("/xero/settings/disconnect", data={"csrf_token": csrf(page)})
        assert answer.status_code == 401

    table = stack.resources.table_name
    dynamo = boto3.client("dynamodb")
    # Idle for longer than the idle expiry.
    dynamo.update_item(
        TableName=table,
        Key=session_item(stack, cookie),
        UpdateExpression="SET last_seen_at = :then",
        ExpressionAttributeValues={":then": {"N": str(int(time.time()) - 1801)}},
    )
    ended = browser.get("/xero/settings")
    assert ended.status_code == 401
    assert "expired" in ended.text
    assert "Max-Age=0" in ended.headers["set-cookie"]
    assert "Item" not in dynamo.get_item(TableName=table, Key=session_item(stack, cookie))

    # Past the absolute expiry, however recently used.
    other, _ = browsers["acct-b"]
    other_cookie = other.cookies["xero_settings"]
    dynamo.update_item(
        TableName=table,
        Key=session_item(stack, other_cookie),
        UpdateExpression="SET expires_at = :then",
        ExpressionAttributeValues={":then": {"N": str(int(time.time()) - 1)}},
    )
    assert other.get("/xero/settings").status_code == 401


def test_a_session_reads_and_changes_its_own_account_only(stack, browsers):
    a, page_a = browsers["acct-a"]
    _, page_b = browsers["acct-b"]

    assert "Demo Company (NZ)" in page_a.text
    assert "Sandbox Trading (AU)" not in page_a.text
    assert "Sandbox Trading (AU)" in page_b.text
    # No request names an account: one that tries is ignored, and A's session disconnects A only.
    answer = a.post(
        "/xero/settings/disconnect",
        data={"csrf_token": csrf(page_a), "account_id": "acct-b"},
        params={"account_id": "acct-b"},
    )
    assert answer.status_code == 303
    statuses = {
        account: stack.client().request("GET", f"/v1/accounts/{account}/connection").json()["status"]
        for account in ("acct-a", "acct-b")
    }
    assert statuses == {"acct-a": "disconnected", "acct-b": "connected"}
    # B's token is no good with A's cookie.
    assert (
        a.post("/xero/settings/alerts", data={"csrf_token": csrf(page_b), "recipients": "x@example.com"}).status_code
        == 403
    )


def test_every_form_needs_the_sessions_csrf_token_and_to_come_from_the_page(stack, browsers):
    browser, page = browsers["acct-a"]
    token = csrf(page)
    change = {"recipients": "owner@acct-a.example"}

    assert browser.post("/xero/settings/alerts", data=change).status_code == 403
    assert browser.post("/xero/settings/alerts", data={**change, "csrf_token": "wrong"}).status_code == 403
    cross_site = browser.post(
        "/xero/settings/alerts", data={**change, "csrf_token": token}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross_site.status_code == 403
    foreign = browser.post(
        "/xero/settings/alerts", data={**change, "csrf_token": token}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    as_json = browser.post("/xero/settings/alerts", json={**change, "csrf_token": token})
    assert as_json.status_code == 415
    settings = stack.client().request("GET", "/v1/accounts/acct-a/settings").json()
    assert settings["alert_recipients"] == [], "nothing was changed by a refused form"

    done = browser.post(
        "/xero/settings/alerts",
        data={**change, "csrf_token": token},
        headers={"Sec-Fetch-Site": "same-origin", "Origin": stack.api_url},
    )
    assert done.status_code == 303
    assert stack.client().request("GET", "/v1/accounts/acct-a/settings").json()["alert_recipients"] == [
        "owner@acct-a.example"
    ]


def test_strict_headers_an_http_only_cookie_and_no_secret_in_the_page(stack, sandbox, browsers):
    browser, page = browsers["acct-a"]

    headers = page.headers
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert f"form-action 'self' {stack.sandbox_url}" in csp
    assert "unsafe-inline" not in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in page.text.replace('<script src="', "")  # no inline script
    assert "style=" not in page.text
    state = sandbox.sandbox.state
    for value in (*state.access_tokens, *state.refresh_tokens, stack.connect_link_secret()):
        assert value not in page.text
    # A link of its own: one with the fixture link's expiry second would be that (used) link.
    opened = httpx.get(stack.settings_link("acct-a", ttl_seconds=150), timeout=30)
    cookie = opened.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/" in cookie
    asset = browser.get("/xero/settings/assets/settings.js")
    assert asset.status_code == 200
    assert asset.headers["content-type"].startswith("text/javascript")
    assert browser.get("/xero/settings/assets/other.js").status_code == 404


def test_hostile_values_are_escaped_everywhere(stack, sandbox):
    state = sandbox.sandbox.state
    state.organisations[HOSTILE_TENANT] = dataclasses.replace(nz_organisation(), tenant_id=HOSTILE_TENANT, name=HOSTILE)
    connect(stack, sandbox, "acct-hostile", [HOSTILE_TENANT, NZ_TENANT])
    browser, page = open_page(stack, "acct-hostile")
    try:
        assert "<script>alert(1)" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Quotes&#x27; Ltd" in page.text
        refused = browser.post(
            "/xero/settings/tax-map",
            data={"csrf_token": csrf(page), "platform_tax_id": '"><script>x()</script>', "tax_type": "NOPE"},
        )
        assert refused.status_code in (409, 422)
        assert "<script>x()" not in refused.text
    finally:
        browser.close()


def test_the_page_can_be_framed_only_by_the_named_origins_with_a_partitioned_cookie(aws, sandbox):
    origins = "https://app.platform.example https://admin.platform.example"
    with LocalStack(
        moto_endpoint=aws, sandbox=sandbox, poll_seconds=0, parameters={"SettingsFrameAncestors": origins}
    ) as framed:
        # A deployed API's host name (not loopback): the page is served as over HTTPS.
        host = {"Host": "abc123.execute-api.us-east-1.amazonaws.com"}
        with httpx.Client(base_url=framed.api_url, timeout=30, headers=host) as browser:
            opened = browser.get(framed.settings_link("acct-framed"))
            cookie = opened.headers["set-cookie"]
            browser.cookies.set("__Host-xero_settings", cookie.split(";")[0].split("=", 1)[1])
            page = browser.get("/xero/settings")

    assert cookie.startswith("__Host-xero_settings=")
    assert all(attribute in cookie for attribute in ("Secure", "HttpOnly", "SameSite=None", "Partitioned", "Path=/"))
    assert f"frame-ancestors {origins}" in page.headers["content-security-policy"]
    assert "x-frame-options" not in page.headers
    assert page.headers["strict-transport-security"].startswith("max-age=")
