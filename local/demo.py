"""``make demo``: the whole integration on this machine, narrated step by step, then everything stops.

It starts the local stack (moto + the Xero sandbox + the HTTP API + the SQS poller), connects a
platform account through the real consent flow, configures it through the SigV4-signed management
API, publishes the sample events from ``events/messages/``, and shows what landed in the sandbox's
Xero organisation, the dead-letter queue, the emails sent and what the inactivity sweep does.
Parts of the service that are not built yet are reported as ``skipped: <why>``, never faked.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any, TextIO

import httpx

from local.stack import LocalStack, handler_logs
from local.xero_sandbox import SandboxServer
from local.xero_sandbox.seed import NZ_TENANT

ACCOUNT_ID = "acct-demo"
ROOT = Path(__file__).resolve().parent.parent
MESSAGES = ROOT / "events" / "messages"
LOG_FILE = ROOT / ".local-stack" / "demo.log"
ALERT_RECIPIENT = "accounts@acct-demo.example"
# The platform's tax ids the sample events use, and the Xero tax types they map to by preference.
TAX_PREFERENCES = {"gst-15": ("OUTPUT2", 15.0), "zero": ("ZERORATED", 0.0)}
SALES_ACCOUNT_CODE = "200"
# The sample events' products and location (events/messages/10-invoice-products.json): one product to a Xero
# item, one to an account; the location to Xero's Region category. The gift card stays unmapped.
PRODUCT_MAPPINGS = [
    {"platform_product_id": "prod-sourdough", "item_code": "SOURDOUGH-LOAF"},
    {"platform_product_id": "prod-delivery", "account_code": "260"},
]
TRACKING_DIMENSION = "location"
TRACKING_MAPPING = {"category": "Region", "options": {"Auckland": "North", "Christchurch": "South"}}


class Skip(Exception):
    """A step that cannot run because a part of the service is not built yet."""


class Failed(Exception):
    """A built part answered something a user would call a failure."""


class Narrator:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.number = 0
        self.skipped: list[str] = []
        self.failed: list[str] = []

    def write(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def step(self, title: str) -> None:
        self.number += 1
        self.write(f"\n{self.number}. {title}")

    def say(self, text: str) -> None:
        self.write(f"   {text}")

    def skip(self, reason: str) -> None:
        self.skipped.append(reason)
        self.say(f"skipped: {reason}")

    def fail(self, reason: str) -> None:
        self.failed.append(reason)
        self.say(f"FAILED: {reason}")


class Demo:
    def __init__(self, stack: LocalStack, narrator: Narrator, messages_dir: Path, drain_timeout: float) -> None:
        self.stack = stack
        self.n = narrator
        self.messages_dir = messages_dir
        self.drain_timeout = drain_timeout
        self.api = stack.client()
        self.management_missing: str | None = None
        self.tenant_id: str | None = None

    # --- the management API, with "not built yet" told apart from real failures -----------------

    def call(self, method: str, path: str, body: Any = None) -> Any:
        if self.management_missing:
            raise Skip(self.management_missing)
        answer = self.api.request(method, f"/v1/accounts/{ACCOUNT_ID}{path}", json_body=body)
        if answer.status_code == 501:
            self.management_missing = f"the management API is not built yet ({method} /v1/... answered 501)"
            raise Skip(self.management_missing)
        if answer.status_code == 404 and _error_code(answer) in ("", "not_found", "NotFound"):
            raise Skip(f"{method} /v1/accounts/{{id}}{path} is not built yet (404)")
        if answer.status_code >= 400:
            raise Failed(f"{method} {path} answered {answer.status_code}: {_error_text(answer)}")
        return answer.json() if answer.content else None

    def run(self) -> None:
        for step in (
            self.connect,
            self.connection_status,
            self.choose_organisation,
            self.choose_payment_account,
            self.map_tax_rates,
            self.settings,
            self.map_products_and_tracking,
            self.settings_page,
            self.publish_events,
            self.show_xero,
            self.show_dead_letters,
            self.show_emails,
            self.reconcile,
            self.sweep,
        ):
            try:
                step()
            except Skip as skip:
                self.n.skip(str(skip))
            except Failed as failure:
                self.n.fail(str(failure))

    # --- the steps -------------------------------------------------------------------------------

    def connect(self) -> None:
        self.n.step(f"Connect platform account {ACCOUNT_ID} to Xero (the sandbox consents automatically)")
        link = self.stack.connect_link(ACCOUNT_ID)
        self.n.say(f"signed connect link: {link.split('signature=')[0]}signature=…")
        with httpx.Client(timeout=30) as browser:
            start = browser.get(link)
            if start.status_code != 302:
                raise Failed(f"GET /xero/connect answered {start.status_code}")
            self.n.say(f"GET /xero/connect → {start.status_code}, to Xero's authorize page")
            consent = browser.get(start.headers["location"])
            if consent.status_code != 302:
                raise Failed(f"Xero's authorize page answered {consent.status_code}")
            self.n.say(f"Xero consent → {consent.status_code}, back to /xero/callback")
            page = browser.get(consent.headers["location"])
        title, paragraphs = _page_text(page.text)
        self.n.say(f"callback page ({page.status_code}): {title}")
        for paragraph in paragraphs:
            self.n.say(f"  {paragraph}")
        if page.status_code != 200 or title != "Xero connected":
            raise Failed(f"the callback page says {title!r}")

    def connection_status(self) -> None:
        self.n.step("Connection status (management API, SigV4-signed)")
        body = self.call("GET", "/connection")
        status = _field(body, "status")
        self.n.say(f"status: {status}; connected as {_field(body, 'connected_email') or '?'}")
        for org in _items(body, "organisations", "tenants"):
            self.n.say(f"  granted: {_field(org, 'name', 'tenant_name')} ({_field(org, 'tenant_id')})")

    def choose_organisation(self) -> None:
        self.n.step("Choose the organisation to sync")
        orgs = _items(self.call("GET", "/organisations"), "organisations", "tenants")
        for org in orgs:
            self.n.say(f"{_field(org, 'name', 'tenant_name')} ({_field(org, 'tenant_id')})")
        if not orgs:
            raise Failed("no organisation was granted")
        chosen = next((o for o in orgs if _field(o, "tenant_id") == NZ_TENANT), orgs[0])
        self.tenant_id = str(_field(chosen, "tenant_id"))
        self.call("PUT", "/organisation", {"tenant_id": self.tenant_id})
        self.n.say(f"chosen: {_field(chosen, 'name', 'tenant_name')}")

    def choose_payment_account(self) -> None:
        self.n.step("Choose the account payments are recorded against")
        body = self.call("GET", "/payment-accounts")
        accounts = _items(body, "accounts", "payment_accounts")
        for account in accounts:
            kind = _field(account, "type") or "payments enabled"
            self.n.say(f"{_field(account, 'code')}  {_field(account, 'name')}  ({kind})")
        if not accounts:
            help_text = _field(body, "help")
            raise Failed(f"no payment-enabled account: {help_text}")
        chosen = next((a for a in accounts if _field(a, "type") == "BANK"), accounts[0])
        self.call("PUT", "/payment-account", {"account_id": _field(chosen, "xero_account_id", "account_id")})
        self.n.say(f"chosen: {_field(chosen, 'code')} {_field(chosen, 'name')}")

    def map_tax_rates(self) -> None:
        self.n.step("Map the platform's tax ids to Xero tax rates")
        rates = _items(self.call("GET", "/tax-rates"), "tax_rates")
        for rate in rates:
            self.n.say(f"{_field(rate, 'tax_type'):<14} {_field(rate, 'name')} ({_rate(rate):g}%)")
        mappings = []
        for platform_id, (preferred, percent) in TAX_PREFERENCES.items():
            choice = next((r for r in rates if _field(r, "tax_type") == preferred), None) or next(
                (r for r in rates if _rate(r) == percent), None
            )
            if choice is None:
                raise Failed(f"no revenue tax rate of {percent}% to map {platform_id!r} to")
            mappings.append({"platform_tax_id": platform_id, "tax_type": _field(choice, "tax_type")})
        default = mappings[0]["tax_type"]
        self.call("PUT", "/tax-mappings", {"mappings": mappings, "default_tax_type": default})
        for mapping in mappings:
            self.n.say(f"mapped {mapping['platform_tax_id']!r} → {mapping['tax_type']}")
        self.n.say(f"default tax type: {default}")

    def settings(self) -> None:
        self.n.step("Sales account and alert recipients")
        body = {"sales_account_code": SALES_ACCOUNT_CODE, "alert_recipients": [ALERT_RECIPIENT]}
        self.call("PATCH", "/settings", body)
        self.n.say(f"sales account {SALES_ACCOUNT_CODE}; alerts to {ALERT_RECIPIENT}")

    def map_products_and_tracking(self) -> None:
        self.n.step("Map two products and a tracking category")
        items = _items(self.call("GET", "/items"), "items")
        self.n.say(f"Xero items sold: {', '.join(str(_field(i, 'code')) for i in items)}")
        for mapping in self.call("PUT", "/product-mappings", {"mappings": PRODUCT_MAPPINGS})["mappings"]:
            item = f"item {mapping['item_code']}" if mapping.get("item_code") else "no item"
            account = f"account {mapping['account_code']}" if mapping.get("account_code") else "the item's account"
            self.n.say(f"mapped product {mapping['platform_product_id']!r} → {item}, {account}")
        categories = _items(self.call("GET", "/tracking-categories"), "tracking_categories")
        for category in categories:
            options = ", ".join(str(_field(o, "name")) for o in _items(category, "options"))
            self.n.say(f"Xero tracking category {_field(category, 'name')}: {options}")
        mapped = self.call("PUT", f"/tracking-mappings/{TRACKING_DIMENSION}", TRACKING_MAPPING)
        for option in mapped["options"]:
            self.n.say(
                f"mapped {TRACKING_DIMENSION} {option['value']!r} → {mapped['category_name']}: {option['option_name']}"
            )

    def settings_page(self) -> None:
        self.n.step("The drop-in settings page, as the platform links to it")
        link = self.stack.settings_link(ACCOUNT_ID)
        self.n.say(f"signed settings link: {link.split('signature=')[0]}signature=…")
        self.n.say("(make local serves it; type 'settings' there for a fresh link)")
        with httpx.Client(timeout=30) as browser:
            opened = browser.get(link)
            if opened.status_code != 303:
                raise Failed(f"GET /xero/settings/open answered {opened.status_code}")
            page = browser.get(f"{self.stack.api_url}{opened.headers['location']}")
        if page.status_code != 200:
            raise Failed(f"GET /xero/settings answered {page.status_code}")
        sections = re.findall(r'<h2 id="[a-z-]+-title">(.*?)</h2>', page.text)
        status = re.search(r'<span class="badge [a-z]+">(.*?)</span>', page.text)
        self.n.say(
            f"page (200): status {unescape(status.group(1)) if status else '?'}; sections: {', '.join(sections)}"
        )

    def publish_events(self) -> None:
        self.n.step("Publish the sample events to the invoice queue")
        files = sorted(self.messages_dir.glob("*.json")) if self.messages_dir.is_dir() else []
        if not files:
            raise Skip(f"no sample messages in {_relative(self.messages_dir)}/ yet")
        for path in files:
            self.stack.publish(path.read_text().strip())
            self.n.say(f"published {path.name}")
        started = time.monotonic()
        depth = self.stack.wait_until_drained(self.drain_timeout)
        outcomes = list(self.stack.runner.outcomes)
        failed = sum(len(o.failed_ids) for o in outcomes) + sum(len(o.message_ids) for o in outcomes if o.error)
        self.n.say(
            f"push handler invoked {len(outcomes)} time(s): {sum(o.deleted for o in outcomes)} message(s) done,"
            f" {failed} returned to the queue"
        )
        if depth.drained:
            self.n.say(f"queue drained in {time.monotonic() - started:.1f} s")
        else:
            self.n.fail(
                f"queue not drained after {self.drain_timeout:g} s: {depth.visible} visible, {depth.in_flight} in"
                f" flight, {depth.delayed} delayed"
            )

    def show_xero(self) -> None:
        self.n.step("What landed in the sandbox's Xero organisation")
        tenant = self.tenant_id or NZ_TENANT
        answer = httpx.get(f"{self.stack.sandbox_url}/_sandbox/orgs/{tenant}", timeout=10)
        if answer.status_code == 404:
            raise Skip("the sandbox's inspection API (GET /_sandbox/orgs/{tenant_id}) is not built yet")
        if answer.status_code != 200:
            raise Failed(f"GET /_sandbox/orgs/{tenant} answered {answer.status_code}")
        org = answer.json()
        self.n.say(f"organisation: {_field(org, 'name', 'Name') or tenant}")
        contacts = _items(org.get("contacts") or org.get("Contacts"))
        invoices = _items(org.get("invoices") or org.get("Invoices"))
        payments = _items(org.get("payments") or org.get("Payments"))
        self.n.say(f"contacts ({len(contacts)}):")
        for contact in contacts:
            self.n.say(f"  {_field(contact, 'Name')}  #{_field(contact, 'ContactNumber') or '-'}")
        self.n.say(f"invoices ({len(invoices)}):")
        for invoice in invoices:
            self.n.say(
                f"  {_field(invoice, 'InvoiceNumber')}  {_field(invoice, 'Status')}  total {_field(invoice, 'Total')}"
                f"  due {_field(invoice, 'AmountDue')}"
            )
            lines = _items(invoice, "LineItems")
            if any(line.get("ItemCode") or line.get("Tracking") for line in lines):
                for line in lines:
                    self.n.say(f"    {_line_summary(line)}")
        refunds = [p for p in payments if p.get("CreditNote")]
        payments = [p for p in payments if not p.get("CreditNote")]
        self.n.say(f"payments ({len(payments)}):")
        for payment in payments:
            invoice = payment.get("Invoice") or {}
            account = payment.get("Account") or {}
            self.n.say(
                f"  {_field(payment, 'Amount')} on {_field(invoice, 'InvoiceNumber', 'InvoiceID')}"
                f" to account {_field(account, 'Code', 'AccountID')}"
            )
        self._show_credit_notes(_items(org.get("credit_notes")), refunds)

    def _show_credit_notes(self, notes: list[dict[str, Any]], refunds: list[dict[str, Any]]) -> None:
        """A partial refund end to end: the credit note, what of it went to its invoice, and the cash paid back."""
        self.n.say(f"credit notes ({len(notes)}):")
        for note in notes:
            self.n.say(
                f"  {_field(note, 'CreditNoteNumber')}  {_field(note, 'Status')}  total {_field(note, 'Total')}"
                f"  credit left {_field(note, 'RemainingCredit')}"
            )
            for allocation in _items(note, "Allocations"):
                invoice = allocation.get("Invoice") or {}
                self.n.say(f"    allocated {_field(allocation, 'Amount')} to {_field(invoice, 'InvoiceNumber')}")
        self.n.say(f"refunds ({len(refunds)}):")
        for refund in refunds:
            note = refund.get("CreditNote") or {}
            account = refund.get("Account") or {}
            self.n.say(
                f"  {_field(refund, 'Amount')} paid back from {_field(note, 'CreditNoteNumber', 'CreditNoteID')}"
                f" out of account {_field(account, 'Code', 'AccountID')}"
            )

    def show_dead_letters(self) -> None:
        self.n.step("Dead-letter queue")
        letters = self.stack.dead_letters()
        self.n.say(f"{len(letters)} message(s)")
        for letter in letters:
            attributes = letter.get("MessageAttributes", {})
            code = attributes.get("failure_code", {}).get("StringValue", "?")
            reason = attributes.get("failure_reason", {}).get("StringValue", "")
            event = _event_summary(letter["Body"])
            self.n.say(f"  {event}: {code}: {reason[:160]}")
        if not letters:
            return
        failures = _items(self.call("GET", "/sync-failures"), "failures", "items")
        self.n.say(f"sync failures listed by the management API: {len(failures)}")
        for failure in failures:
            detail = _field(failure, "failure") or failure
            self.n.say(f"  {_field(failure, 'invoice_id')}: {_field(detail, 'code')}; fix: {_field(detail, 'fix')}")

    def show_emails(self, since: int | None = None, title: str = "Emails sent") -> None:
        if since is None:
            self.n.step(title)
        mails = self.stack.sent_mail(since)
        self.n.say(f"{len(mails)} email(s)")
        for mail in mails:
            self.n.say(f"  to {', '.join(mail.to)}: {mail.subject}")
            for line in mail.first_lines(3):
                self.n.say(f"    | {line[:110]}")

    def reconcile(self) -> None:
        self.n.step("Check Xero against what was sent (reconciliation, as the owner's 'Check now')")
        queued = self.call("POST", "/reconciliation")
        self.n.say(f"queued run {_field(queued, 'run_id')} ({_field(queued, 'kind')})")
        self.stack.reconcile_runner.wait_until_drained(self.drain_timeout)
        report = self.call("GET", "/reconciliation")
        run = _field(report, "last_run") or {}
        self.n.say(
            f"last run: {_field(run, 'state')}, {_field(run, 'invoices_compared')} invoice(s) compared, "
            f"{_field(run, 'xero_calls')} Xero call(s), {_field(run, 'bytes_read')} bytes read"
        )
        differences = _items(report, "differences")
        self.n.say(f"differences: {len(differences)}")
        for found in differences:
            self.n.say(f"  {_field(found, 'number')}: {_field(found, 'kind')}; {_field(found, 'what_to_do')}")

    def sweep(self) -> None:
        self.n.step("The daily inactivity sweep, run on days far in the future")
        inactivity = int(self.stack.environment.get("INACTIVITY_DAYS", "60"))
        warning = int(self.stack.environment.get("INACTIVITY_WARNING_DAYS", "7"))
        today = datetime.now(UTC)
        for days in (inactivity - warning + 1, inactivity + 1):
            mark = self.stack.mailbox.mark()
            moment = today + timedelta(days=days)
            result = self.stack.run_sweep(moment)
            self.n.say(f"sweep on {moment.date()} (+{days} days): {json.dumps(result, default=str)}")
            self.show_emails(since=mark)
        body = self.call("GET", "/connection")
        self.n.say(f"connection status now: {_field(body, 'status')}")


def run_demo(
    out: TextIO,
    *,
    log_stream: TextIO,
    moto_endpoint: str | None = None,
    sandbox: SandboxServer | None = None,
    messages_dir: Path = MESSAGES,
    drain_timeout: float = 20,
    poll_seconds: int = 1,
) -> int:
    """The demo, narrated to ``out``; the handlers' logs go to ``log_stream``. 0 unless a step failed."""
    narrator = Narrator(out)
    started = time.monotonic()
    narrator.write("Xero invoice sync: local demo (moto for AWS, the Xero sandbox for Xero, all on loopback)")
    with (
        handler_logs(log_stream),
        contextlib.redirect_stdout(log_stream),
        LocalStack(moto_endpoint=moto_endpoint, sandbox=sandbox, poll_seconds=poll_seconds) as stack,
    ):
        narrator.write(f"   HTTP API {stack.api_url} · Xero sandbox {stack.sandbox_url} · AWS {stack.moto_endpoint}")
        Demo(stack, narrator, messages_dir, drain_timeout).run()
    narrator.write(f"\nDone in {time.monotonic() - started:.1f} s; the local stack is stopped, nothing left running.")
    if narrator.skipped:
        narrator.write(f"{len(narrator.skipped)} step(s) skipped because their part of the service is not built yet.")
    if narrator.failed:
        narrator.write(f"{len(narrator.failed)} step(s) FAILED: {'; '.join(narrator.failed)}")
        return 1
    return 0


def main() -> int:
    LOG_FILE.parent.mkdir(exist_ok=True)
    with LOG_FILE.open("w") as log:
        code = run_demo(sys.stdout, log_stream=log)
    print(f"Handler logs: {_relative(LOG_FILE)}")
    return code


# --- reading answers whose exact shape belongs to other parts -------------------------------------


def _items(body: Any, *keys: str) -> list[dict[str, Any]]:
    """The list of objects in an answer: the body itself, under one of ``keys``, or its only list."""
    if isinstance(body, dict) and not keys and all(isinstance(v, dict) for v in body.values()):
        return list(body.values())
    if isinstance(body, list):
        return [item for item in body if isinstance(item, dict)]
    if not isinstance(body, dict):
        return []
    for key in keys:
        if isinstance(body.get(key), list):
            return [item for item in body[key] if isinstance(item, dict)]
    lists = [v for v in body.values() if isinstance(v, list)]
    return [item for item in lists[0] if isinstance(item, dict)] if len(lists) == 1 else []


def _line_summary(line: dict[str, Any]) -> str:
    """A Xero invoice line as the accountant reads it: what, item, account, tracking, amount."""
    tracking = ", ".join(f"{t.get('Name')}: {t.get('Option')}" for t in line.get("Tracking") or [])
    return (
        f"{line.get('Description')}  item {line.get('ItemCode') or '-'}  account {line.get('AccountCode')}"
        f"  tracking {tracking or '-'}  {_number(line.get('Quantity')):g} x {_number(line.get('UnitAmount')):g}"
        f" = {_number(line.get('LineAmount')):.2f}"
    )


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _event_summary(body: str) -> str:
    try:
        event = json.loads(body)
        data = event.get("data") or {}
        name = data.get("number") or data.get("payment_id") or data.get("contact_id") or data.get("invoice_id")
        return f"{event.get('type')} {name}"
    except (ValueError, AttributeError):
        return "a malformed message"


def _field(item: Any, *names: str) -> Any:
    if not isinstance(item, dict):
        return None
    for name in names:
        for key in (name, _camel(name), _pascal(name)):
            if item.get(key) is not None:
                return item[key]
    return None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _rate(rate: dict[str, Any]) -> float:
    value = _field(rate, "display_tax_rate", "effective_rate", "rate")
    return float(value) if value is not None else -1.0


def _error_code(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("error", {}).get("code", ""))
    except (ValueError, AttributeError):
        return ""


def _error_text(answer: httpx.Response) -> str:
    try:
        error = answer.json().get("error", {})
        return f"{error.get('code')}: {error.get('message')}"
    except (ValueError, AttributeError):
        return answer.text[:200]


def _page_text(html: str) -> tuple[str, list[str]]:
    title = re.search(r"<h1>(.*?)</h1>", html, re.DOTALL)
    paragraphs = [unescape(re.sub(r"<[^>]+>", "", p)).strip() for p in re.findall(r"<p>(.*?)</p>", html, re.DOTALL)]
    return (unescape(title.group(1)) if title else "(no title)"), [p for p in paragraphs if p][:-1]


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
