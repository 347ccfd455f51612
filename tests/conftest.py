"""Fixtures shared by every tier: moto's server on loopback, template resources, the Xero sandbox."""

from __future__ import annotations

import io
import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from local.aws_resources import LocalResources, create_resources
from local.moto_server import MotoServer
from local.xero_sandbox import SandboxServer
from local.xero_sandbox.state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from shared import wiring

LOCAL_API_DOMAIN = "127.0.0.1:3000"
CALLBACK_URL = f"http://{LOCAL_API_DOMAIN}/xero/callback"
AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # moto's convention; not a real secret
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_METRICS_NAMESPACE": "XeroInvoiceSyncTests",
    "POWERTOOLS_SERVICE_NAME": "xero-invoice-sync",
    "POWERTOOLS_DEV": "false",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test ever reaches real AWS: credentials are fake and endpoints point nowhere useful."""
    for name, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port, unless moto is started
    wiring.reset()
    yield
    wiring.reset()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    # local.moto_server: moto's server with DynamoDB's conditional writes atomic again (plain moto races).
    with MotoServer() as server:
        yield server.url


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    return moto_endpoint


@pytest.fixture
def resources(aws: str) -> LocalResources:
    """The template's data resources, freshly created under a unique prefix for this test."""
    return create_resources(prefix=f"t{uuid.uuid4().hex[:10]}")


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        server.sandbox.state.add_app(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, {CALLBACK_URL})
        yield server
        assert_no_spec_violations(server)


def assert_no_spec_violations(server: SandboxServer) -> None:
    """Any request body Xero's OpenAPI file rejects fails the test that sent it. A test that sends bad
    bodies on purpose takes them first: ``sandbox.sandbox.spec.take()``."""
    violations = server.sandbox.spec.take()
    if violations:
        lines = [f"{v.method} {v.path}: {e['path']}: {e['message']}" for v in violations for e in v.errors]
        pytest.fail("request bodies the Xero OpenAPI spec rejects:\n" + "\n".join(lines), pytrace=False)


@pytest.fixture
def service_env(resources: LocalResources, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The functions' environment from template.yaml, with Xero pointed at the sandbox."""
    env = dict(resources.environment)
    env |= {"XERO_LOGIN_URL": sandbox.url, "XERO_IDENTITY_URL": sandbox.url, "XERO_API_URL": sandbox.url}
    env |= {"PUSH_COALESCE_SECONDS": "0"}  # flushes go at once; tests of the wait set their own
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    return env


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.path)
        if f"{os.sep}integration{os.sep}" in path:
            item.add_marker(pytest.mark.integration)
        elif f"{os.sep}e2e{os.sep}" in path:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything the service logs, formatted exactly as Lambda would ship it (JSON, redacted)."""
    from shared.observability import logger

    buffer = io.StringIO()
    handler = logger.registered_handler
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    level = logger.log_level
    logger.setLevel("DEBUG")
    try:
        yield buffer
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]
        logger.setLevel(level)


@pytest.fixture
def local_stack(aws: str, sandbox: SandboxServer) -> Iterator[Any]:
    """The whole local stack (HTTP API with SigV4, SQS poller, sweep, SES mail) on the session's moto server
    and this test's sandbox; a :class:`local.stack.LocalStack`, stopped (nothing left running) afterwards."""
    from local.stack import LocalStack

    with LocalStack(moto_endpoint=aws, sandbox=sandbox, poll_seconds=0) as stack:
        yield stack
