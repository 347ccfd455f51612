"""The local stack's pieces: the SQS poller behaves as Lambda's, the API checks SigV4, mail is readable,
the sweep is invoked as EventBridge does, and stopping leaves nothing running."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

import boto3
import httpx
import pytest

from local.aws_resources import LocalResources
from local.invoke import LocalContext
from local.sqs_runner import EventSourceMapping, SqsRunner
from local.stack import LocalStack, XeroTarget
from local.xero_sandbox.seed import NZ_TENANT

SENDER = "alerts@invoice-sync.example"  # the template's AlertSenderEmail in the local parameters


class Recorder:
    """A tiny push handler: records every batch and fails the messages whose body asks for it."""

    def __init__(self, sqs: Any, queue_url: str, *, release_failures: bool = False) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.release_failures = release_failures
        self.batches: list[list[dict[str, Any]]] = []
        self.raise_always = False
        self.answer_override: Any = None

    def __call__(self, event: dict[str, Any], context: LocalContext) -> Any:
        records = event["Records"]
        self.batches.append(records)
        assert context.get_remaining_time_in_millis() > 0
        if self.raise_always:
            raise RuntimeError("boom")
        if self.answer_override is not None:
            return self.answer_override
        failed = [r for r in records if json.loads(r["body"]).get("fail")]
        for record in failed if self.release_failures else []:
            # As the push does for a message it wants retried at once: visibility back to zero.
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
            )
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in failed]}


@pytest.fixture
def sqs(aws: str) -> Any:
    return boto3.client("sqs", region_name="us-east-1")


def make_runner(sqs: Any, resources: LocalResources, handler: Any, **mapping: Any) -> SqsRunner:
    template_mapping = EventSourceMapping.from_template()
    arn = sqs.get_queue_attributes(QueueUrl=resources.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return SqsRunner(
        sqs,
        queue_url=resources.queue_url,
        queue_arn=arn,
        region="us-east-1",
        handler=handler,
        mapping=EventSourceMapping(
            queue_logical_id="InvoiceQueue",
            batch_size=mapping.get("batch_size", template_mapping.batch_size),
            batching_window_seconds=mapping.get("window", template_mapping.batching_window_seconds),
            report_batch_item_failures=True,
        ),
        context_factory=lambda: LocalContext("push", timeout_seconds=120, memory_mb=1024),
        poll_seconds=0,
    )


@pytest.fixture
def runner_for(sqs: Any, resources: LocalResources) -> Iterator[Any]:
    started: list[SqsRunner] = []

    def build(handler: Any, **mapping: Any) -> SqsRunner:
        runner = make_runner(sqs, resources, handler, **mapping).start()
        started.append(runner)
        return runner

    yield build
    for runner in started:
        runner.stop()


def send(sqs: Any, url: str, body: dict[str, Any], **extra: Any) -> str:
    message_id: str = sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body), **extra)["MessageId"]
    return message_id


def test_the_event_source_mapping_is_read_from_the_template():
    mapping = EventSourceMapping.from_template("IntakeFunction")
    tickets = EventSourceMapping.from_template("PushFunction")
    wakes = EventSourceMapping.from_template("IntakeFunction", queue="WakeQueue")

    assert mapping.queue_logical_id == "InvoiceQueue"
    assert mapping.batch_size == 100
    assert mapping.batching_window_seconds == 5
    assert mapping.report_batch_item_failures
    assert (tickets.queue_logical_id, tickets.batch_size, tickets.batching_window_seconds) == ("FlushQueue", 1, 0)
    assert tickets.report_batch_item_failures
    assert wakes.queue_logical_id == "WakeQueue"
    with pytest.raises(LookupError):
        EventSourceMapping.from_template("SweepFunction")


def test_records_are_the_ones_lambda_sends(sqs, resources, runner_for):
    handler = Recorder(sqs, resources.queue_url)
    runner = runner_for(handler)
    sent = send(
        sqs,
        resources.queue_url,
        {"type": "invoice"},
        MessageAttributes={
            "account_id": {"DataType": "String", "StringValue": "acct-1"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x01\x02"},
        },
    )

    assert runner.wait_until_drained(10).drained

    (record,) = handler.batches[0]
    assert record["messageId"] == sent
    assert record["body"] == '{"type": "invoice"}'
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(resources.queue_url.rsplit("/", 1)[1])
    assert record["awsRegion"] == "us-east-1"
    assert record["md5OfBody"]
    assert record["md5OfMessageAttributes"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "ApproximateFirstReceiveTimestamp", "SenderId"} <= set(record["attributes"])
    assert record["messageAttributes"]["account_id"] == {
        "stringValue": "acct-1",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AQI="


def test_the_batching_window_gathers_one_batch_and_only_successes_are_deleted(sqs, resources, runner_for):
    handler = Recorder(sqs, resources.queue_url)
    runner = runner_for(handler)  # the template's batch size (100) and window (10 s)
    failing = send(sqs, resources.queue_url, {"n": 0, "fail": True})
    for n in range(1, 15):
        send(sqs, resources.queue_url, {"n": n})

    runner.wait_for_batches(1, timeout=5)
    depth = runner.depth()

    assert len(handler.batches) == 1
    assert len(handler.batches[0]) == 15
    (outcome,) = runner.outcomes
    assert outcome.failed_ids == [failing]
    assert outcome.deleted == 14
    # The failure is neither deleted nor visible: it waits out the queue's 720 s visibility timeout.
    assert (depth.visible, depth.in_flight) == (0, 1)


def test_failures_the_handler_releases_come_back_and_reach_the_dlq_after_max_receive_count(sqs, resources, runner_for):
    handler = Recorder(sqs, resources.queue_url, release_failures=True)
    runner = runner_for(handler, window=0)
    failing = send(sqs, resources.queue_url, {"fail": True})

    depth = runner.wait_until_drained(timeout=15)

    assert depth.drained
    counts = [record["attributes"]["ApproximateReceiveCount"] for batch in handler.batches for record in batch]
    assert counts == [str(n) for n in range(1, 9)]  # the template's maxReceiveCount: 8
    dead = sqs.receive_message(QueueUrl=resources.dead_letter_queue_url, MaxNumberOfMessages=10)["Messages"]
    assert [m["MessageId"] for m in dead] == [failing]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("raise", "the handler raised RuntimeError"),
        ({"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}, "unknown message"),
    ],
)
def test_a_raising_handler_or_an_unusable_answer_fails_the_whole_batch(sqs, resources, runner_for, answer, reason):
    handler = Recorder(sqs, resources.queue_url)
    handler.raise_always = answer == "raise"
    handler.answer_override = None if answer == "raise" else answer
    send(sqs, resources.queue_url, {"n": 1})
    send(sqs, resources.queue_url, {"n": 2})
    runner = runner_for(handler, window=0)  # started after both were sent: one batch of two

    (outcome,) = runner.wait_for_batches(1, timeout=5)

    assert len(outcome.message_ids) == 2
    assert reason in (outcome.error or "")
    assert outcome.deleted == 0
    assert runner.depth().in_flight == 2  # nothing deleted


def test_a_handler_past_its_timeout_fails_its_batch(sqs, resources):
    handler = Recorder(sqs, resources.queue_url)
    runner = make_runner(sqs, resources, handler, window=0)
    runner._context_factory = lambda: LocalContext("push", timeout_seconds=-1, memory_mb=1024)  # already over
    runner._handler = lambda event, context: {"batchItemFailures": []}
    runner.start()
    try:
        send(sqs, resources.queue_url, {"n": 1})
        (outcome,) = runner.wait_for_batches(1, timeout=5)
    finally:
        runner.stop()

    assert outcome.error == "the handler ran past its timeout"
    assert runner.depth().in_flight == 1


# --- the whole stack ---------------------------------------------------------------------------------


@pytest.fixture
def stack(local_stack: LocalStack) -> LocalStack:
    return local_stack


def test_the_http_api_lets_only_signed_requests_through(stack):
    unsigned = httpx.get(f"{stack.management_url}/accounts/acct-1/connection")
    forged = httpx.get(
        f"{stack.management_url}/accounts/acct-1/connection",
        headers={
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIALOCALSTACK000001/20260101/us-east-1/execute-api/"
            "aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
            "X-Amz-Date": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        },
    )
    signed = stack.client().get("/v1/accounts/acct-1/connection")

    assert unsigned.status_code == 403
    assert unsigned.json() == {"message": "Forbidden"}
    assert forged.status_code == 403
    assert signed.status_code != 403  # it reached the management function
    assert stack.verifier.last_refusal == ""


def test_a_tampered_body_is_refused_by_the_http_api(stack):
    client = stack.client()
    url = f"{stack.management_url}/accounts/acct-1/organisation"
    headers = client.signed_headers("PUT", url, b'{"tenant_id":"a"}', {"content-type": "application/json"})

    answer = httpx.put(url, content=b'{"tenant_id":"b"}', headers=headers)

    assert answer.status_code == 403
    assert stack.verifier.last_refusal == "signature does not match"


def test_the_connect_link_and_callback_run_through_the_http_api(stack):
    with httpx.Client() as browser:
        start = browser.get(stack.connect_link("acct-1"))
        consent = browser.get(start.headers["location"])
        page = browser.get(consent.headers["location"])

    assert start.status_code == 302
    assert consent.headers["location"].startswith(stack.callback_url)
    assert page.status_code == 200
    assert "Xero connected" in page.text


def test_ids_in_management_paths_reach_the_function_decoded_once_over_http(stack, sandbox):
    sandbox.sandbox.state.consent.tenant_ids = [NZ_TENANT]  # one organisation: chosen at the callback
    with httpx.Client() as browser:
        consent = browser.get(browser.get(stack.connect_link("acct-1")).headers["location"])
        assert browser.get(consent.headers["location"]).status_code == 200
    client = stack.client()
    ids = ["gst%15", "reduced/9", "zero rated", "tva-r\u00e9duite \u20ac"]

    answers = [
        client.put(f"/v1/accounts/acct-1/tax-mappings/{quote(tax_id, safe='')}", {"tax_type": "OUTPUT2"})
        for tax_id in ids
    ]
    listed = client.get("/v1/accounts/acct-1/tax-mappings").json()

    assert [(a.status_code, a.json()["platform_tax_id"]) for a in answers] == [(200, tax_id) for tax_id in ids]
    assert sorted(m["platform_tax_id"] for m in listed["mappings"]) == sorted(ids)
    assert stack.verifier.last_refusal == "", "the signature was checked on the path as sent"


def test_the_sweep_is_invoked_with_a_scheduled_event(stack, monkeypatch):
    from functions.sweep import handler as sweep

    seen: list[tuple[dict[str, Any], LocalContext]] = []

    def recording(event: dict[str, Any], context: LocalContext) -> dict[str, int]:
        seen.append((event, context))
        return {"ok": 1}

    monkeypatch.setattr(sweep, "lambda_handler", recording)

    answer = stack.run_sweep(datetime(2027, 3, 1, 6, 0, tzinfo=UTC))

    assert answer == {"ok": 1}
    event, context = seen[0]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["time"] == "2027-03-01T06:00:00Z"
    assert event["detail"] == {"now": "2027-03-01T06:00:00Z"}
    assert 899_000 < context.get_remaining_time_in_millis() <= 900_000  # the template's 900 s timeout
    assert context.function_name == f"{stack.prefix}-SweepFunction"


def test_sent_emails_are_listed_with_their_text(stack):
    ses = boto3.client("sesv2", region_name="us-east-1")
    ses.send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["owner@example.com"]},
        Content={
            "Simple": {
                "Subject": {"Data": "Xero will be disconnected"},
                "Body": {
                    "Html": {"Data": "<html><body><p>Hello &amp; welcome,</p><p>Reconnect soon.</p></body></html>"},
                    "Text": {"Data": "Hello & welcome,\nReconnect soon."},
                },
            }
        },
    )
    raw = EmailMessage()
    raw["From"], raw["To"], raw["Subject"] = SENDER, "a@example.com, b@example.com", "An invoice did not sync"
    raw.set_content("Invoice INV-1 was refused by Xero.\nFix the tax mapping.")
    raw.add_alternative("<p>Invoice INV-1 was refused by Xero.</p>", subtype="html")
    ses.send_email(FromEmailAddress=SENDER, Content={"Raw": {"Data": raw.as_bytes()}})

    first, second = stack.sent_mail()

    assert first.to == ("owner@example.com",)
    assert first.subject == "Xero will be disconnected"
    assert first.first_lines() == ["Hello & welcome,", "Reconnect soon."]
    assert second.to == ("a@example.com", "b@example.com")
    assert second.subject == "An invoice did not sync"
    assert second.first_lines(1) == ["Invoice INV-1 was refused by Xero."]
    assert second.html is not None


def test_the_alert_queue_is_polled_with_the_alerts_functions_settings_and_its_emails_are_listed(stack):
    from shared import wiring
    from shared.domain.alerts import SyncFailure
    from shared.models.settings import AccountSettings

    assert stack.alert_runner.mapping == EventSourceMapping.from_template("AlertsFunction")
    assert stack.alert_runner.mapping.report_batch_item_failures
    wiring.account_settings().save(
        AccountSettings(account_id="acct-q", alert_recipients=("owner@example.com",)), now=datetime.now(UTC)
    )
    failure = SyncFailure(invoice_id="inv-1", invoice_number="INV-1", code="unmapped_tax", message="m.", fix="f.")

    wiring.queued_alerts().sync_failed("acct-q", failure)
    depth = stack.wait_until_drained()

    assert depth.drained
    assert [m.subject for m in stack.sent_mail() if "owner@example.com" in m.to] == [
        "Invoice INV-1 was not sent to Xero"
    ]
    assert stack.alert_dead_letters() == []
    assert "0 alert email(s) not sent" in stack.command("dlq")


def test_dead_letters_are_listed_and_left_in_place(stack):
    sqs = boto3.client("sqs", region_name="us-east-1")
    sqs.send_message(QueueUrl=stack.dead_letter_queue_url, MessageBody='{"n": 1}')
    sqs.send_message(QueueUrl=stack.dead_letter_queue_url, MessageBody='{"n": 2}')

    first = stack.dead_letters()
    again = stack.dead_letters()

    assert sorted(m["Body"] for m in first) == ['{"n": 1}', '{"n": 2}']
    assert len(again) == 2


def test_console_commands_answer(stack):
    assert "visible 0, in flight 0" in stack.command("depth")
    assert stack.command("mail").startswith("0 email(s)")
    assert stack.command("dlq").startswith("0 dead letter(s)")
    assert stack.command("sweep 2027-01-01").startswith("sweep: ")
    assert stack.command("nonsense").startswith("unknown command")
    assert "Management API" in stack.describe()
    assert "signature=" in stack.describe()


def _threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.is_alive()}


def _port_open(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as sock:
        return sock.connect_ex((host, int(port))) == 0


def test_stopping_the_stack_leaves_no_thread_and_no_open_port(monkeypatch):
    before = _threads()
    with LocalStack(poll_seconds=1) as stack:
        # Keep-alive connections into every server: stopping must close them too.
        stack.client().get("/v1/accounts/acct-1/connection")
        httpx.get(f"{stack.sandbox_url}/_sandbox/stats").raise_for_status()
        stack.publish("{}")
        endpoints = [stack.api_url, stack.sandbox_url, stack.moto_endpoint]
        assert all(_port_open(url) for url in endpoints)
        assert stack.runner.running

    assert not any(_port_open(url) for url in endpoints)
    assert not stack.runner.running
    leftover = [t.name for t in _threads() - before]
    assert leftover == []


def test_real_xero_is_chosen_only_with_credentials_and_defaults_to_xeros_urls():
    assert XeroTarget.from_environment({"XERO_CLIENT_ID": "id"}) is None
    target = XeroTarget.from_environment(
        {"XERO_CLIENT_ID": "id", "XERO_CLIENT_SECRET": "s", "XERO_API_URL": "https://api.example"}
    )

    assert target == XeroTarget("https://login.xero.com", "https://identity.xero.com", "https://api.example", "id", "s")


def test_the_same_stack_points_at_real_xero_with_its_credentials(aws):
    target = XeroTarget("https://login.xero.com", "https://identity.xero.com", "https://api.xero.com", "MYAPP", "shh")

    with LocalStack(moto_endpoint=aws, xero=target, poll_seconds=0) as stack:
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        app = json.loads(secrets.get_secret_value(SecretId=stack.environment["XERO_APP_SECRET_ARN"])["SecretString"])
        described = stack.describe()

    assert stack.sandbox is None
    assert app == {"client_id": "MYAPP", "client_secret": "shh"}
    assert stack.environment["XERO_LOGIN_URL"] == "https://login.xero.com"
    assert stack.environment["XERO_API_URL"] == "https://api.xero.com"
    assert "real Xero; register" in described
