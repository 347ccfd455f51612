"""The management API's error bodies: every domain error becomes a stable code and the right status."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.management.handler import outcome_metric
from shared.adapters.settings import SettingsConflict
from shared.api.errors import error_response, summarise, sync_error_response
from shared.errors import (
    ConnectionUnavailable,
    OrganisationNotChosen,
    RequestRefused,
    StorageError,
    SyncError,
    TokenRefreshBusy,
    UnknownAccount,
    XeroAuthLost,
    XeroConfigError,
    XeroNotFound,
    XeroRateLimited,
    XeroUnavailable,
    XeroValidationError,
)


@pytest.mark.parametrize(
    ("error", "status", "code", "retry_after"),
    [
        (UnknownAccount("never connected"), 404, "unknown_account", None),
        (ConnectionUnavailable("gone", status="disconnected"), 409, "not_connected", None),
        (OrganisationNotChosen("choose"), 409, "organisation_not_chosen", None),
        (SettingsConflict("changed"), 409, "settings_conflict", None),
        (RequestRefused("tenant_not_granted", "not granted"), 422, "tenant_not_granted", None),
        (RequestRefused("unknown_tax_mapping", "none", status=404), 404, "unknown_tax_mapping", None),
        (XeroRateLimited("limit", retry_after=42, problem="day"), 503, "xero_unavailable", 42),
        (XeroUnavailable("offline", 503, offline=True, retry_after=30), 503, "xero_unavailable", 30),
        (XeroUnavailable("timed out"), 503, "xero_unavailable", None),
        (TokenRefreshBusy("busy"), 503, "xero_unavailable", 5),
        (XeroAuthLost("invalid_grant", 400), 409, "not_connected", None),
        (XeroConfigError("invalid_client", 401), 500, "service_misconfigured", None),
        (XeroValidationError(["bad"]), 502, "xero_error", None),
        (XeroNotFound("nothing", 404), 502, "xero_error", None),
        (StorageError("dynamodb down"), 503, "storage_unavailable", 2),
        (SyncError("something else"), 500, "internal_error", None),
    ],
)
def test_each_domain_error_has_its_status_code_and_retry_hint(error, status, code, retry_after):
    answer = sync_error_response(error)

    body = json.loads(answer.body or "{}")
    assert answer.status_code == status
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["error"].get("retry_after") == retry_after
    assert answer.headers.get("Retry-After") == (str(retry_after) if retry_after is not None else None)


def test_validation_problems_are_summarised_by_place_without_the_rejected_input():
    errors: list[dict[str, Any]] = [
        {"loc": ("body", "alert_recipients", 0), "msg": "String should match pattern", "input": "s3cret-value"},
        {"loc": ("body",), "msg": "Value error, give exactly one of account_id or code", "input": {}},
    ]
    errors += [{"loc": ("body", f"f{i}"), "msg": "Field required", "input": None} for i in range(6)]

    lines = summarise(errors)

    assert lines[0] == "alert_recipients.0: String should match pattern"
    assert lines[1] == "body: give exactly one of account_id or code"
    assert lines[-1] == "and 3 more"
    assert "s3cret-value" not in str(lines)


def test_error_bodies_leave_out_what_is_not_known():
    answer = error_response(409, "not_connected", "Xero was disconnected.")

    assert json.loads(answer.body or "{}") == {"error": {"code": "not_connected", "message": "Xero was disconnected."}}
    assert "Retry-After" not in answer.headers


@pytest.mark.parametrize(
    ("status", "metric"), [(200, "ManagementAnswered"), (422, "ManagementRefused"), (503, "ManagementFailed")]
)
def test_outcomes_are_counted_apart(status, metric):
    assert outcome_metric(status) == metric


def test_an_unexpected_failure_is_a_plain_500_that_reveals_nothing(monkeypatch):
    from functions.management import handler
    from local.apigw import http_api_event
    from shared import wiring
    from tests.support.events import FakeContext

    def broken() -> Any:
        raise RuntimeError("connection string with password=hunter2")

    monkeypatch.setattr(wiring, "management", broken)
    event = http_api_event(method="GET", path="/v1/accounts/acct_1/settings", iam={"userArn": "arn:aws:iam::1:role/p"})

    answer = handler.lambda_handler(event, FakeContext())

    assert answer["statusCode"] == 500
    assert json.loads(answer["body"]) == {
        "error": {"code": "internal_error", "message": "Something went wrong on our side."}
    }
    assert "hunter2" not in answer["body"]
