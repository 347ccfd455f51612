"""The alert queue: alerts published by the push's side, sent by the alerts function as Lambda's SQS poller
runs it (the template's event source settings), through moto's SQS and SES on loopback. SES failing and
recovering, SES refusing, duplicates and malformed requests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from local.invoke import context_for, template_functions
from local.sqs_runner import EventSourceMapping, SqsRunner
from shared import wiring
from shared.domain.alerts import SyncFailure
from shared.errors import StorageError
from shared.models.alerts import ReconnectNeededAlert, SyncFailedAlert, parse_alert_request
from shared.models.settings import AccountSettings
from tests.support.accounts import owner_email, unique
from tests.support.emails import SesOutage, sent_emails

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PAYMENT = SyncFailure(
    subject_kind="payment",
    invoice_id="inv_1",
    invoice_number="INV-7",
    payment_id="pay_1",
    amount=Decimal("100.00"),
    currency="NZD",
    code="no_payment_account",
    message="No Xero account is chosen for payments.",
    fix="Choose a payment account in the integration settings.",
)


@pytest.fixture
def env(service_env, monkeypatch):
    """The functions' environment, with a short backoff (1 s doubling to 2 s) and 4 receives at most."""
    monkeypatch.setenv("ALERT_RETRY_BASE_SECONDS", "1")
    monkeypatch.setenv("ALERT_RETRY_MAX_SECONDS", "2")
    monkeypatch.setenv("ALERT_QUEUE_MAX_RECEIVES", "4")
    wiring.reset()
    return service_env


@pytest.fixture
def sqs(aws):
    return boto3.client("sqs", region_name="us-east-1")


@pytest.fixture
def alerts_function(env, resources, sqs) -> Iterator[SqsRunner]:
    """The alerts handler, polled from the alert queue as Lambda would with the template's settings."""
    spec = template_functions()["AlertsFunction"]
    queue_url = resources.alert_queue_url
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    runner = SqsRunner(
        sqs,
        queue_url=queue_url,
        queue_arn=arn,
        region="us-east-1",
        handler=spec.load(),
        mapping=EventSourceMapping.from_template("AlertsFunction"),
        context_factory=lambda: context_for(spec, resources.prefix),
        poll_seconds=0,
        name="alerts-under-test",
    )
    yield runner
    runner.stop()


def account_with_owner() -> tuple[str, str]:
    account = unique("acct")
    to = owner_email(account)
    wiring.account_settings().save(AccountSettings(account_id=account, alert_recipients=(to,)), now=NOW)
    return account, to


def dead_letters(sqs: Any, url: str) -> list[dict[str, Any]]:
    answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    return list(answer.get("Messages", []))


def reason(message: dict[str, Any]) -> tuple[str, str]:
    attributes = message["MessageAttributes"]
    return attributes["failure_code"]["StringValue"], attributes["failure_reason"]["StringValue"]


def test_published_alerts_are_queued_ten_per_call_as_the_requests_the_function_reads(env, resources, sqs):
    account, _ = account_with_owner()
    requests = [
        SyncFailedAlert(account_id=account, occurred_at=NOW, failure=PAYMENT.model_copy(update={"payment_id": f"p{n}"}))
        for n in range(12)
    ] + [ReconnectNeededAlert(account_id=account, occurred_at=NOW, reason="Xero refused the saved access.")]

    assert wiring.alert_queue().publish(requests) == 13

    bodies = []
    while answer := sqs.receive_message(QueueUrl=resources.alert_queue_url, MaxNumberOfMessages=10).get("Messages"):
        bodies += [m["Body"] for m in answer]
    assert sorted(parse_alert_request(b).model_dump_json() for b in bodies) == sorted(
        r.model_dump_json() for r in requests
    )


def test_a_queue_that_cannot_be_reached_is_a_storage_error(env, monkeypatch):
    monkeypatch.setenv("ALERT_QUEUE_URL", "http://127.0.0.1:9/000000000000/nowhere")
    wiring.reset()

    with pytest.raises(StorageError):
        wiring.queued_alerts().sync_failed("acct", PAYMENT, now=NOW)


def test_an_alert_queued_while_ses_is_down_is_emailed_once_when_ses_recovers(env, resources, sqs, alerts_function):
    account, to = account_with_owner()

    # SES answers 503 to the first four sends: the mailer's two tries on each of the first two receives.
    with SesOutage(wiring.ses_client(), status=503, code="ServiceUnavailable", times=4) as outage:
        assert wiring.queued_alerts().sync_failed(account, PAYMENT, now=NOW) is True
        alerts_function.start()
        depth = alerts_function.wait_until_drained(timeout=45)  # two visibility timeouts, on a busy machine

    assert depth.drained
    assert outage.failed == 4
    emails = sent_emails(to=to)
    assert [e.subject for e in emails] == ["A payment of NZD 100.00 on invoice INV-7 was not sent to Xero"]
    assert [len(o.failed_ids) for o in alerts_function.outcomes] == [1, 1, 0], "two receives failed, one sent"
    assert dead_letters(sqs, resources.alert_dead_letter_queue_url) == []


def test_an_email_ses_refuses_goes_to_the_dead_letter_queue_with_its_reason_after_the_bounded_retries(
    env, resources, sqs, alerts_function, monkeypatch
):
    account, to = account_with_owner()
    monkeypatch.setenv("ALERT_SENDER", "not-verified@elsewhere.example")  # SES: MessageRejected
    wiring.reset()

    wiring.queued_alerts().reconnect_needed(account, "Xero refused the saved access.", now=NOW)
    alerts_function.start()
    depth = alerts_function.wait_until_drained(timeout=30)

    assert depth.drained
    assert sent_emails(to=to) == []
    assert len(alerts_function.outcomes) == 4, "ALERT_QUEUE_MAX_RECEIVES receives, then no more"
    [letter] = dead_letters(sqs, resources.alert_dead_letter_queue_url)
    code, why = reason(letter)
    assert code == "alert_rejected"
    assert "SES refused the email" in why
    assert "after 4 receives" in why
    assert letter["MessageAttributes"]["account_id"]["StringValue"] == account
    assert parse_alert_request(letter["Body"]).kind == "reconnect_needed", "the request is kept whole"


def test_duplicate_requests_and_redeliveries_send_one_email(env, resources, sqs, alerts_function):
    account, to = account_with_owner()
    request = SyncFailedAlert(account_id=account, occurred_at=NOW, failure=PAYMENT)

    wiring.alert_queue().publish([request, request, request])
    alerts_function.start()
    assert alerts_function.wait_until_drained(timeout=20).drained
    wiring.alert_queue().publish([request])  # the same request again once it was sent (a redelivery)
    assert alerts_function.wait_until_drained(timeout=20).drained

    assert len(sent_emails(to=to)) == 1
    assert all(o.failed_ids == [] for o in alerts_function.outcomes)
    assert dead_letters(sqs, resources.alert_dead_letter_queue_url) == []


def test_a_malformed_request_is_dead_lettered_at_once_with_what_is_wrong(env, resources, sqs, alerts_function):
    sqs.send_message(QueueUrl=resources.alert_queue_url, MessageBody='{"kind": "sync_failed", "account_id": ""}')

    alerts_function.start()
    assert alerts_function.wait_until_drained(timeout=20).drained

    [letter] = dead_letters(sqs, resources.alert_dead_letter_queue_url)
    code, why = reason(letter)
    assert code == "malformed_alert"
    assert "account_id" in why
    assert len(alerts_function.outcomes) == 1


def test_with_too_little_time_left_an_alert_is_not_tried_and_comes_straight_back(env, resources, sqs):
    from shared.domain.queued_alerts import QueuedMessage, RetryLater

    account, to = account_with_owner()
    wiring.queued_alerts().sync_failed(account, PAYMENT, now=NOW)
    [received] = sqs.receive_message(QueueUrl=resources.alert_queue_url, AttributeNames=["All"])["Messages"]
    message = QueuedMessage(received["MessageId"], received["ReceiptHandle"], received["Body"], 1)

    with pytest.raises(RetryLater) as raised:
        wiring.alert_delivery().deliver(message, seconds_left=lambda: 5)

    assert (raised.value.code, raised.value.delay) == ("out_of_time", 0)
    assert sent_emails(to=to) == []
    again = sqs.receive_message(QueueUrl=resources.alert_queue_url, WaitTimeSeconds=1)["Messages"]
    assert again[0]["Body"] == received["Body"], "visible again at once"


def test_the_backoff_doubles_from_the_base_up_to_the_ceiling_with_jitter_below_it():
    from shared.domain.queued_alerts import RetryPolicy

    policy = RetryPolicy(max_receives=10, base_seconds=30, max_seconds=3600)
    highest = [policy.delay(n, jitter=lambda low, high: high) for n in range(1, 10)]
    lowest = [policy.delay(n, jitter=lambda low, high: low) for n in range(1, 10)]

    assert highest == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert lowest == [15, 30, 60, 120, 240, 480, 960, 1800, 1800]
    assert sum(highest) < timedelta(hours=3.5).total_seconds(), "bounded: the DLQ within hours, not days"
