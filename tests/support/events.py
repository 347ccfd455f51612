"""Builders for handler events, starting from the samples in ``events/`` (which `sam local invoke` uses)."""

from __future__ import annotations

import copy
import hashlib
import json
import time
import uuid
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aws_lambda_powertools.utilities.typing import LambdaContext

EVENTS = Path(__file__).resolve().parents[2] / "events"


@cache
def _sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def sample(name: str) -> dict[str, Any]:
    return copy.deepcopy(_sample(name))


def http_event(
    sample_name: str,
    *,
    query: dict[str, str] | None = None,
    cookies: list[str] | None = None,
    domain: str | None = None,
) -> dict[str, Any]:
    """A copy of an HTTP API sample with its query string, cookies and domain replaced."""
    event = sample(sample_name)
    if query is not None:
        event["queryStringParameters"] = query or None
        event["rawQueryString"] = urlencode(query)
    if cookies is not None:
        event["cookies"] = cookies
    if domain is not None:
        event["requestContext"]["domainName"] = domain
        event["headers"]["host"] = domain
    return event


class FakeContext(LambdaContext):
    """A LambdaContext with the values a test invocation reports."""

    _function_name = "test-function"
    _function_version = "$LATEST"
    _invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    _memory_limit_in_mb = 512
    _aws_request_id = "00000000-0000-4000-8000-000000000000"
    _log_group_name = "/aws/lambda/test-function"
    _log_stream_name = "2026/11/25/[$LATEST]test"

    def __init__(self, remaining_ms: int = 30_000) -> None:
        self._remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return self._remaining_ms


def sqs_record(
    body: str, message_id: str | None = None, *, queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:InvoiceQueue"
) -> dict[str, Any]:
    """One record of an SQS event, as Lambda delivers it to the push function."""
    now = str(int(time.time() * 1000))
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": uuid.uuid4().hex,
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": now,
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": now,
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode("utf-8", "surrogatepass")).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "us-east-1",
    }
