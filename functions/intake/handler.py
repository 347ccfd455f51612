"""Intake function: the platform's queue → each Xero organisation's outbox, with a flush ticket.

:class:`shared.domain.intake.Intake` parses and routes the batch; the handler reports as failed
(``batchItemFailures``, the event source mapping's ``ReportBatchItemFailures``) only the messages whose
fate is a retry, so SQS redelivers exactly those. Powertools' ``BatchProcessor`` would do the same and
cost the cold start its batch, parser and asyncio modules (about a fifth of the floor).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.domain import intake as _intake  # noqa: F401  every invocation needs it: loaded at init
from shared.domain.push.model import Fate, Message, Tally
from shared.domain.push.receive import message_from_record
from shared.observability import logger, metrics


@metrics.log_metrics
@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    messages = [message_from_record(record) for record in event.get("Records", [])]
    tally = wiring.intake().process(messages)
    report(len(messages), tally)
    return {"batchItemFailures": [{"itemIdentifier": m.message_id} for m in messages if _handed_back(m)]}


def _handed_back(message: Message) -> bool:
    """Whether SQS must deliver ``message`` again: its fate is a retry, or it has none."""
    return message.outcome is None or message.outcome.fate == Fate.RETRIED


def report(received: int, tally: Tally) -> None:
    """One metric value per batch (an EMF document holds at most 100 values per metric) and one log line."""
    metrics.add_metric(name="EventsReceived", unit=MetricUnit.Count, value=received)
    for fate in (Fate.QUEUED, Fate.PARKED, Fate.FAILED, Fate.RETRIED):
        metrics.add_metric(name=fate.metric, unit=MetricUnit.Count, value=tally.of(fate))
    logger.info("intake done", extra={"messages": received, **tally.summary()})
