"""Schema-driven: requests generated from the served OpenAPI document (valid and invalid ones) are sent
through the local HTTP API to the real handler, moto and the Xero sandbox. No answer may be a server
error, and every answer must be one the document declares, in the shape it declares."""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from local.xero_sandbox.seed import NZ_TENANT
from shared.api.app import build_app, openapi_document
from tests.support import flows
from tests.support.api import ManagementApi

CONNECTED = "acct_fuzz"
GATEWAY_NOT_FOUND = {"message": "Not Found"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SCHEMA = schemathesis.openapi.from_dict(json.loads(openapi_document(build_app())))
CASES = st.one_of(SCHEMA.as_strategy(GenerationMode.POSITIVE), SCHEMA.as_strategy(GenerationMode.NEGATIVE))


@pytest.fixture
def api(service_env, sandbox) -> ManagementApi:
    """The platform's client, with one connected account for generated requests to reach deep into."""
    sandbox.sandbox.state.consent.tenant_ids = [NZ_TENANT]
    assert flows.connect_account(service_env, CONNECTED).callback is not None
    return ManagementApi()


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=CASES, aim_at_connected=st.booleans())
def test_no_generated_request_gets_a_server_error_or_an_undocumented_answer(api, case, aim_at_connected):
    if aim_at_connected and isinstance(case.path_parameters, dict) and not case.path.endswith("/disconnect"):
        case.path_parameters["account_id"] = CONNECTED
    app = api.http

    response = case.call(app=app)

    if response.status_code == 404 and response.json() == GATEWAY_NOT_FOUND:
        return  # the gateway's own answer: no route matched (e.g. a newline in the path), the function never ran
    case.validate_response(response, checks=CHECKS)
