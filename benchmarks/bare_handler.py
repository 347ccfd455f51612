"""The baseline for cold starts: the smallest handler built on Powertools (a Logger and Metrics, decorated)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="bare")
metrics = Metrics(namespace="Bare", service="bare")


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return {"ok": True}
