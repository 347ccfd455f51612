"""The management API is never open: every ``/v1`` route needs IAM, and without it the gateway answers 403
before the function runs. A principal whose policy names one account's routes reaches only those.
"""

from __future__ import annotations

import httpx

from local.apigw import template_routes
from local.sigv4 import Caller, local_api_arn
from tests.proof.accounts import connect_business
from tests.proof.framework import Run, scenario

GATEWAY_FORBIDDEN = '{"message":"Forbidden"}'
FORGED_SIGV4 = (
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/execute-api/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
)
CALLERS: dict[str, dict[str, str]] = {
    "no credentials": {},
    "a forged SigV4 signature": {"Authorization": FORGED_SIGV4, "X-Amz-Date": "20260101T000000Z"},
    "a bearer token": {"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."},
    "an API key header": {"X-Api-Key": "guess"},
    "a spoofed authorizer header": {"X-Amzn-Iam-User-Arn": "arn:aws:iam::123456789012:user/platform"},
}
REQUESTS = [
    ("GET", "/v1/accounts/acct-1/status"),
    ("GET", "/v1/accounts/acct-1/organisations"),
    ("PUT", "/v1/accounts/acct-1/settings"),
    ("POST", "/v1/accounts/acct-1/disconnect"),
    ("DELETE", "/v1/accounts/acct-1"),
    ("POST", "/v1/accounts/acct-1/invoices/inv-1/retry"),
    ("GET", "/v1/accounts"),
]

API_ARN = local_api_arn("us-east-1")
OWN, OTHER = "proof-scope-own", "proof-scope-other"
# A tool of the platform's that may touch one account only (README, "Scoping an IAM policy").
ONE_ACCOUNT = Caller(
    access_key="AKIAPROOFONEACCOUNT1",
    secret_key="proof-one-account-secret-key",  # a fixed local test key
    arn="arn:aws:iam::123456789012:role/one-account-tool",
    invoke_resources=(f"{API_ARN}/*/v1/accounts/{OWN}", f"{API_ARN}/*/v1/accounts/{OWN}/*"),
)
OTHER_ACCOUNT_REQUESTS = [
    ("GET", f"/v1/accounts/{OTHER}/connection"),
    ("GET", f"/v1/accounts/{OTHER}/organisations"),
    ("PUT", f"/v1/accounts/{OTHER}/settings"),
    ("POST", f"/v1/accounts/{OTHER}/disconnect"),
    ("DELETE", f"/v1/accounts/{OTHER}"),
    ("POST", f"/v1/accounts/{OTHER}/invoices/inv-1/retry"),
    ("GET", f"/v1/accounts/{OWN}-and-more/connection"),  # an id that starts with its own
    ("GET", "/v1/accounts"),  # every account
]


@scenario(
    "management-auth",
    "management calls without IAM, or outside the caller's policy: 403 from the gateway, the function never runs",
)
def management_auth(run: Run) -> None:
    stack = run.stack
    management = [r for r in template_routes() if r.path.startswith("/v1")]
    run.check(
        "every /v1 route in template.yaml requires AWS_IAM",
        bool(management) and all(r.iam for r in management),
        ", ".join(f"{r.route_key} iam={r.iam}" for r in management),
    )
    callers = list(CALLERS.items())
    if run.size.full:  # every caller on every route, three times over
        calls = [(caller, request) for _ in range(3) for caller in callers for request in REQUESTS]
    else:  # every caller and every route at least once
        calls = [
            (callers[i % len(callers)], REQUESTS[i % len(REQUESTS)]) for i in range(max(len(callers), len(REQUESTS)))
        ]
    refused = 0
    total = len(calls)
    with httpx.Client(base_url=stack.api_url, timeout=10) as client:
        for (caller, headers), (method, path) in calls:
            answer = client.request(method, path, headers=headers, json={})
            refused += _refused_by_gateway(run, answer, f"{method} {path} with {caller}")
    run.check(f"{total} unauthenticated management calls: all refused by the gateway", refused == total)
    _one_account_principal(run)


def _one_account_principal(run: Run) -> None:
    """Signed correctly, but for another account than its policy names: 403, and nothing changes."""
    stack = run.stack
    connect_business(stack, OWN)
    connect_business(stack, OTHER)
    stack.verifier.add(ONE_ACCOUNT)
    tool, backend = stack.signed_client(ONE_ACCOUNT), stack.signed_client()
    before = stack.items()
    refused = 0
    for method, path in OTHER_ACCOUNT_REQUESTS:
        answer = tool.request(method, path, json_body={} if method in ("PUT", "POST") else None)
        refused += _refused_by_gateway(run, answer, f"{method} {path} by the one-account principal")
    run.check(
        f"{len(OTHER_ACCOUNT_REQUESTS)} calls for another account by a one-account principal: all refused",
        refused == len(OTHER_ACCOUNT_REQUESTS),
    )
    run.check("nothing stored by the refused calls", stack.items() == before)
    own = tool.get(f"/v1/accounts/{OWN}/connection")
    other = backend.get(f"/v1/accounts/{OTHER}/connection")
    run.tally.events += 2
    run.check(
        "the same principal reaches its own account, and the backend reaches any account",
        own.status_code == 200 and other.status_code == 200 and other.json()["status"] == "connected",
        f"own {own.status_code}, backend {other.status_code}",
    )


def _refused_by_gateway(run: Run, answer: httpx.Response, call: str) -> int:
    """Count one call; 1 if the gateway refused it (403 before the function ran), else a failed check."""
    run.stack.record(answer)
    run.tally.events += 1
    if answer.status_code == 403 and answer.text == GATEWAY_FORBIDDEN:
        run.tally.refusals += 1
        return 1
    run.check(f"{call}: 403 from the gateway", False, str(answer.status_code))
    return 0
