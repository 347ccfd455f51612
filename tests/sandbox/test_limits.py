"""Xero's rate limits, per organisation and per app, on the sandbox clock."""

from __future__ import annotations

import threading

import pytest

from local.xero_sandbox import clock as clock_module
from local.xero_sandbox import create_sandbox
from local.xero_sandbox.faults import FaultRule
from local.xero_sandbox.limits import Limits
from local.xero_sandbox.seed import AU_TENANT, NZ_TENANT
from tests.sandbox.conftest import ALL_SCOPES, Api, contact, flask_sender


def test_every_answer_carries_the_remaining_limits(xero: Api):
    first = xero.get("Organisation")
    second = xero.put("Contacts", {"Contacts": [contact("Counted")]})

    assert (first.headers["X-MinLimit-Remaining"], first.headers["X-DayLimit-Remaining"]) == ("59", "4999")
    assert first.headers["X-AppMinLimit-Remaining"] == "9999"
    assert (second.headers["X-MinLimit-Remaining"], second.headers["X-DayLimit-Remaining"]) == ("58", "4998")


def test_sixty_one_calls_in_a_minute_is_a_429_with_retry_after_from_the_sandbox_clock(sandbox_app, xero: Api):
    for _ in range(60):
        assert xero.get("Organisation").status == 200

    refused = xero.get("Organisation")
    sandbox_app.state.clock.advance(45)
    still = xero.get("Organisation")
    sandbox_app.state.clock.advance(15)
    allowed = xero.get("Organisation")

    assert refused.status == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "minute"
    assert refused.headers["Retry-After"] == "60"
    assert refused.headers["X-MinLimit-Remaining"] == "0"
    assert still.status == 429
    assert still.headers["Retry-After"] == "15"
    assert allowed.status == 200
    org = sandbox_app.state.organisations[NZ_TENANT]
    assert org.stats["429"] == org.stats["429 minute"] == 2
    assert org.stats["calls"] == 63


def test_refused_calls_use_up_nothing(sandbox_app, xero: Api):
    sandbox_app.state.limiter.configure(minute=2)
    for _ in range(5):
        xero.get("Organisation")

    sandbox_app.state.clock.advance(61)

    assert xero.get("Organisation").headers["X-DayLimit-Remaining"] == "4997"  # 2 admitted earlier, and this one


def test_day_limit_set_through_the_control_endpoint_and_per_organisation(sandbox_app, xero: Api):
    control = sandbox_app.flask.test_client()
    assert control.post("/_sandbox/limits", json={"day": 3}).status_code == 200
    assert control.post("/_sandbox/limits", json={"day": 1, "tenant_id": AU_TENANT}).status_code == 200
    au = xero.as_tenant(AU_TENANT)

    nz_answers = [xero.get("Organisation") for _ in range(4)]
    au_answers = [au.get("Organisation") for _ in range(2)]
    sandbox_app.state.clock.advance(3600)
    xero = xero.with_token(sandbox_app.state.grant_access(ALL_SCOPES))
    after_an_hour = xero.get("Organisation")
    sandbox_app.state.clock.advance(86_400 - 3600)
    next_day = xero.with_token(sandbox_app.state.grant_access(ALL_SCOPES)).get("Organisation")

    assert [a.status for a in nz_answers] == [200, 200, 200, 429]
    assert nz_answers[3].headers["X-Rate-Limit-Problem"] == "day"
    assert nz_answers[3].headers["Retry-After"] == "86400"
    assert [a.status for a in au_answers] == [200, 429]
    assert after_an_hour.status == 429
    assert after_an_hour.headers["Retry-After"] == str(86_400 - 3600)
    assert next_day.status == 200
    described = control.get("/_sandbox/limits").get_json()
    assert described["limits"]["day"] == 3
    assert described["tenants"][AU_TENANT]["limits"]["day"] == 1


def test_app_minute_limit_counts_every_organisation(sandbox_app):
    sandbox = create_sandbox(limits=Limits(app_minute=3))
    nz = Api(flask_sender(sandbox), sandbox.state.grant_access(ALL_SCOPES))
    au = nz.as_tenant(AU_TENANT)

    answers = [nz.get("Organisation"), au.get("Organisation"), nz.get("Organisation"), au.get("Organisation")]

    assert [a.status for a in answers] == [200, 200, 200, 429]
    assert answers[3].headers["X-Rate-Limit-Problem"] == "appminute"
    assert answers[2].headers["X-AppMinLimit-Remaining"] == "0"


def test_more_than_five_calls_in_progress_is_a_concurrent_429(sandbox_app, xero: Api):
    limiter, now = sandbox_app.state.limiter, sandbox_app.state.clock.now()
    held = limiter.hold(NZ_TENANT, "SANDBOXCLIENTID0000000000000000", now, 5)

    refused = xero.get("Organisation")
    other_org = xero.as_tenant(AU_TENANT).get("Organisation")
    limiter.release(held[0])
    allowed = xero.get("Organisation")

    assert refused.status == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "concurrent"
    assert refused.headers["Retry-After"] == "1"
    assert other_org.status == 200
    assert allowed.status == 200


def test_concurrent_limit_over_http_with_slow_calls(sandbox, xero_http: Api):
    sandbox.sandbox.faults.set([FaultRule(kind="slow", delay=0.4, path="/api.xro/2.0/Organisation")])
    statuses: list[int] = []
    problems: list[str] = []

    def call() -> None:
        answer = xero_http.get("Organisation")
        statuses.append(answer.status)
        problems.append(answer.headers.get("x-rate-limit-problem", ""))

    threads = [threading.Thread(target=call) for _ in range(7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)

    assert sorted(statuses) == [200] * 5 + [429] * 2
    assert problems.count("concurrent") == 2


def test_the_clock_speed_is_visible_to_clients_and_scales_the_wait(sandbox_app, xero: Api, monkeypatch):
    real = [1000.0]
    monkeypatch.setattr(clock_module.time, "monotonic", lambda: real[0])
    control = sandbox_app.flask.test_client()
    speed = control.post("/_sandbox/clock", json={"speed": 600}).get_json()["speed"]
    sandbox_app.state.limiter.configure(minute=1)

    xero.get("Organisation")
    refused = xero.get("Organisation")
    real_wait = int(refused.headers["Retry-After"]) / float(refused.headers["X-Sandbox-Clock-Speed"])
    real[0] += real_wait  # a harness sleeps Retry-After / speed real seconds

    assert speed == 600
    assert control.get("/_sandbox/clock").get_json()["speed"] == 600
    assert refused.status == 429
    assert real_wait == pytest.approx(0.1)
    assert xero.get("Organisation").status == 200
