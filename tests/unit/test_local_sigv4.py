"""The local HTTP API's IAM check: only requests signed with the local credentials get through."""

from __future__ import annotations

import hashlib
import time

import pytest

from local.sigv4 import Caller, SignedClient, SigV4Verifier

HOST = "127.0.0.1:3000"
CALLER = Caller(access_key="AKIATESTCALLER000001", secret_key="test-secret-key")
OTHER = Caller(access_key="AKIATESTCALLER000001", secret_key="someone-elses-key")


def signed(
    method: str, path: str, body: bytes = b"", query: str = "", caller: Caller = CALLER, region: str = "us-east-1"
) -> dict[str, str]:
    """The headers a platform backend sends, signed with botocore as SignedClient does."""
    client = SignedClient(f"http://{HOST}", caller, region=region)
    url = f"http://{HOST}{path}" + (f"?{query}" if query else "")
    extra = {"content-type": "application/json"} if body else {}
    headers = client.signed_headers(method, url, body, extra)
    client.close()
    return {k.lower(): v for k, v in headers.items()} | {"host": HOST}


@pytest.fixture
def verifier() -> SigV4Verifier:
    return SigV4Verifier([CALLER], region="us-east-1")


def test_a_signed_request_reaches_the_handler_as_its_iam_caller(verifier):
    headers = signed("PUT", "/v1/accounts/a1/organisation", b'{"tenant_id":"t"}')

    iam = verifier("PUT", "/v1/accounts/a1/organisation", "", headers, b'{"tenant_id":"t"}')

    assert iam is not None
    assert iam["userArn"] == CALLER.arn
    assert iam["accessKey"] == CALLER.access_key
    assert iam["accountId"] == "123456789012"


def test_signed_query_strings_verify_in_any_order(verifier):
    headers = signed("GET", "/v1/accounts/a1/sync-failures", query="limit=5&after=x")

    assert verifier("GET", "/v1/accounts/a1/sync-failures", "limit=5&after=x", headers, b"") is not None


def test_unsigned_requests_are_refused(verifier):
    assert verifier("GET", "/v1/accounts/a1/connection", "", {"host": HOST}, b"") is None
    assert "Authorization" in verifier.last_refusal


@pytest.mark.parametrize(
    ("method", "path", "query", "body"),
    [
        ("PUT", "/v1/accounts/a1/organisation", "", b'{"tenant_id":"other"}'),  # body changed
        ("PUT", "/v1/accounts/a2/organisation", "", b'{"tenant_id":"t"}'),  # another account's path
        ("PUT", "/v1/accounts/a1/organisation", "x=1", b'{"tenant_id":"t"}'),  # query added
        ("POST", "/v1/accounts/a1/organisation", "", b'{"tenant_id":"t"}'),  # method changed
    ],
)
def test_tampered_requests_are_refused(verifier, method, path, query, body):
    headers = signed("PUT", "/v1/accounts/a1/organisation", b'{"tenant_id":"t"}')

    assert verifier(method, path, query, headers, body) is None
    assert verifier.last_refusal == "signature does not match"


def test_a_tampered_signed_header_is_refused(verifier):
    headers = signed("GET", "/v1/accounts/a1/connection")
    headers["host"] = "evil.example"

    assert verifier("GET", "/v1/accounts/a1/connection", "", headers, b"") is None


def test_a_signature_made_with_the_wrong_secret_is_refused(verifier):
    headers = signed("GET", "/v1/accounts/a1/connection", caller=OTHER)

    assert verifier("GET", "/v1/accounts/a1/connection", "", headers, b"") is None
    assert verifier.last_refusal == "signature does not match"


def test_unknown_keys_other_regions_and_other_services_are_refused(verifier):
    stranger = Caller(access_key="AKIASTRANGER00000001", secret_key="x")
    assert verifier("GET", "/v1/x", "", signed("GET", "/v1/x", caller=stranger), b"") is None
    assert verifier.last_refusal == "unknown access key"
    assert verifier("GET", "/v1/x", "", signed("GET", "/v1/x", region="eu-west-1"), b"") is None
    assert "eu-west-1" in verifier.last_refusal


def test_old_signatures_expire_after_five_minutes():
    headers = signed("GET", "/v1/x")
    late = SigV4Verifier([CALLER], region="us-east-1", clock=lambda: time.time() + 301)

    assert late("GET", "/v1/x", "", headers, b"") is None
    assert late.last_refusal == "signature expired"


def test_a_declared_payload_hash_must_match_the_body(verifier):
    headers = signed("PUT", "/v1/x", b"{}") | {"x-amz-content-sha256": hashlib.sha256(b"other").hexdigest()}

    assert verifier("PUT", "/v1/x", "", headers, b"{}") is None
    assert "x-amz-content-sha256" in verifier.last_refusal


def test_the_path_is_checked_as_the_client_encoded_it(verifier):
    headers = signed("GET", "/v1/accounts/acct%40x/connection")

    assert verifier("GET", "/v1/accounts/acct%40x/connection", "", headers, b"") is not None
    assert verifier("GET", "/v1/accounts/acct@x/connection", "", headers, b"") is None, "another path"


def test_a_session_token_must_be_the_callers():
    temporary = Caller(access_key="ASIATEMPORARY0000001", secret_key="s", session_token="token-1")
    verifier = SigV4Verifier([temporary], region="us-east-1")
    headers = signed("GET", "/v1/x", caller=temporary)

    assert verifier("GET", "/v1/x", "", headers, b"") is not None
    assert verifier("GET", "/v1/x", "", headers | {"x-amz-security-token": "token-2"}, b"") is None


SCOPED = Caller(
    access_key="AKIASCOPEDCALLER0001",
    secret_key="scoped-secret",
    arn="arn:aws:iam::123456789012:role/acct-a1-tool",
    invoke_resources=(
        "arn:aws:execute-api:us-east-1:123456789012:local/$default/*/v1/accounts/a1",
        "arn:aws:execute-api:us-east-1:123456789012:local/$default/GET/v1/accounts/a1/*",
    ),
)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v1/accounts/a1/status", True),
        ("DELETE", "/v1/accounts/a1", True),
        ("PUT", "/v1/accounts/a1/settings", False),  # only GET below the account
        ("GET", "/v1/accounts/a2/status", False),  # another account
        ("GET", "/v1/accounts/a10/status", False),  # a prefix of another account's id is not its own
        ("GET", "/v1/accounts", False),  # the list of every account
    ],
)
def test_a_caller_may_invoke_only_the_routes_its_policy_names(method, path, allowed):
    verifier = SigV4Verifier([CALLER, SCOPED], region="us-east-1")
    body = b"{}" if method == "PUT" else b""

    answer = verifier(method, path, "", signed(method, path, body, caller=SCOPED), body)

    assert (answer is not None) is allowed
    if not allowed:
        assert verifier.last_refusal == (
            f"{SCOPED.arn} is not allowed execute-api:Invoke on "
            f"arn:aws:execute-api:us-east-1:123456789012:local/$default/{method}{path}"
        )
    assert verifier(method, path, "", signed(method, path, body), body) is not None  # the backend may


def test_iam_wildcards_question_mark_is_one_character():
    one = Caller(access_key="AKIAONECHARACTER0001", secret_key="s", invoke_resources=("*/GET/v1/accounts/a?",))
    verifier = SigV4Verifier([one], region="us-east-1")

    assert verifier("GET", "/v1/accounts/a1", "", signed("GET", "/v1/accounts/a1", caller=one), b"") is not None
    assert verifier("GET", "/v1/accounts/a12", "", signed("GET", "/v1/accounts/a12", caller=one), b"") is None
