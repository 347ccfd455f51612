"""The emails the service sent through SES, as moto recorded them.

The local stack runs moto's server in-process, so its SES backend is read directly (moto documents
``ses_backends[account][region].sent_messages`` as the way to check what was sent). SES v2's
``SendEmail`` lands there too: a simple message keeps its subject and one body (the HTML part when
there is one), a raw MIME message is kept whole and parsed here.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage
from html import unescape
from typing import Any

from moto.ses.models import ses_backends

DEFAULT_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class SentMail:
    sender: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None

    def first_lines(self, count: int = 3) -> list[str]:
        return [line.strip() for line in self.text.splitlines() if line.strip()][:count]


class Mailbox:
    """The messages sent in one region, from a position onwards (the stack marks where it started)."""

    def __init__(self, region: str = "us-east-1", account_id: str = DEFAULT_ACCOUNT) -> None:
        self._region = region
        self._account = account_id
        self._start = self.count()

    def _messages(self) -> list[Any]:
        messages: list[Any] = ses_backends[self._account][self._region].sent_messages
        return messages

    def count(self) -> int:
        return len(self._messages())

    def mark(self) -> int:
        """A position: :meth:`sent` with ``since`` set to it lists only what is sent afterwards."""
        return self.count()

    def sent(self, since: int | None = None) -> list[SentMail]:
        start = self._start if since is None else since
        return [parse(message) for message in list(self._messages())[start:]]


def parse(message: Any) -> SentMail:
    """One moto SES message (simple, raw or templated) as a reader sees it."""
    if hasattr(message, "raw_data"):
        return _parse_raw(message.source, list(message.destinations), message.raw_data)
    destinations = message.destinations
    to = tuple(destinations.get("ToAddresses", [])) if isinstance(destinations, dict) else tuple(destinations or ())
    if hasattr(message, "template"):
        return SentMail(message.source, to, f"(template {message.template})", str(message.template_data))
    body = str(message.body)
    if _looks_like_html(body):
        return SentMail(message.source, to, str(message.subject), html_to_text(body), body)
    return SentMail(message.source, to, str(message.subject), body)


def _parse_raw(source: str, destinations: list[str], raw: str) -> SentMail:
    parsed = email.message_from_string(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    to = tuple(a.strip() for a in str(parsed.get("To", "")).split(",") if a.strip()) or tuple(destinations)
    text_part = parsed.get_body(preferencelist=("plain",))
    html_part = parsed.get_body(preferencelist=("html",))
    html = html_part.get_content() if html_part is not None else None
    text = text_part.get_content() if text_part is not None else html_to_text(html or "")
    return SentMail(str(parsed.get("From", source)), to, str(parsed.get("Subject", "")), text, html)


def _looks_like_html(body: str) -> bool:
    return bool(re.search(r"<(html|body|p|div|table|br)\b", body, re.IGNORECASE))


def html_to_text(html: str) -> str:
    """Readable text from an HTML email: blocks become lines, tags and scripts go."""
    text = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", "", html)
    text = re.sub(r"(?i)<br\s*/?>|</(p|div|h[1-6]|li|tr|table)>", "\n", text)
    text = re.sub(r"<[^>]+>", "", text)
    lines = (re.sub(r"[ \t]+", " ", unescape(line)).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)
