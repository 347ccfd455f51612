"""The alert emails' content, escaping and links; the SES mailer's retries; the sweep's clock."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from shared.adapters.mailer import Mailer, OutgoingEmail
from shared.config import SettingsError, load_settings
from shared.domain.sweep import sweep_time
from shared.emails import messages, render
from shared.emails.messages import EmailContext
from shared.emails.xero_messages import explain
from shared.errors import AlertDeliveryFailed, AlertRejected
from tests.unit.test_config import REQUIRED

DOCS = Path(__file__).resolve().parents[2] / "docs" / "emails"
CTX = EmailContext(
    brand="Acme & Co",
    settings_url="https://app.example.com/settings/xero",
    invoice_url="https://app.example.com/invoices/{invoice_id}/edit",
)
HOSTILE = '<script>alert("x")</script>'


def sync_failed(ctx: EmailContext = CTX, **overrides: Any) -> OutgoingEmail:
    values: dict[str, Any] = {
        "invoice_id": "inv 1/2",
        "invoice_number": "INV-0042",
        "code": "xero_validation",
        "message": "Xero rejected the invoice.",
        "fix": "Correct it, then retry.",
        "xero_messages": (),
    } | overrides
    return messages.sync_failed(ctx, **values)


def test_inactivity_warning_gives_the_date_what_counts_as_activity_and_the_reconnect_link():
    email = messages.inactivity_warning(
        CTX, organisation="Harbour Cafe", last_active=date(2026, 1, 7), disconnect_on=date(2026, 3, 8)
    )

    assert email.subject == "Acme & Co will disconnect from Xero on Sunday 8 March 2026"
    for part in (email.text, email.html):
        assert "Sunday 8 March 2026" in part
        assert "Wednesday 7 January 2026" in part
        assert "Harbour Cafe" in part
    assert "Acme &amp; Co" in email.html
    assert 'href="https://app.example.com/settings/xero"' in email.html
    assert "Reconnect to Xero: https://app.example.com/settings/xero" in email.text
    assert "change your Xero settings in Acme & Co" in email.text


def test_disconnected_says_whether_xero_confirmed_the_revocation():
    revoked = messages.disconnected(CTX, organisation=None, last_active=date(2026, 1, 7), revoked_at_xero=True)
    not_revoked = messages.disconnected(CTX, organisation=None, last_active=None, revoked_at_xero=False)

    assert "access has been removed at Xero" in revoked.text
    assert "could not be reached" not in revoked.text
    assert "Xero could not be reached to remove Acme & Co's access there" in not_revoked.text
    assert "Settings > Connected apps" in not_revoked.text
    assert "for 60 days" in not_revoked.text
    assert "your Xero organisation" in not_revoked.text


def test_sync_failed_escapes_user_data_in_html_and_explains_known_xero_messages():
    email = sync_failed(
        invoice_number=HOSTILE,
        xero_messages=(
            "The TaxType code 'OUTPUT3' does not exist or cannot be used for this type of transaction.",
            f"Something new {HOSTILE}",
        ),
    )

    assert "<script>" not in email.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in email.html
    assert "tax rate OUTPUT3" in email.text
    assert "map this tax to an active Xero sales tax rate" in email.text
    assert f"- Something new {HOSTILE}" in email.text, "unknown messages are shown as Xero wrote them"
    assert 'href="https://app.example.com/invoices/inv%201%2F2/edit"' in email.html
    assert "Error code: xero_validation" in email.text


def test_sync_failed_without_an_invoice_page_says_where_to_retry():
    email = sync_failed(EmailContext(brand="Acme"), invoice_number=None)

    assert email.subject == "An invoice was not sent to Xero"
    assert "retry it from the invoice's page in Acme" in email.text
    assert "<a " not in email.html


def test_a_failed_payment_says_it_is_a_payment_with_its_amount_and_its_invoices_number():
    email = sync_failed(
        subject_kind="payment",
        invoice_id="inv 1/2",
        invoice_number="INV-0042",
        payment_id="pay-9",
        amount=Decimal("1250.5"),
        currency="NZD",
        code="no_payment_account",
    )

    assert email.subject == "A payment of NZD 1,250.50 on invoice INV-0042 was not sent to Xero"
    for part in (email.text, email.html):
        assert "An invoice" not in part
        assert "(no number yet)" not in part
        assert "pay-9" in part
        assert "only this payment is waiting" in part
    assert "Payment: NZD 1,250.50" in email.text
    assert "Invoice: INV-0042" in email.text
    assert 'href="https://app.example.com/invoices/inv%201%2F2/edit"' in email.html, "retried from its invoice"


def test_a_failed_payment_whose_invoice_number_is_not_known_still_says_payment():
    email = sync_failed(subject_kind="payment", invoice_number=None, payment_id="pay-9", amount=Decimal(5))

    assert email.subject == "A payment of 5.00 was not sent to Xero"
    assert "Invoice: (number not known)" in email.text


def test_a_failed_contact_is_named_and_escaped_and_links_no_invoice():
    email = sync_failed(subject_kind="contact", invoice_id="", contact_id="c-1", contact_name=HOSTILE)

    assert email.subject == f"Contact {HOSTILE} was not sent to Xero"  # a subject is plain text
    assert "<script>" not in email.html
    assert "Reference: c-1" in email.text
    assert "Invoice" not in email.text
    assert "/invoices/" not in email.html
    assert "save the contact again in Acme & Co" in email.text


def test_an_invoice_failure_reads_as_it_always_did_when_no_kind_is_given():
    from shared.domain.alerts import SyncFailure

    failure = SyncFailure(invoice_id="inv-1", invoice_number=None, code="x", message="m.", fix="f.")

    assert (failure.subject_kind, failure.subject_key) == ("invoice", "inv-1")
    assert sync_failed(invoice_number=None).subject == "An invoice was not sent to Xero"


def test_reconnect_needed_without_a_settings_page_names_the_place_and_links_nothing():
    email = messages.reconnect_needed(EmailContext(brand="Acme"), organisation="Harbour Cafe", reason="It expired.")

    assert email.subject == "Reconnect Xero to keep Acme syncing"
    assert "Open the Xero settings in Acme" in email.text
    assert "It expired." in email.text
    assert "<a " not in email.html


def test_only_http_links_are_ever_rendered():
    email = messages.reconnect_needed(
        EmailContext(brand="Acme", settings_url="javascript:alert(1)"), organisation=None, reason=""
    )

    assert "javascript:" not in email.html
    assert "javascript:" not in email.text


def test_subjects_are_one_line():
    email = sync_failed(invoice_number="INV-1\r\nBcc: victim@example.com")

    assert "\n" not in email.subject
    assert "\r" not in email.subject


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Account code '999' is not a valid code for this document.", "The Xero account 999"),
        ("Invoice # must be unique.", "already has an invoice with this number"),
        ("Item code 'XMAS-HAMPER-2025' is not valid.", "the item XMAS-HAMPER-2025 on this invoice"),
        (
            "The contact name Globex is already assigned to another contact. The contact name must be unique "
            "across all active contacts.",
            "another active contact named Globex",
        ),
        ("The document date cannot be before the end of year lock date, 31 Mar 2025", "end of year lock date"),
        ("Organisation is not subscribed to currency USD", "currency USD turned on"),
        ("Payment amount exceeds the amount outstanding on this document", "larger than what is still owed"),
        ("Email address must be valid.", "email address"),
    ],
)
def test_known_xero_messages_in_plain_words(message, expected):
    explained = explain(message, brand="Acme")

    assert explained.known
    assert explained.plain is not None
    assert expected in explained.plain
    assert explained.fix
    assert "{" not in explained.plain + explained.fix


def test_unknown_xero_messages_are_kept_as_is():
    explained = explain("A validation exception occurred", brand="Acme")

    assert not explained.known
    assert explained.original == "A validation exception occurred"


def test_the_committed_example_emails_are_what_the_templates_render(tmp_path):
    written = render.write(tmp_path)

    names = sorted(p.name for p in written if p.suffix == ".html")
    assert names == [
        "disconnected.html",
        "inactivity_warning.html",
        "reconciliation_digest.html",
        "reconnect_needed.html",
        "sync_failed.html",
        "sync_failed_contact.html",
        "sync_failed_credit_note.html",
        "sync_failed_payment.html",
    ]
    for path in written:
        committed = DOCS / path.name
        assert committed.exists(), f"run: python -m shared.emails.render docs/emails ({path.name} missing)"
        assert committed.read_text() == path.read_text(), f"{path.name} is stale: python -m shared.emails.render"


def test_render_command_writes_into_the_given_directory(tmp_path, capsys):
    assert render.main(["render", str(tmp_path / "out")]) == 0

    assert (tmp_path / "out" / "sync_failed.html").exists()
    assert "sync_failed.html" in capsys.readouterr().out


# --- the mailer -----------------------------------------------------------------------------


class FakeSes:
    """SES's SendEmail as botocore surfaces it: an answer, or the next scripted error."""

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        self.calls: list[dict[str, Any]] = []

    def send_email(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.errors:
            raise self.errors.pop(0)
        return {"MessageId": f"m-{len(self.calls)}"}


def ses_error(code: str, status: int) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "SendEmail")


EMAIL = OutgoingEmail(subject="s", html="<p>h</p>", text="t")


def test_mailer_sends_html_and_text_from_the_brand():
    ses = FakeSes([])

    message_id = Mailer(ses, "alerts@example.com", sender_name="Acme, Inc").send(["a@example.com"], EMAIL)  # type: ignore[arg-type]

    assert message_id == "m-1"
    call = ses.calls[0]
    assert call["FromEmailAddress"] == '"Acme, Inc" <alerts@example.com>'
    assert call["Destination"] == {"ToAddresses": ["a@example.com"]}
    body = call["Content"]["Simple"]["Body"]
    assert (body["Text"]["Data"], body["Html"]["Data"]) == ("t", "<p>h</p>")


def test_mailer_retries_throttling_5xx_and_network_errors_with_backoff():
    waits: list[float] = []
    ses = FakeSes(
        [
            ses_error("TooManyRequestsException", 429),
            ses_error("InternalFailure", 500),
            EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com"),
        ]
    )

    assert Mailer(ses, "a@example.com", sleep=waits.append).send(["b@example.com"], EMAIL) == "m-4"  # type: ignore[arg-type]

    assert waits == [0.25, 0.5, 1.0]


def test_mailer_gives_up_with_a_retryable_error():
    ses = FakeSes([ses_error("Throttling", 400) for _ in range(3)])

    with pytest.raises(AlertDeliveryFailed, match="after 3 tries: Throttling") as raised:
        Mailer(ses, "a@example.com", attempts=3, sleep=lambda _: None).send(["b@example.com"], EMAIL)  # type: ignore[arg-type]

    assert raised.value.retryable
    assert len(ses.calls) == 3


def test_mailer_does_not_retry_a_refusal():
    ses = FakeSes([ses_error("MessageRejected", 400)])

    with pytest.raises(AlertRejected, match="MessageRejected") as raised:
        Mailer(ses, "a@example.com", sleep=lambda _: None).send(["b@example.com"], EMAIL)  # type: ignore[arg-type]

    assert not raised.value.retryable
    assert len(ses.calls) == 1


def test_mailer_needs_a_recipient():
    with pytest.raises(ValueError, match="recipient"):
        Mailer(FakeSes([]), "a@example.com").send([], EMAIL)  # type: ignore[arg-type]


# --- settings and the sweep's clock ---------------------------------------------------------


def test_invoice_url_must_say_where_the_invoice_id_goes():
    with pytest.raises(SettingsError, match="PLATFORM_INVOICE_URL"):
        load_settings(REQUIRED | {"PLATFORM_INVOICE_URL": "https://app.example.com/invoices"})

    settings = load_settings(REQUIRED | {"PLATFORM_INVOICE_URL": "https://app.example.com/i/{invoice_id}"})
    assert settings.platform_invoice_url == "https://app.example.com/i/{invoice_id}"
    assert settings.sweep_clock_override is False


def test_sweep_time_is_the_schedules_unless_an_override_is_allowed():
    event = {"time": "2026-03-01T03:15:00Z", "detail": {"now": "2026-05-01T06:00:00"}}
    fallback = datetime(2030, 1, 1, tzinfo=UTC)

    assert sweep_time(event, allow_override=False) == datetime(2026, 3, 1, 3, 15, tzinfo=UTC)
    assert sweep_time(event, allow_override=True) == datetime(2026, 5, 1, 6, 0, tzinfo=UTC)
    assert sweep_time({"detail": {}}, allow_override=True, clock=lambda: fallback) == fallback


def test_the_reconciliation_digest_lists_each_difference_with_what_to_do():
    email = render.examples()["reconciliation_digest"]

    assert email.subject == "Xero check: 3 invoices differ from Acme Invoicing"
    assert "compared 1,284 invoices" in email.text
    assert "Found: Voided in Xero" in email.text
    assert "Total: recorded NZD 194.93, Xero NZD 224.25" in email.text
    assert "What to do: Xero shows other payments on invoice INV-0061" in email.text
    assert "Nothing has been changed in Xero by this check" in email.text


def test_no_digest_is_queued_when_nothing_differs_or_for_a_check_the_owner_asked_for():
    from shared.domain.queued_alerts import QueuedAlerts
    from shared.models.reconcile import Difference, ReconcileRun

    class Queue:
        def __init__(self) -> None:
            self.sent: list[Any] = []

        def publish(self, requests):
            self.sent += list(requests)
            return len(requests)

    queue = Queue()
    alerts = QueuedAlerts(queue)  # type: ignore[arg-type]
    weekly = ReconcileRun(run_id="full-2026-12-06", kind="full", started_at="2026-12-06T04:45:00+00:00")
    owners = weekly.model_copy(update={"requested_by": "owner"})
    open_ = Difference(
        invoice_id="inv-1",
        number="INV-1",
        kind="voided_in_xero",
        what_to_do="…",
        xero_fingerprint="f",
        found_at="2026-12-06T04:46:00+00:00",
        run_id="full-2026-12-06",
    )
    accepted = open_.model_copy(update={"state": "accepted"})

    assert alerts.reconciliation_digest("acct-1", weekly, []) is False
    assert alerts.reconciliation_digest("acct-1", weekly, [accepted]) is False
    assert alerts.reconciliation_digest("acct-1", owners, [open_]) is False
    assert queue.sent == []
    assert alerts.reconciliation_digest("acct-1", weekly, [open_, accepted]) is True
    assert [r.kind for r in queue.sent] == ["reconciliation_digest"]
    assert queue.sent[0].total == 1
