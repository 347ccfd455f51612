"""Reconcile function: each account's invoices in Xero compared with what the service sent.

Two triggers: EventBridge's schedules (``{"reconcile": "full"}`` weekly, ``{"reconcile": "recent"}``
daily) fan out one run per connected account onto the reconcile queue; the queue (SQS FIFO, the
organisation its message group, one message a call) runs them. A run that must wait for Xero's
limits, or for the push to use the day's calls first, is hidden that long and reported failed, so
SQS shows it again when the wait is over (:mod:`shared.domain.reconcile.service`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from shared import wiring
from shared.models.reconcile import ReconcileRequest
from shared.observability import logger, metrics


@metrics.log_metrics
@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    reconciler = wiring.reconciler()
    if "Records" not in event:
        kind = "recent" if event.get("reconcile") == "recent" else "full"
        return {"queued": reconciler.schedule(kind, datetime.now(UTC).date())}
    failures: list[dict[str, str]] = []
    for record in event["Records"]:
        if failures:  # FIFO: once one message is handed back, the ones after it wait their turn too
            failures.append({"itemIdentifier": str(record["messageId"])})
            continue
        try:
            request = ReconcileRequest.model_validate_json(str(record.get("body", "")))
        except ValidationError:
            logger.error(
                "a reconciliation request that cannot be read was dropped", extra={"id": record.get("messageId")}
            )
            continue
        outcome = reconciler.handle(request, lambda: context.get_remaining_time_in_millis() / 1000)
        if outcome.state == "deferred":
            wiring.reconcile_queue().wait(str(record["receiptHandle"]), outcome.wait)
            failures.append({"itemIdentifier": str(record["messageId"])})
    return {"batchItemFailures": failures}
