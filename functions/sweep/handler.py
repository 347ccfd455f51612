"""Inactivity sweep function. PLACEHOLDER until the sweep issue lands: it does nothing and says so."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.observability import logger


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.warning("inactivity sweep not built yet: nothing swept")
    return {"swept": 0, "implemented": False}
