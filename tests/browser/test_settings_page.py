"""The settings page in headless Chromium against the local stack: the whole flow a user clicks through,
and hostile values that must stay text under the page's CSP."""

from __future__ import annotations

import dataclasses

from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

from local.xero_sandbox.seed import NZ_TENANT, nz_organisation
from tests.browser.walkthrough import ACCOUNT_ID, Walkthrough

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
HOSTILE_TENANT = "7c3e5a1f-0d2b-4c6e-9f81-3a5b7d9e1f04"


def csp_problems(browser) -> list[str]:
    return [entry["message"] for entry in browser.get_log("browser") if "Content Security Policy" in entry["message"]]


def test_a_user_connects_configures_fixes_a_failure_retries_and_disconnects(local_stack, browser):
    walk = Walkthrough(local_stack, browser)

    walk.run()

    events = {(e.detail_type, e.detail["account_id"]) for e in local_stack.status_events()}
    assert ("connection.disconnected", ACCOUNT_ID) in events
    assert local_stack.client().request("GET", f"/v1/accounts/{ACCOUNT_ID}/connection").json()["status"] == (
        "disconnected"
    )
    assert csp_problems(browser) == [], "the page keeps to its own Content-Security-Policy"


def test_a_hostile_organisation_name_is_shown_as_text_and_runs_nothing(local_stack, sandbox, browser):
    sandbox.sandbox.state.organisations[HOSTILE_TENANT] = dataclasses.replace(
        nz_organisation(), tenant_id=HOSTILE_TENANT, name=HOSTILE
    )
    sandbox.sandbox.state.consent.tenant_ids = [HOSTILE_TENANT, NZ_TENANT]
    walk = Walkthrough(local_stack, browser)
    walk.open_settings()
    walk.connect()

    label = browser.find_element(By.CSS_SELECTOR, "#organisation label[for='org-0']")
    assert label.text == HOSTILE
    assert not browser.find_elements(By.CSS_SELECTOR, "#organisation img, #organisation script")
    try:
        browser.switch_to.alert.dismiss()
        raise AssertionError("a script in the organisation's name ran")
    except NoAlertPresentException:
        pass
