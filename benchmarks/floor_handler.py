"""The import floor every function stands on: Powertools' Logger and Metrics (the service's observability;
it leaves out the X-Ray Tracer), boto3, httpx and pydantic, each imported as the service uses it."""

from __future__ import annotations

from typing import Any

import boto3
import httpx
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

logger = Logger(service="floor")
metrics = Metrics(namespace="Floor", service="floor")
CLIENTS = (boto3.client, httpx.Client)


class Answer(BaseModel):
    ok: bool


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return Answer(ok=True).model_dump()
