"""Alert emails through SES (moto, server mode) with dedupe records in DynamoDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shared import wiring
from shared.errors import AlertDeliveryFailed, AlertRejected
from shared.models.connection import ConnectionStatus
from shared.models.settings import AccountSettings
from tests.support.accounts import connect, owner_email, unique
from tests.support.emails import SesOutage, sent_emails, sent_emails_over_http

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SETTINGS_URL = "https://app.example.com/settings/xero"


@pytest.fixture
def env(service_env, monkeypatch):
    monkeypatch.setenv("BRAND_NAME", "Acme <Invoicing>")
    monkeypatch.setenv("PLATFORM_SETTINGS_URL", SETTINGS_URL)
    monkeypatch.setenv("PLATFORM_INVOICE_URL", "https://app.example.com/invoices/{invoice_id}")
    wiring.reset()
    return service_env


def failure(invoice_id: str = "inv_1", code: str = "xero_validation"):
    from shared.domain.alerts import SyncFailure

    return SyncFailure(
        invoice_id=invoice_id,
        invoice_number="<b>INV-7</b>",
        code=code,
        message="Xero rejected the invoice.",
        fix="Correct it, then retry.",
        xero_messages=("Account code '999' is not a valid code for this document.", "Something <odd> happened"),
    )


def use_recipients(account_id: str, *recipients: str) -> None:
    wiring.account_settings().save(AccountSettings(account_id=account_id, alert_recipients=recipients), now=NOW)


def test_sync_failed_is_emailed_once_per_invoice_code_and_day(env, aws):
    account = unique("acct")
    to = owner_email(account)
    use_recipients(account, to)
    alerts = wiring.alerts()

    assert alerts.sync_failed(account, failure(), now=NOW) is True
    assert alerts.sync_failed(account, failure(), now=NOW + timedelta(hours=3)) is False, "same day: deduplicated"
    assert alerts.sync_failed(account, failure(code="unmapped_tax"), now=NOW) is True, "another problem"
    assert alerts.sync_failed(account, failure(), now=NOW + timedelta(days=1)) is True, "still failing next day"

    emails = sent_emails(aws, to=to)
    assert len(emails) == 3
    assert sent_emails_over_http(aws, to=to) == emails, "what moto's /moto-api/ serves, read in-process"
    email = emails[0]
    assert email.subject == "Invoice <b>INV-7</b> was not sent to Xero"  # a subject is plain text
    assert email.source == '"Acme <Invoicing>" <alerts@invoice-sync.example>'
    assert "Invoice &lt;b&gt;INV-7&lt;/b&gt;" in email.body
    assert "<b>INV-7</b>" not in email.body
    assert "The Xero account 999 used for this invoice" in email.body  # Xero's message in plain words
    assert "Something &lt;odd&gt; happened" in email.body  # unknown: shown as Xero wrote it, escaped
    assert 'href="https://app.example.com/invoices/inv_1"' in email.body


def payment_failure(payment_id: str = "pay_1", code: str = "no_payment_account"):
    from shared.domain.alerts import SyncFailure

    return SyncFailure(
        subject_kind="payment",
        invoice_id="inv_1",
        invoice_number="INV-7",
        payment_id=payment_id,
        amount=Decimal("100.00"),
        currency="NZD",
        code=code,
        message="No Xero account is chosen for payments.",
        fix="Choose a payment account in the integration settings.",
    )


def test_a_payment_failure_email_names_the_payment_and_is_sent_once_per_payment(env, aws):
    account = unique("acct")
    to = owner_email(account)
    use_recipients(account, to)
    alerts = wiring.alerts()

    assert alerts.sync_failed(account, payment_failure(), now=NOW) is True
    assert alerts.sync_failed(account, payment_failure(), now=NOW + timedelta(hours=1)) is False, "same payment"
    assert alerts.sync_failed(account, payment_failure("pay_2"), now=NOW) is True, "another payment, same invoice"

    emails = sent_emails(aws, to=to)
    assert [e.subject for e in emails] == ["A payment of NZD 100.00 on invoice INV-7 was not sent to Xero"] * 2
    assert "An invoice" not in emails[0].body
    assert "(no number yet)" not in emails[0].body
    assert "pay_1" in emails[0].body
    assert "pay_2" in emails[1].body


def test_the_day_of_a_failure_is_when_it_happened_not_when_its_email_went(env, aws):
    account = unique("acct")
    use_recipients(account, owner_email(account))
    alerts = wiring.alerts()
    failed = datetime(2026, 3, 1, 23, 50, tzinfo=UTC)

    assert alerts.sync_failed(account, failure(), now=failed) is True
    late = alerts.sync_failed(account, failure(), now=failed + timedelta(minutes=30), occurred_at=failed)

    assert late is False, "delivered after midnight (SES was down), it is still the same day's email"
    assert len(sent_emails(aws, to=owner_email(account))) == 1


def test_recipients_default_to_the_user_who_connected_and_settings_override_them(env, aws, sandbox):
    account = unique("acct")
    connected_email = connect(env, sandbox, account)

    assert wiring.alerts().sync_failed(account, failure("inv_a"), now=NOW)
    use_recipients(account, "books@example.com", "owner@example.com")
    assert wiring.alerts().sync_failed(account, failure("inv_b"), now=NOW)

    first = sent_emails(aws, to=connected_email)
    assert [e.to for e in first] == [(connected_email,)]
    second = sent_emails(aws, to="books@example.com")
    assert second[-1].to == ("books@example.com", "owner@example.com")


def test_no_recipient_means_no_email_a_warning_and_no_dedupe_record(env, aws, log_lines):
    account = unique("acct")

    assert wiring.alerts().sync_failed(account, failure(), now=NOW) is False

    assert '"alert not sent: nobody to send it to"' in log_lines.getvalue()
    use_recipients(account, owner_email(account))
    assert wiring.alerts().sync_failed(account, failure(), now=NOW) is True, "nothing was claimed before"


def test_ses_throttling_is_retried_with_backoff_then_raised_and_the_retry_sends_exactly_one(env, aws):
    account = unique("acct")
    to = owner_email(account)
    use_recipients(account, to)
    alerts, mailer = wiring.alerts(), wiring.mailer()
    waits: list[float] = []
    mailer.sleep = waits.append

    with SesOutage(wiring.ses_client()) as outage, pytest.raises(AlertDeliveryFailed) as raised:
        alerts.sync_failed(account, failure(), now=NOW)

    assert raised.value.retryable
    assert outage.failed == 4
    assert waits == [0.25, 0.5, 1.0]
    assert sent_emails(aws, to=to) == []
    with SesOutage(wiring.ses_client(), status=503, code="ServiceUnavailable", times=1):
        assert alerts.sync_failed(account, failure(), now=NOW) is True, "the claim did not block the retry"
    assert alerts.sync_failed(account, failure(), now=NOW) is False
    assert len(sent_emails(aws, to=to)) == 1


def test_a_refusal_is_not_retried_and_releases_the_claim(env, aws, monkeypatch):
    account = unique("acct")
    use_recipients(account, owner_email(account))
    monkeypatch.setenv("ALERT_SENDER", "not-verified@elsewhere.example")
    wiring.reset()

    with pytest.raises(AlertRejected):
        wiring.alerts().sync_failed(account, failure(), now=NOW)

    monkeypatch.setenv("ALERT_SENDER", env["ALERT_SENDER"])
    wiring.reset()
    assert wiring.alerts().sync_failed(account, failure(), now=NOW) is True


def test_reconnect_needed_once_per_connection_loss(env, aws, sandbox):
    account = unique("acct")
    to = connect(env, sandbox, account)
    repo = wiring.connections()
    repo.mark_status(account, ConnectionStatus.NEEDS_RECONNECT, reason="invalid_grant", now=NOW)
    alerts = wiring.alerts()

    assert alerts.reconnect_needed(account, "Xero no longer accepts the saved access.", now=NOW) is True
    assert alerts.reconnect_needed(account, "again", now=NOW + timedelta(hours=1)) is False
    connect(env, sandbox, account)  # reconnected, then lost again later
    repo.mark_status(account, ConnectionStatus.NEEDS_RECONNECT, reason="invalid_grant", now=NOW + timedelta(days=3))
    assert alerts.reconnect_needed(account, "Lost again.", now=NOW + timedelta(days=3)) is True

    emails = sent_emails(aws, to=to)
    assert [e.subject for e in emails] == ["Reconnect Xero to keep Acme <Invoicing> syncing"] * 2
    assert f'href="{SETTINGS_URL}"' in emails[0].body
    assert "the Xero organisation Demo Company (NZ)" in emails[0].body


def test_no_token_or_secret_ever_appears_in_an_email(env, aws, sandbox):
    account = unique("acct")
    to = connect(env, sandbox, account)
    connection = wiring.connections().get(account)
    assert connection is not None
    access = wiring.token_manager().access(account).access_token
    refresh = wiring.token_manager().refresh_token(connection)
    alerts = wiring.alerts()

    alerts.sync_failed(account, failure(), now=NOW)
    alerts.inactivity_warning(connection, NOW.date() + timedelta(days=7), now=NOW)
    alerts.disconnected(connection, revoked_at_xero=False, now=NOW)
    wiring.connections().mark_status(account, ConnectionStatus.NEEDS_RECONNECT, reason="invalid_grant", now=NOW)
    alerts.reconnect_needed(account, "Xero refused the saved access.", now=NOW)

    emails = sent_emails(aws, to=to)
    assert len(emails) == 4
    for email in emails:
        for secret in (access, refresh, access[:24], refresh[:24]):
            assert secret not in email.body
            assert secret not in email.subject
