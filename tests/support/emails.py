"""The emails moto's SES has accepted.

moto's server mode serves its whole state at ``/moto-api/data.json`` (:func:`sent_emails_over_http`,
for a moto server in another process, e.g. the local stack). That endpoint serialises every object
moto tracks, every DynamoDB item included, and costs a tenth of a second or more per call; the
tests' moto server runs in this process, so :func:`sent_emails` reads the same messages from its
SES backend directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

MOTO_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class SentEmail:
    source: str
    to: tuple[str, ...]
    subject: str
    body: str  # moto keeps the HTML part when there is one


def sent_emails(endpoint: str | None = None, *, to: str | None = None, region: str = "us-east-1") -> list[SentEmail]:
    """What the in-process moto server's SES accepted (``endpoint`` is accepted for symmetry, unused)."""
    from moto.ses.models import ses_backends

    backend = ses_backends[MOTO_ACCOUNT][region]
    emails = [
        SentEmail(m.source, tuple(m.destinations.get("ToAddresses", [])), m.subject, m.body)
        for m in list(backend.sent_messages)
        if hasattr(m, "subject")  # raw messages have no parsed subject; the service sends none
    ]
    return [e for e in emails if to is None or to in e.to]


def sent_emails_over_http(endpoint: str, *, to: str | None = None) -> list[SentEmail]:
    data = httpx.get(f"{endpoint}/moto-api/data.json", timeout=10).json()
    emails = [
        SentEmail(
            source=m["source"],
            to=tuple(m["destinations"].get("ToAddresses", [])),
            subject=m["subject"],
            body=m["body"],
        )
        for m in data.get("ses", {}).get("Message", [])
    ]
    return [e for e in emails if to is None or to in e.to]


class _Body:
    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Any:
        yield self._content


class SesOutage:
    """Makes SES answer SendEmail with an error (as AWS would) through botocore's own event hooks.

    ``fail_for`` limits it to messages addressed to one recipient; ``times`` to the first n sends.
    """

    def __init__(
        self,
        client: Any,
        *,
        status: int = 429,
        code: str = "TooManyRequestsException",
        fail_for: str | None = None,
        times: int | None = None,
    ) -> None:
        self.client = client
        self.status = status
        self.code = code
        self.fail_for = fail_for
        self.times = times
        self.failed = 0

    def __enter__(self) -> SesOutage:
        self.client.meta.events.register_first("before-send.sesv2.SendEmail", self._answer)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.meta.events.unregister("before-send.sesv2.SendEmail", self._answer)

    def _answer(self, request: Any, **_: Any) -> AWSResponse | None:
        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body)
        if self.fail_for is not None and self.fail_for not in body:
            return None
        if self.times is not None and self.failed >= self.times:
            return None
        self.failed += 1
        content = b'{"message":"injected by the test"}'
        headers = HTTPHeaders()
        headers["x-amzn-ErrorType"] = self.code
        headers["Content-Type"] = "application/json"
        return AWSResponse(request.url, self.status, headers, _Body(content))
