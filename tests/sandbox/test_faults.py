"""Faults on demand: Xero's failures, targeted, counted; drop and slow commit the write first."""

from __future__ import annotations

import time

import httpx
import pytest
from werkzeug.test import Client

from local.xero_sandbox import Sandbox
from local.xero_sandbox.faults import OFFLINE_BODY, FaultRule
from local.xero_sandbox.seed import AU_TENANT, NZ_TENANT
from tests.sandbox.conftest import ALL_SCOPES, Answer, Api, Send, contact, http_sender


def wsgi_sender(sandbox: Sandbox) -> Send:
    """Through the fault middleware, in-process."""
    client = Client(sandbox.wsgi)

    def send(method: str, path: str, headers: dict[str, str], query: dict[str, str], data: bytes | None) -> Answer:
        if data is not None:
            headers = headers | {"Content-Type": "application/json"}
        response = client.open(path, method=method, headers=headers, query_string=query, data=data)
        return Answer(response.status_code, response.get_data(), dict(response.headers))

    return send


@pytest.fixture
def faulty(sandbox_app: Sandbox) -> Api:
    return Api(wsgi_sender(sandbox_app), sandbox_app.state.grant_access(ALL_SCOPES))


def test_status_fault_answers_500_before_doing_anything_and_is_counted(sandbox_app, faulty: Api):
    sandbox_app.faults.set([FaultRule(kind="status", status=500, path="/api.xro/2.0/Contacts", times=1)])

    failed = faulty.put("Contacts", {"Contacts": [contact("Never")]})
    later = faulty.get("Contacts")

    assert failed.status == 500
    assert later.items("Contacts") == []
    assert sandbox_app.state.stats["fault status 500"] == 1
    assert sandbox_app.state.organisations[NZ_TENANT].stats["faults"] == 1
    assert sandbox_app.faults.injected["status 500"] == 1


def test_offline_fault_is_xeros_503_with_retry_after(faulty: Api, sandbox_app):
    sandbox_app.faults.set([FaultRule(kind="offline", retry_after=120)])

    answer = faulty.get("Organisation")

    assert answer.status == 503
    assert answer.raw == OFFLINE_BODY
    assert answer.headers["Retry-After"] == "120"
    assert sandbox_app.state.stats["fault offline"] == 1


def test_rules_target_method_path_and_tenant(faulty: Api, sandbox_app):
    sandbox_app.faults.set(
        [FaultRule(kind="status", status=503, method="PUT", path="/api.xro/2.0/Invoices", tenant_id=AU_TENANT)]
    )
    au = faulty.as_tenant(AU_TENANT)

    assert au.put("Invoices", {"Invoices": [{"Type": "ACCREC"}]}).status == 503
    assert au.get("Invoices").status == 200  # another method
    assert au.put("Contacts", {"Contacts": [contact("Fine")]}).status == 200  # another path
    assert faulty.put("Invoices", {"Invoices": [{"Type": "ACCREC"}]}).status == 400  # another tenant: real rules


def test_next_n_calls(faulty: Api, sandbox_app):
    sandbox_app.faults.set([FaultRule(kind="status", status=500, times=2)])

    assert [faulty.get("Organisation").status for _ in range(3)] == [500, 500, 200]


def test_probability_with_a_seed_repeats(faulty: Api, sandbox_app):
    def run() -> list[int]:
        sandbox_app.faults.set([FaultRule(kind="status", status=500, probability=0.5)], seed=42)
        return [faulty.get("Organisation").status for _ in range(16)]

    first, second = run(), run()

    assert first == second
    assert 0 < first.count(500) < 16


def test_fault_rules_over_the_control_endpoint(sandbox_app, faulty: Api):
    control = sandbox_app.flask.test_client()
    rules = [{"kind": "status", "status": 502, "path": "/api.xro/2.0/TaxRates", "times": 1}]

    assert control.post("/_sandbox/faults", json={"rules": rules, "seed": 3}).status_code == 200
    assert faulty.get("TaxRates").status == 502
    described = control.get("/_sandbox/faults").get_json()

    assert described["rules"][0]["fired"] == 1
    assert described["injected"] == {"status 502": 1}


def test_slow_fault_commits_the_write_after_the_client_gave_up(sandbox):
    state = sandbox.sandbox.state
    impatient = Api(http_sender(sandbox.url, timeout=0.1), state.grant_access(ALL_SCOPES))
    sandbox.sandbox.faults.set([FaultRule(kind="slow", delay=0.3, method="PUT", times=1)])

    with pytest.raises(httpx.ReadTimeout):
        impatient.put("Contacts", {"Contacts": [contact("Slowly Saved")]}, key="slow-1")
    deadline = time.monotonic() + 3
    while not state.organisations[NZ_TENANT].contacts and time.monotonic() < deadline:
        time.sleep(0.02)

    assert [c["Name"] for c in state.organisations[NZ_TENANT].contacts.values()] == ["Slowly Saved"]
    assert state.stats["fault slow"] == 1


def test_drop_commits_the_write_then_hangs_up(sandbox, xero_http: Api):
    sandbox.sandbox.faults.set([FaultRule(kind="drop", method="PUT", path="/api.xro/2.0/Contacts", times=1)])

    with pytest.raises(httpx.TransportError):
        xero_http.put("Contacts", {"Contacts": [contact("Saved Anyway")]})

    assert [c["Name"] for c in xero_http.get("Contacts").items("Contacts")] == ["Saved Anyway"]
    assert sandbox.sandbox.state.stats["fault drop"] == 1
