from __future__ import annotations

import io
import json
import logging
from urllib.parse import quote, quote_plus

from shared.observability import WIRE_LOGGERS, RedactingFormatter, keep_secrets_out_of_logs
from shared.redaction import MAX_SECRETS, REDACTED, forget_secrets, redact, redact_text, register_secret

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


def test_a_registered_secret_is_scrubbed_in_every_form_it_can_take_in_text():
    secret = 's3cr3t/value+with spaces&"quotes"'
    register_secret(secret)

    for form in (secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)):
        assert redact_text(f"before {form} after") == f"before {REDACTED} after"
    assert redact({"nested": [f"x{secret}y"]}) == {"nested": [f"x{REDACTED}y"]}


def test_short_values_are_not_registered_and_the_registry_is_bounded():
    register_secret("true")
    register_secret("")
    register_secret(None)
    assert redact_text("true") == "true"

    try:
        for n in range(MAX_SECRETS + 10):
            register_secret(f"rotating-token-{n:05d}")
        assert redact_text("rotating-token-00000") == "rotating-token-00000", "the oldest were let go"
        assert redact_text(f"rotating-token-{MAX_SECRETS + 9:05d}") == REDACTED
    finally:
        forget_secrets()


def test_wire_loggers_drop_debug_records_whatever_their_level(capsys):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    wire = logging.getLogger("botocore.parsers")
    wire.addHandler(handler)
    wire.setLevel(logging.DEBUG)  # someone debugging sets it explicitly: still nothing below INFO
    try:
        wire.debug("Response body:\n%r", b'{"SecretString": "hunter2hunter2"}')
        wire.warning("kept")
    finally:
        wire.removeHandler(handler)
        keep_secrets_out_of_logs()

    assert stream.getvalue() == "kept\n"
    assert set(WIRE_LOGGERS) >= {"botocore.endpoint", "botocore.parsers", "botocore.auth", "httpcore.http11"}


def test_every_record_of_any_logger_is_scrubbed_as_it_is_made():
    register_secret("client-secret-value-1234")
    record = logging.getLogger("anything").makeRecord(
        "anything", logging.INFO, __file__, 1, "using %s and %s", ("client-secret-value-1234", JWT), None
    )

    assert record.getMessage() == f"using {REDACTED} and {REDACTED}"
    keep_secrets_out_of_logs()  # installing again does not wrap the factory twice
    assert not hasattr(logging.getLogRecordFactory().wrapped, "wrapped")  # type: ignore[attr-defined]
