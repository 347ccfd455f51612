"""The one Logger and Metrics the service uses; every module imports them from here.

Tracing is X-Ray's active tracing set in template.yaml: the X-Ray SDK (Powertools' Tracer) is left
out because it adds to every cold start and the Lambda service already records each invocation.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from shared.redaction import redact

SERVICE = "xero-invoice-sync"
NAMESPACE = "XeroInvoiceSync"


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Structured JSON logs with secrets scrubbed from every field, message and exception."""

    def serialize(self, log: dict[str, Any] | Any) -> str:
        return json.dumps(redact(log), default=str, separators=(",", ":"))


logger = Logger(service=SERVICE, logger_formatter=RedactingFormatter())
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
