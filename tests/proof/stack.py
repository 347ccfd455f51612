"""The stack the proof runs against, started in this process so ``python -m tests.proof`` needs nothing else.

- AWS: moto's server on loopback (started here, or an endpoint given, e.g. pytest's session server),
  with the template's resources created under a fresh prefix.
- Xero: the sandbox on loopback, driven and inspected through its ``/_sandbox`` endpoints over HTTP.
- The HTTP API: :class:`local.apigw.HttpApi` (the template's routes, IAM routes gated) served on
  loopback, so browsers and attackers reach the real handlers over HTTP.
- Evidence: every log line, everything printed, every page the API answered and every error the
  scenarios met, kept for the secrets scan.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import httpx
from werkzeug.serving import WSGIRequestHandler

from local.apigw import HttpApi
from local.aws_resources import LocalResources, create_resources
from local.moto_server import MotoServer
from local.serving import LoopbackServer
from local.sigv4 import Caller, SignedClient, SigV4Verifier
from local.xero_sandbox import SandboxServer
from local.xero_sandbox.state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from shared import wiring
from shared.adapters.dynamo import from_item
from shared.connect_link import connect_signature
from tests.support.events import FakeContext

# The platform backend's IAM principal: execute-api:Invoke on every route.
PLATFORM_BACKEND = Caller(
    access_key="AKIAPROOFBACKEND0001",
    secret_key="proof-backend-secret-key",  # a fixed local test key
    arn="arn:aws:iam::123456789012:role/platform-backend",
)
AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # moto's convention; not a real secret
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_METRICS_NAMESPACE": "XeroInvoiceSyncProof",
    "POWERTOOLS_SERVICE_NAME": "xero-invoice-sync",
    "POWERTOOLS_DEV": "false",
}
TOKEN_CALLS = "POST /connect/token"
MOTO_ACCOUNT = "123456789012"


@dataclass
class Evidence:
    """Text the service produced during the run, by where it went."""

    pages: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    logs: io.StringIO = field(default_factory=io.StringIO)
    stdout: io.StringIO = field(default_factory=io.StringIO)

    def log_text(self) -> str:
        return self.logs.getvalue()

    def log_count(self, message: str) -> int:
        """Log lines whose message is exactly ``message``."""
        return sum(1 for line in self.log_text().splitlines() if _message(line) == message)


def _message(line: str) -> str | None:
    try:
        parsed = json.loads(line)
    except ValueError:
        return None
    return parsed.get("message") if isinstance(parsed, dict) else None


class SandboxControl:
    """The sandbox's own endpoints (``/_sandbox``), over HTTP."""

    def __init__(self, url: str) -> None:
        self._http = httpx.Client(base_url=f"{url}/_sandbox", timeout=10)

    def _get(self, path: str) -> Any:
        answer = self._http.get(path)
        answer.raise_for_status()
        return answer.json()

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        answer = self._http.post(path, json=body)
        answer.raise_for_status()
        return answer.json()

    def stats(self) -> dict[str, int]:
        stats: dict[str, int] = self._get("/stats")
        return stats

    def token_calls(self) -> int:
        """Requests that reached Xero's token endpoint (code exchanges and refreshes)."""
        return sum(count for key, count in self.stats().items() if key.startswith(TOKEN_CALLS))

    def refreshes(self) -> int:
        return self.stats().get(f"{TOKEN_CALLS} refresh_token", 0)

    def issued(self) -> dict[str, list[str]]:
        issued: dict[str, list[str]] = self._get("/issued")
        return issued

    def grants(self) -> list[dict[str, Any]]:
        grants: list[dict[str, Any]] = self._get("/connections")
        return grants

    def revoke_grant(self, grant_id: str) -> None:
        self._post(f"/grants/{grant_id}/revoke", {})

    def consent(self, *, tenant_ids: list[str] | None = None, deny: bool = False) -> None:
        self._post("/consent", {"tenant_ids": tenant_ids, "deny": deny})

    def faults(self, rules: list[dict[str, Any]], seed: int | None = None) -> None:
        self._post("/faults", {"rules": rules, "seed": seed})

    def faults_injected(self) -> int:
        return sum(self._get("/faults")["injected"].values())

    def register_app(self, client_id: str, client_secret: str, redirect_uris: list[str]) -> None:
        self._post("/apps", {"client_id": client_id, "client_secret": client_secret, "redirect_uris": redirect_uris})

    def close(self) -> None:
        self._http.close()


class Browser:
    """A user's browser: keeps the cookies our API sets and sends them back; records every page."""

    def __init__(self, stack: ProofStack) -> None:
        self._stack = stack
        self.cookies: dict[str, str] = {}

    def get(self, url: str, *, cookies: dict[str, str] | None = None) -> httpx.Response:
        jar = self.cookies if cookies is None else cookies
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}
        response = httpx.get(url, headers=headers, follow_redirects=False, timeout=30)
        self._stack.record(response)
        for header in response.headers.get_list("set-cookie"):
            pair, _, attributes = header.partition(";")
            name, _, value = pair.strip().partition("=")
            if value and "max-age=0" not in attributes.lower():
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return response

    def consent_at_xero(self, authorize_url: str) -> str:
        """Follow Xero's authorize URL (the sandbox consents at once); the callback URL it sends us to."""
        answer = httpx.get(authorize_url, follow_redirects=False, timeout=10)
        if answer.status_code != 302:
            raise AssertionError(f"the sandbox did not redirect back: {answer.status_code}")
        return answer.headers["location"]


@dataclass(frozen=True)
class Consent:
    """One walk of the consent flow, step by step, so attacks can cut in anywhere."""

    browser: Browser
    connect: httpx.Response
    callback_url: str

    @property
    def callback_query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.callback_url).query).items()}


class ProofStack:
    def __init__(self, moto_endpoint: str | None = None) -> None:
        self._given_moto = moto_endpoint
        self._exit = contextlib.ExitStack()
        self.evidence = Evidence()
        self.moto_endpoint = ""
        self.resources: LocalResources
        self.sandbox: SandboxServer
        self.control: SandboxControl
        self.api: HttpApi
        self.api_url = ""
        self.verifier = SigV4Verifier([PLATFORM_BACKEND], region=AWS_ENVIRONMENT["AWS_REGION"])
        self._ses_seen = 0

    # --- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> Self:
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._exit.close()

    def _start(self) -> None:
        self.moto_endpoint = self._given_moto or self._exit.enter_context(MotoServer()).url
        self._exit.enter_context(_environment(AWS_ENVIRONMENT | {"AWS_ENDPOINT_URL": self.moto_endpoint}))
        self.resources = create_resources(prefix=f"proof{uuid.uuid4().hex[:8]}")
        self.sandbox = self._exit.enter_context(SandboxServer())
        self.control = SandboxControl(self.sandbox.url)
        self._exit.callback(self.control.close)
        self.api = HttpApi(authorize=self.verifier, context_factory=lambda route: FakeContext())
        self.api_url = self._exit.enter_context(_serve(self.api))
        self.control.register_app(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, [f"{self.api_url}/xero/callback"])
        xero = {"XERO_LOGIN_URL": self.sandbox.url, "XERO_IDENTITY_URL": self.sandbox.url}
        # Flushes go at once (no batch wait): the scenarios publish all their events before they drain.
        service = {"XERO_API_URL": self.sandbox.url, "PUSH_COALESCE_SECONDS": "0"}
        self._exit.enter_context(_environment(self.resources.environment | xero | service))
        wiring.reset()
        self._exit.callback(wiring.reset)
        self._exit.enter_context(_capture_logs(self.evidence.logs))
        self._exit.enter_context(contextlib.redirect_stdout(self.evidence.stdout))
        self._ses_seen = len(_ses_messages())

    # --- what a scenario uses -----------------------------------------------------------------

    def record(self, response: httpx.Response) -> None:
        """Keep a page our API answered (body, headers) for the secrets scan."""
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.multi_items())
        self.evidence.pages.append(f"{response.status_code}\n{headers}\n\n{response.text}")

    def signed_client(self, caller: Caller = PLATFORM_BACKEND) -> SignedClient:
        """A management API client signing as ``caller`` (who must be known to ``self.verifier``)."""
        client = SignedClient(self.api_url, caller, region=AWS_ENVIRONMENT["AWS_REGION"], timeout=10)
        self._exit.callback(client.close)
        return client

    def browser(self) -> Browser:
        return Browser(self)

    def secret(self, arn_variable: str) -> str:
        client = boto3.client("secretsmanager")
        value: str = client.get_secret_value(SecretId=self.resources.environment[arn_variable])["SecretString"]
        return value

    def link_secret(self) -> str:
        return self.secret("CONNECT_LINK_SECRET_ARN")

    def client_secret(self) -> str:
        value: str = json.loads(self.secret("XERO_APP_SECRET_ARN"))["client_secret"]
        return value

    def connect_link(self, account_id: str, *, ttl: int = 300, secret: str | None = None) -> str:
        expires = int(time.time()) + ttl
        signature = connect_signature(secret or self.link_secret(), account_id, expires)
        return self.connect_url({"account_id": account_id, "expires": str(expires), "signature": signature})

    def connect_url(self, query: dict[str, str]) -> str:
        return f"{self.api_url}/xero/connect?{urlencode(query)}"

    def callback_url(self, query: dict[str, str]) -> str:
        return f"{self.api_url}/xero/callback?{urlencode(query)}"

    def start_consent(self, account_id: str, browser: Browser | None = None) -> Consent:
        """Open a signed connect link and consent at Xero; stops before the callback."""
        browser = browser or self.browser()
        connect = browser.get(self.connect_link(account_id))
        if connect.status_code != 302:
            raise AssertionError(f"connect for {account_id} answered {connect.status_code}")
        return Consent(browser, connect, browser.consent_at_xero(connect.headers["location"]))

    def connect_account(self, account_id: str) -> httpx.Response:
        """The whole consent as a user walks it; the callback's answer."""
        consent = self.start_consent(account_id)
        answer = consent.browser.get(consent.callback_url)
        if answer.status_code != 200:
            raise AssertionError(f"callback for {account_id} answered {answer.status_code}")
        return answer

    def items(self) -> list[dict[str, Any]]:
        client = boto3.client("dynamodb")
        pages = client.get_paginator("scan").paginate(TableName=self.resources.table_name)
        return [from_item(item) for page in pages for item in page["Items"]]

    def connection(self, account_id: str) -> dict[str, Any] | None:
        key = {"pk": {"S": f"ACCOUNT#{account_id}"}, "sk": {"S": "CONNECTION"}}
        found = boto3.client("dynamodb").get_item(TableName=self.resources.table_name, Key=key, ConsistentRead=True)
        return from_item(found["Item"]) if "Item" in found else None

    def set_access_expiry(self, account_id: str, expires_at: int) -> None:
        boto3.client("dynamodb").update_item(
            TableName=self.resources.table_name,
            Key={"pk": {"S": f"ACCOUNT#{account_id}"}, "sk": {"S": "CONNECTION"}},
            UpdateExpression="SET access_expires_at = :at",
            ExpressionAttributeValues={":at": {"N": str(expires_at)}},
        )

    def meters(self) -> dict[str, int]:
        """What the framework counts for every scenario, before and after it: emails sent, faults injected."""
        return {"emails": len(self.emails()), "faults": self.control.faults_injected()}

    def deliver_alerts(self) -> int:
        """Run the alerts function over what the alert queue holds now, as its event source would."""
        from functions.alerts import handler as alerts
        from local.sqs_runner import lambda_record
        from tests.support.events import FakeContext

        sqs = boto3.client("sqs")
        url = self.resources.environment["ALERT_QUEUE_URL"]
        delivered = 0
        while True:
            answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=5, AttributeNames=["All"])
            messages = answer.get("Messages", [])
            if not messages:
                return delivered
            result = alerts.lambda_handler({"Records": [lambda_record(dict(m)) for m in messages]}, FakeContext())
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            for message in messages:
                if message["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                    delivered += 1

    def emails(self) -> list[str]:
        """Every email SES accepted during this run, as text (sender, recipients, subject, body); what
        waits on the alert queue is delivered first."""
        self.deliver_alerts()
        return [_email_text(message) for message in _ses_messages()[self._ses_seen :]]


def items_fingerprint(items: list[dict[str, Any]]) -> set[str]:
    return {json.dumps(item, sort_keys=True, default=repr) for item in items}


def _ses_messages() -> list[Any]:
    from moto.ses.models import ses_backends

    return list(ses_backends[MOTO_ACCOUNT][os.environ.get("AWS_REGION", "us-east-1")].sent_messages)


def _email_text(message: Any) -> str:
    parts = [getattr(message, name, "") for name in ("source", "subject", "body", "raw_data")]
    parts.append(json.dumps(getattr(message, "destinations", {}), default=str))
    return "\n".join(str(p) for p in parts if p)


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _serve(app: HttpApi) -> Iterator[str]:
    class Quiet(WSGIRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            """No access log: the handlers log every request themselves."""

    with LoopbackServer(app, name="proof-http-api", request_handler=Quiet) as server:
        yield server.url


@contextlib.contextmanager
def _capture_logs(buffer: io.StringIO) -> Iterator[None]:
    """Every line the service logs, at DEBUG, formatted as Lambda ships it (JSON, redacted)."""
    from shared.observability import logger

    handler = logger.registered_handler
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    level = logger.log_level
    logger.setLevel("DEBUG")
    try:
        yield
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]
        logger.setLevel(level)
