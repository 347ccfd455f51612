"""No secret and no token in any log line, whatever the log level: the root logger at DEBUG (as someone
debugging in production might set it) while the service reads its secrets from Secrets Manager,
connects an account, refreshes its token and calls Xero."""

from __future__ import annotations

import base64
import io
import json
import logging
import time
from collections.abc import Iterator

import boto3
import pytest

from local.xero_sandbox.seed import NZ_TENANT
from shared import wiring
from shared.observability import logger
from tests.support import flows

ACCOUNT = "acct_logs"


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """``logging.basicConfig(level=DEBUG)`` with a handler writing to a buffer; put back afterwards."""
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, list(root.handlers)
    buffer = io.StringIO()
    logging.basicConfig(
        level=logging.DEBUG,
        handlers=[logging.StreamHandler(buffer)],
        format="%(levelname)s %(name)s %(message)s",
        force=True,
    )
    try:
        yield buffer
    finally:
        for handler in root.handlers:
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)


def expire_access_token(table: str) -> None:
    boto3.client("dynamodb").update_item(
        TableName=table,
        Key={"pk": {"S": f"ACCOUNT#{ACCOUNT}"}, "sk": {"S": "CONNECTION"}},
        UpdateExpression="SET access_expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 5)}},
    )


def forms(value: str) -> set[str]:
    """A value as it would show in a log: itself, JSON-escaped, base64 (KMS and SigV4 bodies carry that)."""
    return {value, json.dumps(value)[1:-1], base64.b64encode(value.encode()).decode()}


def test_debug_logs_never_show_the_secrets_read_or_the_tokens(service_env, resources, sandbox, debug_log):
    sandbox.sandbox.state.consent.tenant_ids = [NZ_TENANT]
    settings = wiring.settings()

    credentials = wiring.secrets().xero_credentials(settings.xero_app_secret_arn)
    link_secret = wiring.secrets().text(settings.connect_link_secret_arn)
    assert flows.connect_account(service_env, ACCOUNT).callback is not None
    tokens = wiring.token_manager()
    connection = wiring.connections().get(ACCOUNT)
    assert connection is not None
    first = (tokens.access(ACCOUNT).access_token, tokens.refresh_token(connection))
    expire_access_token(resources.table_name)
    access = tokens.access(ACCOUNT)  # refreshed at the sandbox's token endpoint, under the lock
    organisation = wiring.xero().get(access.access_token, NZ_TENANT, "Organisation")
    refreshed = wiring.connections().get(ACCOUNT)
    assert refreshed is not None
    second = (access.access_token, tokens.refresh_token(refreshed))

    text = debug_log.getvalue()
    assert organisation["Organisations"][0]["Name"] == "Demo Company (NZ)"
    assert access.connection.token_version == 2, "the token was refreshed"
    assert "DEBUG botocore" in text, "the libraries did log at DEBUG meanwhile"
    secrets = {"client secret": credentials.client_secret.get_secret_value(), "connect-link secret": link_secret}
    secrets |= {"first access token": first[0], "first refresh token": first[1]}
    secrets |= {"refreshed access token": second[0], "refreshed refresh token": second[1]}
    leaks = [name for name, value in secrets.items() for form in forms(value) if form in text]
    assert leaks == []


def test_a_secret_the_service_read_is_scrubbed_from_any_logger_and_traceback(service_env, debug_log, log_lines):
    link_secret = wiring.secrets().text(wiring.settings().connect_link_secret_arn)
    library = logging.getLogger("some.library")

    library.warning("calling with %s", link_secret)
    try:
        raise RuntimeError(f"refused {link_secret}")
    except RuntimeError:
        library.exception("failed")
        logger.exception("failed too: %s", link_secret)

    assert "calling with [redacted]" in debug_log.getvalue()
    assert "RuntimeError: refused [redacted]" in debug_log.getvalue()
    assert link_secret not in debug_log.getvalue()
    assert link_secret not in log_lines.getvalue(), "the service's own JSON logs"
    assert "failed too: [redacted]" in log_lines.getvalue()
