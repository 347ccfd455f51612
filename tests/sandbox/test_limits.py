"""Xero's rate limits, per organisation and per app, on the sandbox clock."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

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


def test_the_minute_window_is_fixed_from_its_first_call_not_rolling(sandbox_app, xero: Api):
    xero.get("Organisation")  # opens the window
    sandbox_app.state.clock.advance(50)
    late = [xero.get("Organisation") for _ in range(59)]
    refused = xero.get("Organisation")
    sandbox_app.state.clock.advance(10)  # the window that opened with the first call has ended
    fresh = [xero.get("Organisation") for _ in range(60)]  # a rolling minute would still hold 59 calls
    over = xero.get("Organisation")

    assert [a.status for a in late] == [200] * 59
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "10"
    assert [a.status for a in fresh] == [200] * 60
    assert fresh[0].headers["X-MinLimit-Remaining"] == "59"
    assert over.status == 429
    assert over.headers["Retry-After"] == "60"


def test_the_day_window_is_fixed_too(sandbox_app, xero: Api):
    sandbox_app.state.limiter.configure(tenant_id=NZ_TENANT, day=3)
    clock = sandbox_app.state.clock
    xero.get("Organisation")
    clock.advance(23 * 3600)
    xero = xero.with_token(sandbox_app.state.grant_access(ALL_SCOPES))
    later = [xero.get("Organisation") for _ in range(2)]
    refused = xero.get("Organisation")
    clock.advance(3600)
    xero = xero.with_token(sandbox_app.state.grant_access(ALL_SCOPES))
    next_day = [xero.get("Organisation") for _ in range(3)]

    assert [a.status for a in later] == [200, 200]
    assert refused.status == 429
    assert (refused.headers["X-Rate-Limit-Problem"], refused.headers["Retry-After"]) == ("day", "3600")
    assert [a.status for a in next_day] == [200, 200, 200]  # a rolling day would admit only one


def test_the_starter_tier_allows_a_thousand_calls_a_day(sandbox_app, xero: Api):
    limiter, now = sandbox_app.state.limiter, sandbox_app.state.clock.now()
    limiter.set_tier(NZ_TENANT, "starter")
    limiter.configure(minute=10_000)
    first = xero.get("Organisation")
    for _ in range(998):  # calls made and finished, without the cost of 998 requests
        limiter.release(limiter.admit(NZ_TENANT, "SANDBOXCLIENTID0000000000000000", now))
    last = xero.get("Organisation")
    refused = xero.get("Organisation")
    standard = xero.as_tenant(AU_TENANT).get("Organisation")

    assert first.headers["X-DayLimit-Remaining"] == "999"
    assert (last.status, last.headers["X-DayLimit-Remaining"]) == (200, "0")
    assert refused.status == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "day"
    assert refused.headers["Retry-After"] == "86400"
    assert standard.headers["X-DayLimit-Remaining"] == "4999"


def test_a_tier_is_set_through_the_control_endpoint_and_shown(sandbox_app, xero: Api):
    control = sandbox_app.flask.test_client()

    assert control.post("/_sandbox/limits", json={"tenant_id": NZ_TENANT, "tier": "starter"}).status_code == 200
    assert control.post("/_sandbox/limits", json={"tenant_id": NZ_TENANT, "tier": "gold"}).status_code == 400
    assert control.post("/_sandbox/limits", json={"tier": "starter"}).status_code == 400
    assert xero.get("Organisation").headers["X-DayLimit-Remaining"] == "999"
    described = control.get("/_sandbox/limits").get_json()
    assert described["tenants"][NZ_TENANT]["tier"] == "starter"
    assert described["tenants"][NZ_TENANT]["limits"]["day"] == 1000
    assert described["tenants"][AU_TENANT]["limits"]["day"] == 5000
    org = next(o for o in control.get("/_sandbox/orgs").get_json() if o["tenant_id"] == NZ_TENANT)
    assert org["tier"] == "starter"


def test_the_seeded_organisations_are_on_the_standard_tier(sandbox_app):
    assert sandbox_app.state.limiter.tier_of(NZ_TENANT) == "standard"
    assert sandbox_app.state.limiter.tier_of(AU_TENANT) == "standard"


def test_app_minute_limit_counts_every_organisation(sandbox_app):
    sandbox = create_sandbox(limits=Limits(app_minute=3))
    nz = Api(flask_sender(sandbox), sandbox.state.grant_access(ALL_SCOPES))
    au = nz.as_tenant(AU_TENANT)

    answers = [nz.get("Organisation"), au.get("Organisation"), nz.get("Organisation"), au.get("Organisation")]

    assert [a.status for a in answers] == [200, 200, 200, 429]
    assert answers[3].headers["X-Rate-Limit-Problem"] == "appminute"
    assert answers[3].headers["Retry-After"] == "60"  # the app's minute is a fixed window too
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
    assert "Retry-After" not in refused.headers  # Xero sends it only with the minute and day limits
    assert other_org.status == 200
    assert allowed.status == 200


def test_concurrent_limit_over_http_with_slow_calls(sandbox, xero_http: Api):
    limiter, clock = sandbox.sandbox.state.limiter, sandbox.sandbox.state.clock
    sandbox.sandbox.faults.set([FaultRule(kind="slow", delay=1.5, path="/api.xro/2.0/Organisation", times=5)])
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda: statuses.append(xero_http.get("Organisation").status)) for _ in range(5)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while (
        limiter.describe(clock.now())["tenants"].get(NZ_TENANT, {}).get("in_flight", 0) < 5
        and time.monotonic() < deadline
    ):
        time.sleep(0.005)

    refused = [xero_http.get("Organisation") for _ in range(2)]  # while five calls are in progress
    for thread in threads:
        thread.join(timeout=5)

    assert [a.status for a in refused] == [429, 429]
    assert [a.headers["x-rate-limit-problem"] for a in refused] == ["concurrent", "concurrent"]
    assert statuses == [200] * 5
    assert xero_http.get("Organisation").status == 200


def test_the_clock_speed_is_visible_to_clients_and_scales_the_wait(sandbox_app, xero: Api, monkeypatch):
    real = [1000.0]
    monkeypatch.setattr(clock_module, "time", SimpleNamespace(monotonic=lambda: real[0]))
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
