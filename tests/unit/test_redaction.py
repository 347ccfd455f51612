from __future__ import annotations

import io
import json
import logging

from shared.observability import RedactingFormatter
from shared.redaction import REDACTED, redact, redact_text

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVl"


def test_jwts_bearer_credentials_and_query_secrets_are_scrubbed_from_text():
    text = f"token {JWT} header Bearer abcdefghijkl url /cb?code=xyz123&state=s1&scope=openid"

    scrubbed = redact_text(text)

    assert JWT not in scrubbed
    assert "abcdefghijkl" not in scrubbed
    assert "xyz123" not in scrubbed
    assert "code=[redacted]" in scrubbed
    assert "scope=openid" in scrubbed, "harmless parameters stay readable"


def test_secret_named_keys_are_scrubbed_at_any_depth():
    value = {"a": {"refresh_token": "r1", "Authorization": "Basic xyz"}, "list": [{"client_secret": "c"}], "n": 3}

    assert redact(value) == {
        "a": {"refresh_token": REDACTED, "Authorization": REDACTED},
        "list": [{"client_secret": REDACTED}],
        "n": 3,
    }


def test_the_log_formatter_redacts_messages_extras_and_exceptions():
    stream = io.StringIO()
    log = logging.getLogger("redaction-test")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter())
    log.addHandler(handler)
    try:
        try:
            raise ValueError(f"failed with {JWT}")
        except ValueError:
            log.exception("call failed ?code=abc", extra={"access_token": "plain-access", "ok": "visible"})
    finally:
        log.removeHandler(handler)

    line = stream.getvalue()
    record = json.loads(line)
    assert JWT not in line
    assert "plain-access" not in line
    assert "code=abc" not in line
    assert record["ok"] == "visible"
