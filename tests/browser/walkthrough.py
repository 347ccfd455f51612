"""The settings page as a user clicks through it, against the local stack: one script for the browser
test and for the screenshots in ``docs/settings/`` (``make screenshots``).

Connect (the sandbox consents automatically), choose the organisation, the payment account and the
sales account, map a tax rate, a product and a location; the platform publishes an invoice whose tax
is not mapped, so it fails; the user sees the failure with its fix, maps the tax, presses Retry, sees
it synced; checks Xero against what was sent (Check now); disconnects after confirming. ``shoot(name)``
is called at each step the README shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from local.stack import LocalStack
from tests.browser.driver import DESKTOP, PHONE

ACCOUNT_ID = "acct-demo"
MESSAGES = Path(__file__).resolve().parents[2] / "events" / "messages"
Shoot = Callable[[str], None]


class Walkthrough:
    def __init__(self, stack: LocalStack, driver: WebDriver, shoot: Shoot | None = None) -> None:
        self.stack = stack
        self.driver = driver
        self._shoot = shoot or (lambda name: None)

    # --- what a user does ------------------------------------------------------------------------

    def run(self) -> None:
        self.open_settings()
        self.connect()
        self.choose_organisation("Demo Company (NZ)")
        self.choose_payment_account("090 · Business Bank Account (bank account)")
        self.choose_sales_account("200 · Sales")
        self.map_tax("gst-15", "15% GST on Income (15%)")
        self.shoot("05-tax-mapped")
        self.map_product("prod-sourdough", "SOURDOUGH-LOAF · Sourdough loaf")
        self.shoot("11-product-mapped")
        self.map_tracking("location", "Auckland", "Region: North")
        self.shoot("12-tracking-mapped")
        self.publish("02-invoice-draft.json", "09-invoice-unmapped-tax.json")
        self.see_failure("INV-5004", "Map 'vat-20' to a Xero tax rate")
        self.map_tax("vat-20", "15% GST on Income (15%)")
        self.retry("INV-5004")
        self.check_xero()
        self.disconnect()

    def open_settings(self) -> None:
        self.driver.get(self.stack.settings_link(ACCOUNT_ID))
        assert self.driver.current_url.endswith("/xero/settings"), "the signed link leaves the address bar"
        self.expect_text("#connection", "Not connected")
        self.shoot("01-not-connected")

    def connect(self) -> None:
        self.click_button("Connect to Xero")
        # Back from Xero's consent (automatic in the sandbox) on the callback page.
        self.wait(lambda d: "Xero connected" in d.find_element(By.TAG_NAME, "h1").text)
        self.shoot("02-connected")
        self.driver.find_element(By.LINK_TEXT, "Back to the Xero settings").click()
        self.expect_text("#connection", "Connected")

    def choose_organisation(self, name: str) -> None:
        self.shoot("03-choose-organisation")
        self.driver.find_element(By.XPATH, f"//label[normalize-space()={_quote(name)}]").click()
        self.click_button("Use this organisation")
        self.expect_notice("Organisation chosen.")

    def choose_payment_account(self, label: str) -> None:
        Select(self.driver.find_element(By.ID, "payment-account-id")).select_by_visible_text(label)
        self.shoot("04-payment-account")
        self.click_button("Save payment account")
        self.expect_notice("Payment account saved.")

    def choose_sales_account(self, label: str) -> None:
        Select(self.driver.find_element(By.ID, "sales-account-code")).select_by_visible_text(label)
        self.click_button("Save sales account")
        self.expect_notice("Sales account saved.")

    def map_tax(self, platform_tax_id: str, rate: str) -> None:
        field = self.driver.find_element(By.ID, "platform-tax-id")
        field.clear()
        field.send_keys(platform_tax_id)
        Select(self.driver.find_element(By.ID, "tax-type")).select_by_visible_text(rate)
        self.click_button("Save mapping")
        self.expect_notice("Tax mapping saved.")
        self.expect_text("#tax table", platform_tax_id)

    def map_product(self, product_id: str, item: str) -> None:
        self.driver.find_element(By.ID, "product-id").send_keys(product_id)
        Select(self.driver.find_element(By.ID, "product-item")).select_by_visible_text(item)
        self.click_button("Save product mapping")
        self.expect_notice("Product mapping saved.")
        self.expect_text("#products table", product_id)
        self.scroll_to(self.driver.find_element(By.ID, "products"))

    def map_tracking(self, dimension: str, value: str, option: str) -> None:
        self.driver.find_element(By.ID, "tracking-dimension").send_keys(dimension)
        self.driver.find_element(By.ID, "tracking-value").send_keys(value)
        Select(self.driver.find_element(By.ID, "tracking-option")).select_by_visible_text(option)
        self.click_button("Save tracking mapping")
        self.expect_notice("Tracking mapping saved.")
        self.expect_text("#tracking table", option)
        self.scroll_to(self.driver.find_element(By.ID, "tracking"))

    def publish(self, *files: str) -> None:
        """What the platform does meanwhile: invoices on the queue, pushed to Xero."""
        for name in files:
            self.stack.publish((MESSAGES / name).read_text())
        assert self.stack.wait_until_drained(30).drained

    def see_failure(self, number: str, fix: str) -> None:
        self.driver.refresh()
        self.expect_text("#activity", f"Invoice {number}")
        failure = self.driver.find_element(By.CSS_SELECTOR, "#activity li.failure")
        assert fix in failure.text, failure.text
        self.scroll_to(failure)
        self.shoot("06-failure-with-fix")
        self.at_phone_width("10-phone-failure", failure)

    def retry(self, number: str) -> None:
        self.click_button(f"Retry Invoice {number}")
        self.expect_notice("The invoice was sent to the queue again.")
        # The page's script refreshes sync activity until the invoice has synced.
        self.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, "#activity li.failure"), timeout=30)
        self.expect_text("#activity", f"{number} Synced")
        self.scroll_to(self.driver.find_element(By.ID, "activity"))
        self.shoot("07-retried-and-synced")

    def check_xero(self) -> None:
        """Check now: the reconciliation runs on the stack's queue; the page shows what it found."""
        self.click_button("Check now")
        self.expect_notice("The check is queued.")

        def checked(driver: WebDriver) -> bool:
            driver.refresh()
            return "Xero matches what was sent." in driver.find_element(By.ID, "reconciliation").text

        self.wait(checked, timeout=30)
        self.expect_text("#reconciliation", "2 invoice(s) compared, 1 Xero call(s)")
        self.scroll_to(self.driver.find_element(By.ID, "reconciliation"))
        self.shoot("13-xero-check")

    def disconnect(self) -> None:
        self.driver.find_element(By.LINK_TEXT, "Disconnect…").click()
        self.expect_text("#disconnect", "Disconnect Demo Company (NZ) from Xero?")
        self.scroll_to(self.driver.find_element(By.ID, "disconnect"))
        self.shoot("08-confirm-disconnect")
        self.click_button("Yes, disconnect")
        self.expect_notice("Xero is disconnected.")
        self.expect_text("#connection", "Disconnected")
        self.shoot("09-disconnected")

    # --- helpers ---------------------------------------------------------------------------------

    def shoot(self, name: str) -> None:
        self._shoot(name)

    def at_phone_width(self, name: str, element: WebElement | None = None) -> None:
        self.driver.set_window_size(*PHONE)
        try:
            if element is not None:
                self.scroll_to(element)
            self.shoot(name)
        finally:
            self.driver.set_window_size(*DESKTOP)

    def scroll_to(self, element: WebElement) -> None:
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", element)

    def click_button(self, label: str) -> None:
        """A button by its visible text or its accessible name (aria-label), as a screen reader finds it."""
        button = self.driver.find_element(
            By.XPATH, f"//button[normalize-space()={_quote(label)} or @aria-label={_quote(label)}]"
        )
        self.scroll_to(button)
        button.click()

    def expect_notice(self, text: str) -> None:
        self.wait(lambda d: any(text in n.text for n in d.find_elements(By.CSS_SELECTOR, "[role=status]")))

    def expect_text(self, selector: str, text: str, timeout: float = 10) -> None:
        def found(driver: WebDriver) -> bool:
            return any(text in " ".join(el.text.split()) for el in driver.find_elements(By.CSS_SELECTOR, selector))

        self.wait(found, timeout=timeout)

    def wait(self, condition: Callable[[WebDriver], Any], timeout: float = 10) -> Any:
        started = time.monotonic()
        try:
            # A notice re-rendered between finding it and reading its text is stale, not absent: look again.
            return WebDriverWait(
                self.driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
            ).until(condition)
        except Exception as exc:
            body = self.driver.find_element(By.TAG_NAME, "body").text[:3000]
            raise AssertionError(f"waited {time.monotonic() - started:.1f} s; the page says:\n{body}") from exc


def _quote(text: str) -> str:
    """An XPath string literal for any text."""
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    parts = text.split("'")
    return "concat('" + "', \"'\", '".join(parts) + "')"
