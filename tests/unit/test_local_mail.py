"""Reading moto's record of sent emails: simple HTML, simple text, raw MIME."""

from __future__ import annotations

from email.message import EmailMessage
from types import SimpleNamespace

from local.mail import html_to_text, parse


def test_a_simple_html_email_reads_as_its_text():
    message = SimpleNamespace(
        source="alerts@x.example",
        destinations={"ToAddresses": ["a@x.example"], "CcAddresses": ["c@x.example"]},
        subject="Reconnect Xero",
        body="<html><head><style>p{}</style></head><body><h1>Hi</h1><p>Fish &amp; chips<br>now</p></body></html>",
    )

    mail = parse(message)

    assert mail.to == ("a@x.example",)
    assert mail.text == "Hi\nFish & chips\nnow"
    assert mail.first_lines(2) == ["Hi", "Fish & chips"]
    assert mail.html is not None


def test_a_simple_text_email_is_kept_as_is():
    message = SimpleNamespace(source="s", destinations={"ToAddresses": ["a"]}, subject="S", body="line 1\nline 2")

    assert parse(message).text == "line 1\nline 2"
    assert parse(message).html is None


def test_a_raw_email_without_a_text_part_reads_from_its_html():
    raw = EmailMessage()
    raw["From"], raw["Subject"] = "alerts@x.example", "Only HTML"
    raw.set_content("<p>First</p><p>Second</p>", subtype="html")
    message = SimpleNamespace(source="alerts@x.example", destinations=["z@x.example"], raw_data=raw.as_string())

    mail = parse(message)

    assert mail.to == ("z@x.example",)
    assert mail.subject == "Only HTML"
    assert mail.first_lines() == ["First", "Second"]


def test_templated_emails_name_their_template():
    message = SimpleNamespace(source="s", destinations={"ToAddresses": ["a"]}, template="warn", template_data="{}")

    assert parse(message).subject == "(template warn)"


def test_scripts_never_reach_the_text():
    assert html_to_text("<script>alert(1)</script><p>ok</p>") == "ok"
