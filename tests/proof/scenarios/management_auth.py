"""The management API is never open: every ``/v1`` route needs IAM, and without it the gateway answers 403
before the function runs.

Checks of the API's own rules (an IAM caller asking for another account's data) are registered by the
management API with :func:`management_check`.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from local.apigw import template_routes
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

ManagementCheck = Callable[[Run], None]
MANAGEMENT_CHECKS: list[ManagementCheck] = []


def management_check(check: ManagementCheck) -> ManagementCheck:
    """Register a check of the management API behind IAM (e.g. a caller asking for another account)."""
    MANAGEMENT_CHECKS.append(check)
    return check


@scenario("management-auth", "management calls without IAM: 403 from the gateway, the function never runs")
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
    total = 0
    with httpx.Client(base_url=stack.api_url, timeout=10) as client:
        for (caller, headers), (method, path) in calls:
            answer = client.request(method, path, headers=headers, json={})
            stack.record(answer)
            total += 1
            if answer.status_code == 403 and answer.text == GATEWAY_FORBIDDEN:
                refused += 1
            else:
                run.check(f"{method} {path} with {caller}: 403 from the gateway", False, str(answer.status_code))
    run.tally.events += total
    run.tally.refusals += refused
    run.check(f"{total} unauthenticated management calls: all refused by the gateway", refused == total)
    for check in MANAGEMENT_CHECKS:
        check(run)
    if not MANAGEMENT_CHECKS:
        run.note(
            "management API checks behind IAM (another account's data) not registered yet "
            "(the management API registers them with management_auth.management_check)"
        )
