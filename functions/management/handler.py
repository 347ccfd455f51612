"""Management API function: the platform backend's IAM-signed ``/v1/...`` routes (see shared.api)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.app import build_app
from shared.observability import logger, metrics

app = build_app()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    answer = app.resolve(event, context)
    metrics.add_metric(name=outcome_metric(int(answer.get("statusCode", 500))), unit=MetricUnit.Count, value=1)
    return answer


def outcome_metric(status: int) -> str:
    """Refusals (4xx) and failures (5xx) counted apart: a rise in the second is ours to look at."""
    if status >= 500:
        return "ManagementFailed"
    return "ManagementRefused" if status >= 400 else "ManagementAnswered"
