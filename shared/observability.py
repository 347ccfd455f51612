"""The one Logger and Metrics the service uses; every module imports them from here.

Tracing is X-Ray's active tracing set in template.yaml: the X-Ray SDK (Powertools' Tracer) is left
out because it adds to every cold start and the Lambda service already records each invocation.

No secret reaches a log, whatever the log level, in two ways installed here for the whole process
(every function imports this module):

- the loggers that write requests and responses, headers and bodies included, at DEBUG (botocore's
  endpoint, parsers and auth: GetSecretValue's SecretString, KMS's plaintext in base64, SigV4
  signatures and session tokens; urllib3's, httpcore's and hpack's traffic traces) emit nothing
  below INFO, even when someone sets them or the root logger to DEBUG;
- every log record, whichever logger emits it, has its message scrubbed by
  :func:`shared.redaction.redact_text`: token-shaped strings and every secret value the service has
  read or holds (registered by the Secrets Manager and KMS adapters).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from shared.redaction import redact, redact_text

SERVICE = "xero-invoice-sync"
NAMESPACE = "XeroInvoiceSync"


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Structured JSON logs with secrets scrubbed from every field, message and exception."""

    def serialize(self, log: dict[str, Any] | Any) -> str:
        return json.dumps(redact(log), default=str, separators=(",", ":"))


logger = Logger(service=SERVICE, logger_formatter=RedactingFormatter())
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


# Loggers that write request and response bodies or headers at DEBUG (module loggers, so a filter on
# each sees every record they make).
WIRE_LOGGERS = (
    "botocore.endpoint",
    "botocore.parsers",
    "botocore.auth",
    "botocore.awsrequest",
    "botocore.handlers",
    "botocore.utils",
    "urllib3.connectionpool",
    "urllib3.connection",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "hpack.hpack",
    "hpack.table",
)


class _NoWireDebug(logging.Filter):
    """Drops the DEBUG records of a wire logger, whatever level it or its parents are set to."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


class _ScrubbingRecordFactory:
    """Wraps the process's log record factory: every record's message and traceback scrubbed as made."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self.wrapped(*args, **kwargs)
        if isinstance(record.msg, str):
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001 - a bad format string is logging's to report, not ours
                message = record.msg
            record.msg, record.args = redact_text(message), ()
        elif isinstance(record.msg, dict):  # Powertools' structured messages
            record.msg = redact(record.msg)
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        return record


def keep_secrets_out_of_logs() -> None:
    """Install both guards (idempotent: importing this module does it once per process)."""
    for name in WIRE_LOGGERS:
        wire = logging.getLogger(name)
        if not any(isinstance(f, _NoWireDebug) for f in wire.filters):
            wire.addFilter(_NoWireDebug())
        wire.setLevel(logging.INFO)  # cheaper too: their debug calls build no record at all
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _ScrubbingRecordFactory):
        logging.setLogRecordFactory(_ScrubbingRecordFactory(factory))


keep_secrets_out_of_logs()
