"""Intake function: the platform's queue → each Xero organisation's outbox, with a flush ticket.

:class:`shared.domain.intake.Intake` parses and routes the batch; Powertools' ``BatchProcessor``
reports as failed only the messages whose fate is a retry, so SQS redelivers exactly those.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.domain.push import Fate, Message, Tally, message_from_record
from shared.observability import logger, metrics

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class Retry(Exception):
    """This message is handed back to SQS for another receive."""


@metrics.log_metrics
@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    messages = [message_from_record(record) for record in event.get("Records", [])]
    tally = wiring.intake().process(messages)
    report(len(messages), tally)
    by_id: dict[str, Message] = {m.message_id: m for m in messages}

    def settle(record: SQSRecord) -> None:
        message = by_id.get(record.message_id)
        if message is None or message.outcome is None or message.outcome.fate == Fate.RETRIED:
            raise Retry(message.outcome.code if message and message.outcome else "not processed")

    return dict(process_partial_response(event=event, record_handler=settle, processor=processor, context=context))


def report(received: int, tally: Tally) -> None:
    """One metric value per batch (an EMF document holds at most 100 values per metric) and one log line."""
    metrics.add_metric(name="EventsReceived", unit=MetricUnit.Count, value=received)
    for fate in (Fate.QUEUED, Fate.PARKED, Fate.FAILED, Fate.RETRIED):
        metrics.add_metric(name=fate.metric, unit=MetricUnit.Count, value=tally.of(fate))
    logger.info("intake done", extra={"messages": received, **tally.summary()})
