"""Invoice push function. PLACEHOLDER until the invoice push issue lands.

It reports every message as failed, so SQS keeps them (and in time moves them to the DLQ): a
placeholder must never acknowledge, and so lose, an event.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.observability import logger

# The proof suite runs its checks of the real push only once this module no longer says it is the placeholder.
IMPLEMENTED = False


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records", [])
    logger.warning("invoice push not built yet: returning every message to the queue", extra={"count": len(records)})
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records if "messageId" in r]}
