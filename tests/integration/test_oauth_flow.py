"""Connect → Xero consent → callback, through the real OAuth handler, moto (DynamoDB, KMS, Secrets
Manager) over HTTP, and the Xero sandbox over HTTP."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from local.aws_resources import LocalResources
from local.xero_sandbox import SandboxServer
from local.xero_sandbox.faults import FaultRule
from local.xero_sandbox.seed import AU_TENANT, NZ_TENANT, SANDBOX_USER_EMAIL
from shared.adapters.dynamo import from_item
from tests.support import flows
from tests.support.events import http_event


def stored_items(resources: LocalResources) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb")
    return [from_item(i) for i in client.scan(TableName=resources.table_name)["Items"]]


def connection_item(resources: LocalResources, account_id: str) -> dict[str, Any] | None:
    item = boto3.client("dynamodb").get_item(
        TableName=resources.table_name, Key={"pk": {"S": f"ACCOUNT#{account_id}"}, "sk": {"S": "CONNECTION"}}
    )
    return from_item(item["Item"]) if "Item" in item else None


def test_connect_redirects_to_xero_with_state_pkce_and_configured_scopes(service_env, resources):
    response = flows.start(service_env, "acct_1001")

    assert response["statusCode"] == 302
    location = urlsplit(response["headers"]["Location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert location.path == "/identity/connect/authorize"
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == "http://127.0.0.1:3000/xero/callback"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert query["scope"].split() == service_env["XERO_SCOPES"].split()
    assert "accounting.invoices" in query["scope"]
    cookie = response["cookies"][0]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    states = [i for i in stored_items(resources) if i["pk"].startswith("OAUTHSTATE#")]
    assert len(states) == 1
    assert states[0]["account_id"] == "acct_1001"
    assert query["state"] not in states[0]["pk"], "only a hash of the state is stored"
    assert 0 < states[0]["ttl"] - time.time() <= 600


def test_full_flow_stores_connection_with_every_granted_tenant_and_encrypted_tokens(service_env, resources, sandbox):
    result = flows.connect_account(service_env, "acct_1001")

    assert result.callback is not None
    assert result.callback["statusCode"] == 200
    assert "Xero connected" in result.callback["body"]
    assert "Demo Company (NZ)" in result.callback["body"]
    assert "choose the one to sync" in result.callback["body"]
    item = connection_item(resources, "acct_1001")
    assert item is not None
    assert item["status"] == "connected"
    assert {t["tenant_id"] for t in item["tenants"]} == {NZ_TENANT, AU_TENANT}
    assert "tenant_id" not in item, "two organisations granted: the user picks one later"
    assert "accounting.invoices" in item["scopes"]
    assert item["connected_email"] == SANDBOX_USER_EMAIL
    assert item["last_activity_at"]
    assert item["connected_at"]
    assert item["sweep_pk"] == "SWEEP"
    live_refresh_tokens = [t for t, r in sandbox.sandbox.state.refresh_tokens.items() if r.rotated_to is None]
    assert len(live_refresh_tokens) == 1
    assert live_refresh_tokens[0].encode() not in item["refresh_token_ct"]
    assert b"eyJ" not in item["access_token_ct"]
    assert not [i for i in stored_items(resources) if i["pk"].startswith("OAUTHSTATE#")], "state consumed"
    assert "Max-Age=0" in result.callback["cookies"][0], "the binding cookie is cleared"


def test_single_granted_tenant_is_chosen_automatically(service_env, resources, sandbox):
    sandbox.sandbox.state.consent.tenant_ids = [NZ_TENANT]

    flows.connect_account(service_env, "acct_single")

    item = connection_item(resources, "acct_single")
    assert item is not None
    assert item["tenant_id"] == NZ_TENANT


def test_reconnect_replaces_tokens_and_keeps_settings_and_chosen_organisation(service_env, resources, sandbox):
    sandbox.sandbox.state.consent.tenant_ids = [NZ_TENANT]
    flows.connect_account(service_env, "acct_re")
    first = connection_item(resources, "acct_re")
    client = boto3.client("dynamodb")
    client.put_item(
        TableName=resources.table_name,
        Item={"pk": {"S": "ACCOUNT#acct_re"}, "sk": {"S": "SETTINGS"}, "payment_account_code": {"S": "877"}},
    )
    sandbox.sandbox.state.consent.tenant_ids = None  # now both organisations

    flows.connect_account(service_env, "acct_re")

    second = connection_item(resources, "acct_re")
    assert first is not None
    assert second is not None
    assert second["token_version"] == first["token_version"] + 1
    assert second["refresh_token_ct"] != first["refresh_token_ct"]
    assert second["tenant_id"] == NZ_TENANT, "the chosen organisation is still granted, so it stays"
    assert len(second["tenants"]) == 2
    settings = client.get_item(
        TableName=resources.table_name, Key={"pk": {"S": "ACCOUNT#acct_re"}, "sk": {"S": "SETTINGS"}}
    )
    assert settings["Item"]["payment_account_code"]["S"] == "877"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda q: q.pop("signature"), "not signed"),
        (lambda q: q.update(signature="0" * 64), "tampered"),
        (lambda q: q.update(account_id="acct_other"), "signed for another account"),
        (lambda q: q.update(expires=str(int(q["expires"]) + 60)), "expiry extended"),
        (lambda q: q.clear(), "no parameters"),
    ],
)
def test_connect_refuses_links_the_platform_did_not_sign(service_env, resources, mutate, reason):
    query = flows.signed_query(service_env, "acct_1001")
    mutate(query)

    response = flows.invoke_oauth(http_event("oauth_connect.json", query=query, domain=flows.LOCAL_API_DOMAIN))

    assert response["statusCode"] == 400, reason
    assert "connect link is not valid" in response["body"]
    assert stored_items(resources) == [], "nothing stored for a refused link"


def test_connect_refuses_expired_and_overlong_links(service_env, resources):
    expired = flows.signed_query(service_env, "acct_1001", ttl=-1)
    overlong = flows.signed_query(service_env, "acct_1001", ttl=24 * 3600)

    for query in (expired, overlong):
        response = flows.invoke_oauth(http_event("oauth_connect.json", query=query, domain=flows.LOCAL_API_DOMAIN))
        assert response["statusCode"] == 400
    assert stored_items(resources) == []


def test_callback_refuses_forged_state_and_stores_nothing(service_env, resources):
    response = flows.callback({"code": "anything", "state": "forged-state-value"}, "xero_connect=whatever")

    assert response["statusCode"] == 400
    assert "already used or is not one we issued" in response["body"]
    assert connection_item(resources, "acct_1001") is None


def test_callback_refuses_a_replayed_state(service_env, resources):
    result = flows.connect_account(service_env, "acct_1001")
    first = connection_item(resources, "acct_1001")

    replay = flows.callback(result.callback_query, result.cookie)

    assert replay["statusCode"] == 400
    assert connection_item(resources, "acct_1001") == first, "the replay changed nothing"


def test_callback_refuses_an_expired_state(service_env, resources):
    connect = flows.start(service_env, "acct_1001")
    query = flows.consent_at_xero(connect["headers"]["Location"])
    client = boto3.client("dynamodb")
    state_item = next(i for i in stored_items(resources) if i["pk"].startswith("OAUTHSTATE#"))
    client.update_item(
        TableName=resources.table_name,
        Key={"pk": {"S": state_item["pk"]}, "sk": {"S": "OAUTHSTATE"}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )

    response = flows.callback(query, flows.set_cookie(connect))

    assert response["statusCode"] == 400
    assert "expired" in response["body"]
    assert connection_item(resources, "acct_1001") is None


def test_callback_refuses_a_state_from_another_browser(service_env, resources):
    connect = flows.start(service_env, "acct_victim")
    query = flows.consent_at_xero(connect["headers"]["Location"])

    response = flows.callback(query, "xero_connect=the-attackers-own-cookie")

    assert response["statusCode"] == 400
    assert "different browser" in response["body"]
    assert connection_item(resources, "acct_victim") is None


def test_user_declining_at_xero_is_told_and_nothing_is_stored(service_env, resources, sandbox):
    sandbox.sandbox.state.consent.deny = True

    result = flows.connect_account(service_env, "acct_1001")

    assert result.callback_query["error"] == "access_denied"
    assert result.callback is not None
    assert result.callback["statusCode"] == 200
    assert "cancelled" in result.callback["body"]
    assert connection_item(resources, "acct_1001") is None


def test_callback_with_no_organisation_granted_stores_nothing_and_revokes(service_env, resources, sandbox):
    sandbox.sandbox.state.consent.tenant_ids = []

    result = flows.connect_account(service_env, "acct_1001")

    assert result.callback is not None
    assert result.callback["statusCode"] == 400
    assert "No Xero organisation was selected" in result.callback["body"]
    assert connection_item(resources, "acct_1001") is None
    assert sandbox.sandbox.state.stats["POST /connect/revocation"] == 1


def test_outcome_redirects_to_the_platform_when_configured(service_env, resources, monkeypatch):
    monkeypatch.setenv("PLATFORM_RETURN_URL", "https://app.example.com/settings/xero")
    from shared import wiring

    wiring.reset()

    result = flows.connect_account(service_env, "acct_1001")

    assert result.callback is not None
    assert result.callback["statusCode"] == 302
    assert result.callback["headers"]["Location"] == (
        "https://app.example.com/settings/xero?xero=connected&account_id=acct_1001"
    )


def test_xero_unreachable_at_callback_answers_503_and_stores_nothing(service_env, resources, sandbox):
    connect = flows.start(service_env, "acct_1001")
    query = flows.consent_at_xero(connect["headers"]["Location"])
    sandbox.sandbox.faults.set([FaultRule(kind="status", status=503, path="/connect/token")])

    response = flows.callback(query, flows.set_cookie(connect))

    assert response["statusCode"] == 503
    assert "try again" in response["body"]
    assert connection_item(resources, "acct_1001") is None


def test_https_deployments_use_a_host_only_secure_cookie(service_env, resources):
    query = flows.signed_query(service_env, "acct_1001")

    response = flows.invoke_oauth(http_event("oauth_connect.json", query=query))

    cookie = response["cookies"][0]
    assert cookie.startswith("__Host-xero_connect=")
    assert "Secure" in cookie
    assert "Path=/" in cookie
    location = response["headers"]["Location"]
    assert "redirect_uri=https%3A%2F%2Fabc123def4.execute-api.us-east-1.amazonaws.com%2Fxero%2Fcallback" in location


def test_sample_events_drive_the_handler(service_env, resources, sandbox: SandboxServer):
    """The events/ samples (used by `sam local invoke`) are valid input: the stale samples are refused cleanly."""
    from tests.support.events import sample

    connect = flows.invoke_oauth(sample("oauth_connect.json"))
    callback = flows.invoke_oauth(sample("oauth_callback.json"))

    assert connect["statusCode"] == 400
    assert callback["statusCode"] == 400
