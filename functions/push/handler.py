"""Push function: one Xero organisation's flush ticket (SQS FIFO, the organisation its message group)
→ its outbox's events to Xero, batched per call.

:class:`shared.domain.push.flush.Flush` works the outbox until it is empty or must wait; a ticket
that must wait is hidden that long (``ChangeMessageVisibility``) and reported failed, so SQS shows
it again when the wait is over and the organisation's later tickets queue behind it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.adapters.flush_tickets import tenant_of
from shared.domain.push import flush as _flush  # noqa: F401  every invocation runs the pipeline: loaded at init
from shared.domain.push.model import Fate, Tally
from shared.observability import logger, metrics


@metrics.log_metrics
@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    flush, tickets = wiring.flush(), wiring.flush_tickets()
    failures: list[dict[str, str]] = []
    tally = Tally()
    for record in event.get("Records", []):
        tenant_id = tenant_of(str(record.get("body", "")))
        if tenant_id is None:
            logger.error(
                "a flush ticket without an organisation was dropped", extra={"ticket": record.get("messageId")}
            )
            continue
        if failures:  # FIFO: once one ticket is handed back, the ones after it wait their turn too
            failures.append({"itemIdentifier": str(record["messageId"])})
            continue
        done = flush.run(tenant_id, lambda: context.get_remaining_time_in_millis() / 1000)
        tally.merge(done.tally)
        if done.wake_in is not None:
            tickets.wake_later(tenant_id, done.wake_in)
        if done.wait is not None:
            tickets.wait(str(record["receiptHandle"]), done.wait)
            failures.append({"itemIdentifier": str(record["messageId"])})
    report(tally)
    return {"batchItemFailures": failures}


def report(tally: Tally) -> None:
    """One metric value per invocation and one log line."""
    for fate in Fate:
        if fate != Fate.QUEUED:
            metrics.add_metric(name=fate.metric, unit=MetricUnit.Count, value=tally.of(fate))
    metrics.add_metric(name="XeroCalls", unit=MetricUnit.Count, value=tally.xero_calls)
    logger.info("flush done", extra=tally.summary())
