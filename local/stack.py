"""The whole service on one machine: ``python -m local.stack`` (``make local``) keeps it running.

:class:`LocalStack` starts, on loopback ports chosen free:
- moto's server (every AWS service), with the template's data resources created in it;
- the Xero sandbox, unless real Xero is configured (``XERO_CLIENT_ID`` and ``XERO_CLIENT_SECRET``,
  and optionally ``XERO_LOGIN_URL``/``XERO_IDENTITY_URL``/``XERO_API_URL``, in the environment);
- the HTTP API: the template's routes dispatched to the real handlers as API Gateway 2.0 events,
  ``AWS_IAM`` routes checked with a real SigV4 verification of the local credentials;
- the SQS event sources: the invoice queue polled and handed to the push handler in batches, and the
  alert queue to the alerts handler, each with its function's event source settings from the template.
The sweep runs on demand (:meth:`LocalStack.run_sweep`) and sent emails are read from moto.
It sets the functions' environment (from the template's Globals) in this process while it runs and
puts back the previous environment when it stops.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import boto3
import httpx
from werkzeug.serving import WSGIRequestHandler

from local.apigw import HttpApi, Route, template_routes
from local.aws_resources import LOCAL_PARAMETERS, LocalResources, create_resources
from local.invoke import ACCOUNT_ID, FunctionSpec, context_for, template_functions
from local.mail import Mailbox, SentMail
from local.moto_server import MotoServer
from local.serving import LoopbackServer
from local.sigv4 import Caller, SignedClient, SigV4Verifier
from local.sqs_runner import EventSourceMapping, QueueDepth, SqsRunner
from local.status_tap import StatusEvent, StatusTap
from local.template import load_template
from local.xero_sandbox import SandboxServer
from shared import wiring
from shared.connect_link import sign_connect_link, sign_settings_link
from shared.observability import logger

REGION = "us-east-1"
# The local stack's own IAM principal: moto accepts any keys, and the HTTP API accepts only these.
LOCAL_CALLER = Caller(
    access_key="AKIALOCALSTACK000001",
    secret_key="local-stack-secret-key-not-for-production",  # noqa: S106 - a fixed local test key
    arn=f"arn:aws:iam::{ACCOUNT_ID}:user/platform-backend",
)
REAL_XERO = {
    "XERO_LOGIN_URL": "https://login.xero.com",
    "XERO_IDENTITY_URL": "https://identity.xero.com",
    "XERO_API_URL": "https://api.xero.com",
}


@dataclass(frozen=True)
class XeroTarget:
    """Where the service finds Xero: real Xero (with your app's credentials) or the sandbox."""

    login_url: str
    identity_url: str
    api_url: str
    client_id: str
    client_secret: str

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> XeroTarget | None:
        """Real Xero when ``XERO_CLIENT_ID`` and ``XERO_CLIENT_SECRET`` are set, else None (the sandbox)."""
        client_id, secret = environ.get("XERO_CLIENT_ID", ""), environ.get("XERO_CLIENT_SECRET", "")
        if not client_id or not secret:
            return None
        urls = {name: environ.get(name) or default for name, default in REAL_XERO.items()}
        return cls(urls["XERO_LOGIN_URL"], urls["XERO_IDENTITY_URL"], urls["XERO_API_URL"], client_id, secret)


# The functions with an SQS event source, polled by the local stack.
# Each function polled, and the queue it polls (a function may have several).
QUEUE_FUNCTIONS = (
    ("IntakeFunction", "InvoiceQueue"),
    ("IntakeFunction", "WakeQueue"),
    ("PushFunction", "FlushQueue"),
    ("AlertsFunction", "AlertQueue"),
    ("ReconcileFunction", "ReconcileQueue"),
)
LOCAL_COALESCE_SECONDS = "1"


@functools.cache
def _template_view() -> tuple[dict[str, FunctionSpec], tuple[Route, ...], dict[str, EventSourceMapping]]:
    """What the stack reads from template.yaml, parsed once per process (parsing it takes ~0.1 s)."""
    template = load_template()
    mappings = {queue: EventSourceMapping.from_template(name, template, queue=queue) for name, queue in QUEUE_FUNCTIONS}
    return template_functions(template), tuple(template_routes()), mappings


class _Servers:
    """Loopback WSGI servers whose open keep-alive connections are closed when they stop."""

    def __init__(self) -> None:
        self._connections: set[tuple[socket.socket, threading.Thread]] = set()
        self._lock = threading.Lock()

    def handler(self, base: type[WSGIRequestHandler]) -> type[WSGIRequestHandler]:
        servers = self

        class Tracked(base):  # type: ignore[valid-type,misc]
            def setup(self) -> None:
                super().setup()
                with servers._lock:
                    servers._connections.add((self.connection, threading.current_thread()))

            def finish(self) -> None:
                with servers._lock:
                    servers._connections.discard((self.connection, threading.current_thread()))
                super().finish()

            def log_request(self, *args: Any, **kwargs: Any) -> None:
                """Quiet: the handlers log every request themselves."""

        return Tracked

    def close_connections(self) -> None:
        with self._lock:
            open_connections = list(self._connections)
        for sock, _ in open_connections:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for _, thread in open_connections:
            thread.join(timeout=5)


class LocalStack:
    """The service with every collaborator on loopback; a context manager that stops cleanly."""

    def __init__(
        self,
        *,
        moto_endpoint: str | None = None,
        sandbox: SandboxServer | None = None,
        xero: XeroTarget | None = None,
        api_port: int = 0,
        api_host: str = "127.0.0.1",
        region: str = REGION,
        prefix: str | None = None,
        parameters: dict[str, str] | None = None,
        poll_seconds: int = 1,
        caller: Caller = LOCAL_CALLER,
    ) -> None:
        self.region = region
        self.prefix = prefix or f"local-{uuid.uuid4().hex[:8]}"
        self.caller = caller
        self.xero = xero
        self._given_moto = moto_endpoint
        self._given_sandbox = sandbox
        self._api_port = api_port
        self._api_host = api_host
        self._parameters = parameters or {}
        self._poll_seconds = poll_seconds
        self._servers = _Servers()
        self._saved_env: dict[str, str | None] = {}
        self._stoppers: list[Callable[[], None]] = []
        self._clients: list[SignedClient] = []
        self.functions, self._routes, self._mappings = _template_view()
        self.moto_endpoint = ""
        self.sandbox: SandboxServer | None = None
        self.api_url = ""
        self.resources: LocalResources
        self.environment: dict[str, str] = {}
        self.verifier = SigV4Verifier([caller], region=region)
        self.intake_runner: SqsRunner  # the intake's, on the platform's queue
        self.wake_runner: SqsRunner  # the intake's, on the wake-ups of organisations waiting for a retry
        self.runner: SqsRunner  # the push's, on the flush tickets
        self.alert_runner: SqsRunner  # the alerts function's
        self.mailbox: Mailbox
        self.status_tap: StatusTap

    # --- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self._set_env(
            {
                "AWS_ACCESS_KEY_ID": self.caller.access_key,
                "AWS_SECRET_ACCESS_KEY": self.caller.secret_key,
                "AWS_SESSION_TOKEN": self.caller.session_token,
                "AWS_PROFILE": None,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region,
            }
        )
        self._start_moto()
        self._start_xero()
        self._start_api()
        params = dict(self._parameters)
        if self.xero is not None:
            params |= {"XeroClientId": self.xero.client_id, "XeroClientSecret": self.xero.client_secret}
        self.resources = create_resources(params, prefix=self.prefix, region=self.region)
        xero_urls = (
            {"XERO_LOGIN_URL": self.xero.login_url, "XERO_IDENTITY_URL": self.xero.identity_url}
            | {"XERO_API_URL": self.xero.api_url}
            if self.xero is not None
            else dict.fromkeys(REAL_XERO, self.sandbox_url)
        )
        # A flush waits LOCAL_COALESCE_SECONDS (not the deployed 20 s) for more events to fill a batch.
        self.environment = self.resources.environment | xero_urls | {"PUSH_COALESCE_SECONDS": LOCAL_COALESCE_SECONDS}
        self._set_env(dict(self.environment))
        self._reset_wiring()
        self.mailbox = Mailbox(self.region)
        self.status_tap = StatusTap(self.resources.status_event_bus, prefix=self.prefix, region=self.region)
        self._start_runner()

    def stop(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()
        while self._stoppers:
            stopper = self._stoppers.pop()
            with suppress(Exception):
                stopper()
        self._servers.close_connections()
        self._reset_wiring()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()

    def _set_env(self, values: Mapping[str, str | None]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    @staticmethod
    def _reset_wiring() -> None:
        wiring.reset()

    def _start_moto(self) -> None:
        if self._given_moto:
            self.moto_endpoint = self._given_moto
        else:
            # moto with DynamoDB's conditional writes atomic, as the service's locks need
            server = MotoServer(wrap_handler=self._servers.handler).start()
            self._stoppers.append(server.stop)
            self.moto_endpoint = server.url
        self._set_env({"AWS_ENDPOINT_URL": self.moto_endpoint})
        self.sqs = boto3.client("sqs", region_name=self.region)

    def _start_xero(self) -> None:
        if self.xero is not None:
            return
        if self._given_sandbox is not None:
            self.sandbox = self._given_sandbox
        else:
            self.sandbox = SandboxServer().start()
            self._stoppers.append(self.sandbox.stop)

    def _start_api(self) -> None:
        api = HttpApi(
            list(self._routes),
            authorize=self.verifier,
            context_factory=lambda route: context_for(self.functions[route.function], self.prefix, self.region),
        )
        server = LoopbackServer(
            api,
            name="local-http-api",
            port=self._api_port,
            request_handler=self._servers.handler(WSGIRequestHandler),
            poll_interval=0.05,
        ).start()
        self._stoppers.append(server.stop)
        port = server.port
        self.api_url = f"http://{self._api_host}:{port}"
        if self.sandbox is not None:
            # The sandbox's Xero app accepts the local callback, under either loopback name.
            redirect_uris = [f"http://{host}:{port}/xero/callback" for host in ("127.0.0.1", "localhost")]
            app = {
                "client_id": LOCAL_PARAMETERS["XeroClientId"],
                "client_secret": LOCAL_PARAMETERS["XeroClientSecret"],
                "redirect_uris": redirect_uris,
            }
            httpx.post(f"{self.sandbox.url}/_sandbox/apps", json=app, timeout=10).raise_for_status()

    def _start_runner(self) -> None:
        self.intake_runner = self._poll("IntakeFunction", "InvoiceQueue")
        self.wake_runner = self._poll("IntakeFunction", "WakeQueue")
        self.runner = self._poll("PushFunction", "FlushQueue")
        self.alert_runner = self._poll("AlertsFunction", "AlertQueue")
        self.reconcile_runner = self._poll("ReconcileFunction", "ReconcileQueue")

    def _poll(self, function: str, queue: str) -> SqsRunner:
        """Lambda's SQS poller for ``function`` on ``queue``: its batch size, window and failure reporting."""
        spec = self.functions[function]
        queue_url = self.resources.physical[queue]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        runner = SqsRunner(
            self.sqs,
            queue_url=queue_url,
            queue_arn=queue_arn,
            region=self.region,
            handler=spec.load(),
            mapping=self._mappings[queue],
            context_factory=lambda: context_for(spec, self.prefix, self.region),
            poll_seconds=self._poll_seconds,
            name=f"sqs-runner-{function}-{queue}",
        ).start()
        self._stoppers.append(runner.stop)
        return runner

    # --- addresses -------------------------------------------------------------------------------

    @property
    def sandbox_url(self) -> str:
        return self.sandbox.url if self.sandbox is not None else ""

    @property
    def connect_url(self) -> str:
        return f"{self.api_url}/xero/connect"

    @property
    def callback_url(self) -> str:
        return f"{self.api_url}/xero/callback"

    @property
    def settings_url(self) -> str:
        return f"{self.api_url}/xero/settings/open"

    @property
    def management_url(self) -> str:
        return f"{self.api_url}/v1"

    @property
    def queue_url(self) -> str:
        return self.resources.queue_url

    @property
    def dead_letter_queue_url(self) -> str:
        return self.resources.dead_letter_queue_url

    @property
    def flush_queue_url(self) -> str:
        return self.resources.flush_queue_url

    @property
    def alert_queue_url(self) -> str:
        return self.resources.alert_queue_url

    @property
    def alert_dead_letter_queue_url(self) -> str:
        return self.resources.alert_dead_letter_queue_url

    # --- what a platform backend does ------------------------------------------------------------

    def connect_link_secret(self) -> str:
        secrets = boto3.client("secretsmanager", region_name=self.region)
        value: str = secrets.get_secret_value(SecretId=self.environment["CONNECT_LINK_SECRET_ARN"])["SecretString"]
        return value

    def connect_link(self, account_id: str, ttl_seconds: int = 300) -> str:
        """A signed connect link for ``account_id``, as the platform gives its signed-in user."""
        return sign_connect_link(self.connect_url, self.connect_link_secret(), account_id, ttl_seconds)

    def settings_link(self, account_id: str, ttl_seconds: int = 300) -> str:
        """A signed link to the settings page for ``account_id``, as the platform gives its signed-in user."""
        return sign_settings_link(self.settings_url, self.connect_link_secret(), account_id, ttl_seconds)

    def client(self) -> SignedClient:
        """A management API client signing with the local credentials (closed when the stack stops)."""
        client = SignedClient(self.api_url, self.caller, region=self.region)
        self._clients.append(client)
        return client

    def publish(self, body: str, *, attributes: dict[str, Any] | None = None, delay_seconds: int = 0) -> str:
        """Send one event to the invoice queue, as the platform's publisher does; its message id."""
        args: dict[str, Any] = {"QueueUrl": self.queue_url, "MessageBody": body, "DelaySeconds": delay_seconds}
        if attributes:
            args["MessageAttributes"] = attributes
        message_id: str = self.sqs.send_message(**args)["MessageId"]
        return message_id

    def wait_until_drained(self, timeout: float = 20) -> QueueDepth:
        """Wait until the platform's queue, the flush tickets and the alert queue (the emails the events
        caused) are all empty; the last depth seen (of the first that is not empty in time)."""
        deadline = time.monotonic() + timeout
        while True:
            for runner in (self.intake_runner, self.wake_runner, self.runner, self.alert_runner):
                depth = runner.wait_until_drained(max(0.0, deadline - time.monotonic()))
                if not depth.drained:
                    return depth
            # A flush may have sent events back through the intake (an account that moved): go round again.
            if all(r.depth().drained for r in (self.intake_runner, self.wake_runner, self.runner, self.alert_runner)):
                return depth

    def dead_letters(self, queue_url: str | None = None) -> list[dict[str, Any]]:
        """Every message in a dead-letter queue (the invoice queue's unless told), left there (each is
        received once and released)."""
        dead_letter_url = queue_url or self.dead_letter_queue_url
        seen: dict[str, Any] = {}
        while True:
            answer = self.sqs.receive_message(
                QueueUrl=dead_letter_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0,
                VisibilityTimeout=30,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            messages: list[Any] = list(answer.get("Messages", []))
            if not messages:
                break
            for message in messages:
                seen[message["MessageId"]] = message
        for message in seen.values():
            self.sqs.change_message_visibility(
                QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return list(seen.values())

    def alert_dead_letters(self) -> list[dict[str, Any]]:
        """Every alert email that could not be sent, with its ``failure_code`` and ``failure_reason``."""
        return self.dead_letters(self.alert_dead_letter_queue_url)

    def run_sweep(self, now: datetime | None = None) -> Any:
        """Invoke the sweep as its daily EventBridge schedule does, on the day ``now`` says."""
        now = now or datetime.now(UTC)
        stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        spec = self.functions["SweepFunction"]
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT_ID,
            "time": stamp,
            "region": self.region,
            "resources": [f"arn:aws:events:{self.region}:{ACCOUNT_ID}:rule/{self.prefix}-SweepFunctionDaily"],
            "detail": {"now": stamp},
        }
        return spec.load()(event, context_for(spec, self.prefix, self.region))

    def run_reconciliation(self, kind: str = "full") -> Any:
        """Invoke the reconcile function as its schedule does (``full`` weekly, ``recent`` daily): one run
        per connected account is queued, and the stack's poller runs them."""
        spec = self.functions["ReconcileFunction"]
        return spec.load()({"reconcile": kind}, context_for(spec, self.prefix, self.region))

    def sent_mail(self, since: int | None = None) -> list[SentMail]:
        return self.mailbox.sent(since)

    def status_events(self) -> list[StatusEvent]:
        """The sync-status events sent to the stack's bus so far, as the platform receives them."""
        return self.status_tap.events()

    # --- make local ------------------------------------------------------------------------------

    def describe(self) -> str:
        """What a person needs to use the running stack."""
        env = (
            f"AWS_ENDPOINT_URL={self.moto_endpoint} AWS_ACCESS_KEY_ID={self.caller.access_key} "
            f"AWS_SECRET_ACCESS_KEY={self.caller.secret_key} AWS_DEFAULT_REGION={self.region}"
        )
        secret_arn = self.environment["CONNECT_LINK_SECRET_ARN"]
        sample = self.connect_link("acct-demo", 900)
        settings_sample = self.settings_link("acct-demo", 900)
        xero = (
            f"Xero sandbox     {self.sandbox_url}   (inspect: {self.sandbox_url}/_sandbox/)"
            if self.sandbox is not None
            else f"Xero             {self.environment['XERO_API_URL']} (real Xero; register {self.callback_url})"
        )
        return "\n".join(
            [
                f"Local stack {self.prefix} is running.",
                f"HTTP API         {self.api_url}",
                f"Connect URL      {self.connect_url}?account_id=<id>&expires=<unix time>&signature=<hex>",
                f"  e.g. (15 min)  {sample}",
                "  signature = HMAC-SHA256(connect-link secret, 'v1\\n<account_id>\\n<expires>'), hex;",
                f"  the secret:    aws secretsmanager get-secret-value --secret-id {secret_arn}",
                "  or in Python:  shared.connect_link.sign_connect_link(connect_url, secret, account_id)",
                f"Settings page    {self.settings_url}?account_id=<id>&expires=<unix time>&signature=<hex>",
                f"  e.g. (15 min)  {settings_sample}",
                "  signature = HMAC-SHA256(the same secret, 'settings-v1\\n<account_id>\\n<expires>'), hex;",
                "  a link opens one session; 'settings [account]' prints a fresh one",
                f"Callback URL     {self.callback_url}",
                f"Management API   {self.management_url}  (SigV4, service execute-api, region {self.region})",
                f"  curl --aws-sigv4 'aws:amz:{self.region}:execute-api' "
                f"--user '{self.caller.access_key}:{self.caller.secret_key}' "
                f"{self.management_url}/accounts/acct-demo/connection",
                xero,
                f"AWS (moto)       {self.moto_endpoint}   (dashboard: {self.moto_endpoint}/moto-api/)",
                f"Invoice queue    {self.queue_url}",
                f"Dead letters     {self.dead_letter_queue_url}",
                f"Alert queue      {self.alert_queue_url}  (dead letters: {self.alert_dead_letter_queue_url})",
                "Publish an event:",
                f"  {env} \\",
                f"    aws sqs send-message --queue-url {self.queue_url} --message-body file://events/messages/<file>.json",
                "  or boto3.client('sqs').send_message(QueueUrl=..., MessageBody=...) with the same environment.",
                f"Status events    bus {self.resources.status_event_bus} (source xero-invoice-sync)",
                "Commands: 'sweep [YYYY-MM-DD]' runs the inactivity sweep, 'mail' lists sent emails,",
                "          'dlq' lists dead letters, 'depth' shows the queue, 'events' lists the sync-status",
                "          events sent, 'settings [account]' prints a settings link, 'reconcile [full|recent]'",
                "          checks every connected account against Xero; Ctrl-C stops everything.",
            ]
        )

    def command(self, line: str) -> str:
        """One ``make local`` console command, answered as text."""
        words = line.split()
        if not words:
            return ""
        if words[0] == "sweep":
            now = datetime.fromisoformat(words[1]).replace(tzinfo=UTC) if len(words) > 1 else None
            return f"sweep: {json.dumps(self.run_sweep(now), default=str)}"
        if words[0] == "reconcile":
            kind = words[1] if len(words) > 1 and words[1] in ("full", "recent") else "full"
            return f"reconcile: {json.dumps(self.run_reconciliation(kind))} (runs on the reconcile queue)"
        if words[0] == "mail":
            mails = self.sent_mail()
            lines = [f"{len(mails)} email(s) sent"]
            for mail in mails:
                lines.append(f"- to {', '.join(mail.to)}: {mail.subject}")
                lines += [f"    {text}" for text in mail.first_lines()]
            return "\n".join(lines)
        if words[0] == "dlq":
            letters = self.dead_letters()
            alerts = self.alert_dead_letters()
            lines = [f"{len(letters)} dead letter(s)"] + [f"- {m['MessageId']}: {m['Body'][:200]}" for m in letters]
            lines += [f"{len(alerts)} alert email(s) not sent"]
            lines += [f"- {m['MessageId']}: {_reason(m)}" for m in alerts]
            return "\n".join(lines)
        if words[0] == "depth":
            lines = []
            for name, runner in (("events", self.intake_runner), ("flush tickets", self.runner)):
                depth = runner.depth()
                lines.append(f"{name}: visible {depth.visible}, in flight {depth.in_flight}, delayed {depth.delayed}")
            return "\n".join(lines)
        if words[0] == "events":
            sent = self.status_events()
            lines = [f"{len(sent)} sync-status event(s) sent"]
            return "\n".join(lines + [f"- {e.detail_type}: {json.dumps(e.detail, sort_keys=True)}" for e in sent])
        if words[0] == "settings":
            account = words[1] if len(words) > 1 else "acct-demo"
            return f"settings page for {account} (15 min, opens one session): {self.settings_link(account, 900)}"
        return (
            f"unknown command {words[0]!r}: sweep [YYYY-MM-DD], reconcile [full|recent], mail, dlq, depth, events, "
            "settings [account]"
        )


def _reason(message: dict[str, Any]) -> str:
    attributes = message.get("MessageAttributes", {})
    code = attributes.get("failure_code", {}).get("StringValue", "")
    return f"{code}: {attributes.get('failure_reason', {}).get('StringValue', '')}"


@contextmanager
def handler_logs(stream: TextIO) -> Iterator[None]:
    """Send the handlers' log lines (the Powertools logger) to ``stream`` meanwhile."""
    handler = logger.registered_handler
    previous = handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]


def main() -> int:  # pragma: no cover - interactive; LocalStack and its commands are tested
    port = int(os.environ.get("LOCAL_API_PORT", "0"))
    xero = XeroTarget.from_environment(os.environ)
    host = "localhost" if xero is not None else "127.0.0.1"
    with LocalStack(xero=xero, api_port=port, api_host=host) as stack:
        print(stack.describe(), flush=True)
        try:
            for line in sys.stdin:
                answer = stack.command(line)
                if answer:
                    print(answer, flush=True)
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("\nStopping the local stack.", flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
