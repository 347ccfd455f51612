"""Sending email through SES (v2): the one place that knows SES's API and its failures.

Throttling, SES's 5xx answers and an unreachable endpoint are retried here a few times with
exponential backoff (the client is built without botocore's own retries so the attempts are counted
in one place and tests need not sleep); what still fails becomes :class:`AlertDeliveryFailed`,
which callers treat as "try again later". A refusal (unverified sender, paused account, bad address)
becomes :class:`AlertRejected` at once: the same request would be refused again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import formataddr
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import AlertDeliveryFailed, AlertRejected

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
    }
)
MAX_RECIPIENTS = 50  # SES's limit per message


@dataclass(frozen=True)
class OutgoingEmail:
    subject: str
    html: str
    text: str


class Mailer:
    def __init__(
        self,
        client: SESV2Client,
        sender: str,
        *,
        sender_name: str = "",
        attempts: int = 4,
        base_delay: float = 0.25,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._from = formataddr((sender_name, sender)) if sender_name else sender
        self._attempts = max(1, attempts)
        self._base_delay = base_delay
        self.sleep = sleep  # public: tests record the backoff instead of waiting it out

    def send(self, recipients: Sequence[str], email: OutgoingEmail) -> str:
        """Send one message to ``recipients``; returns SES's message id."""
        if not recipients:
            raise ValueError("an email needs at least one recipient")
        last: Exception | None = None
        for attempt in range(self._attempts):
            if attempt:
                self.sleep(self._base_delay * 2 ** (attempt - 1))
            try:
                answer = self._client.send_email(
                    FromEmailAddress=self._from,
                    Destination={"ToAddresses": list(recipients[:MAX_RECIPIENTS])},
                    Content={
                        "Simple": {
                            "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                            "Body": {
                                "Text": {"Data": email.text, "Charset": "UTF-8"},
                                "Html": {"Data": email.html, "Charset": "UTF-8"},
                            },
                        }
                    },
                )
            except ClientError as exc:
                if not _retryable(exc):
                    raise AlertRejected(f"SES refused the email: {_code(exc)}") from exc
                last = exc
            except BotoCoreError as exc:
                last = exc
            else:
                return answer.get("MessageId", "")
        reason = _code(last) if isinstance(last, ClientError) else type(last).__name__
        raise AlertDeliveryFailed(f"SES did not accept the email after {self._attempts} tries: {reason}") from last


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "unknown"))


def _retryable(exc: ClientError) -> bool:
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return _code(exc) in RETRYABLE_CODES or status >= 500 or status == 429
