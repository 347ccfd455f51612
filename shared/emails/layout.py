"""One layout for every alert email, rendered from the same blocks to HTML and to plain text.

Builders hand over plain strings only; escaping happens here, once, for every value: invoice
numbers, organisation names and Xero's messages are user data and must never become markup.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from string import Template

from shared.adapters.mailer import OutgoingEmail


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Facts:
    """Label and value rows, e.g. ("Invoice", "INV-0042")."""

    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Button:
    label: str
    url: str


Block = Paragraph | Bullets | Facts | Button


@dataclass(frozen=True)
class Message:
    brand: str
    subject: str
    heading: str
    blocks: tuple[Block, ...]
    footer: str = field(default="")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_FONT = "font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
_PAGE = Template(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
</head>
<body style="margin:0;padding:0;background:#f4f5f7;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f4f5f7;">
<tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" style="max-width:600px;width:100%;\
background:#ffffff;border:1px solid #e4e7eb;border-radius:8px;">
<tr><td style="padding:28px 32px 8px;$font;font-size:15px;line-height:1.55;color:#1f2933;">
<p style="margin:0 0 18px;font-size:13px;font-weight:600;letter-spacing:.02em;color:#52606d;">$brand</p>
<h1 style="margin:0 0 18px;font-size:21px;line-height:1.3;color:#1f2933;">$heading</h1>
$body
</td></tr>
<tr><td style="padding:16px 32px 24px;border-top:1px solid #e4e7eb;$font;font-size:12px;line-height:1.5;\
color:#7b8794;">$footer</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
"""
)


def render(message: Message) -> OutgoingEmail:
    return OutgoingEmail(subject=_subject(message.subject), html=render_html(message), text=render_text(message))


def render_html(message: Message) -> str:
    body = "\n".join(_html_block(block) for block in message.blocks)
    return _PAGE.substitute(
        title=_e(message.subject),
        brand=_e(message.brand),
        heading=_e(message.heading),
        body=body,
        footer=_e(message.footer),
        font=_FONT,
    )


def render_text(message: Message) -> str:
    lines = [message.heading, "=" * min(len(message.heading), 72), ""]
    for block in message.blocks:
        lines += [*_text_block(block), ""]
    if message.footer:
        lines += ["--", message.footer]
    return "\n".join(lines).rstrip() + "\n"


def safe_url(url: str) -> str | None:
    """Only absolute http(s) links are ever put in an email."""
    url = url.strip()
    return url if re.match(r"^https?://[^\s<>\"']+$", url) else None


def _e(value: str) -> str:
    return html.escape(value, quote=True)


def _subject(value: str) -> str:
    # A subject is one line: no header folding tricks from user data.
    return _CONTROL.sub(" ", value).strip()[:200]


def _html_block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return f'<p style="margin:0 0 16px;">{_e(block.text)}</p>'
    if isinstance(block, Bullets):
        items = "".join(f'<li style="margin:0 0 8px;">{_e(item)}</li>' for item in block.items)
        return f'<ul style="margin:0 0 16px;padding-left:22px;">{items}</ul>'
    if isinstance(block, Facts):
        rows = "".join(
            f'<tr><td style="padding:4px 16px 4px 0;color:#52606d;vertical-align:top;white-space:nowrap;">{_e(label)}'
            f'</td><td style="padding:4px 0;vertical-align:top;">{_e(value)}</td></tr>'
            for label, value in block.rows
        )
        return (
            '<table role="presentation" cellpadding="0" cellspacing="0" '
            f'style="margin:0 0 18px;font-size:14px;">{rows}</table>'
        )
    url = safe_url(block.url)
    if url is None:
        return f'<p style="margin:0 0 16px;">{_e(block.label)}</p>'
    return (
        f'<p style="margin:8px 0 22px;"><a href="{_e(url)}" style="display:inline-block;padding:11px 20px;'
        'background:#1b6ac9;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600;">'
        f"{_e(block.label)}</a></p>"
    )


def _text_block(block: Block) -> list[str]:
    if isinstance(block, Paragraph):
        return [block.text]
    if isinstance(block, Bullets):
        return [f"- {item}" for item in block.items]
    if isinstance(block, Facts):
        return [f"{label}: {value}" for label, value in block.rows]
    url = safe_url(block.url)
    return [f"{block.label}: {url}"] if url else [block.label]
