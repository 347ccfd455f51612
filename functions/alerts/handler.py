"""Alerts function: the alert queue's emails → SES, each through the Alerts service (sent once).

Powertools' ``BatchProcessor`` reports as failed only the messages that must come back (SES failing:
:class:`~shared.domain.queued_alerts.AlertDelivery` has set when); the others are deleted, sent or
moved to the alert dead-letter queue with their reason.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.domain.queued_alerts import QueuedMessage
from shared.observability import logger, metrics

# The body is parsed by AlertDelivery, not by a record model, so a malformed one is dead-lettered at
# once with its reason instead of failing until SQS's redrive moves it without one.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@metrics.log_metrics
@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    delivery = wiring.alert_delivery()

    def deliver(record: SQSRecord) -> str:
        message = QueuedMessage(
            message_id=record.message_id,
            receipt_handle=record.receipt_handle,
            body=record.body,
            receive_count=int(record.attributes.approximate_receive_count or 1),
        )
        outcome: str = delivery.deliver(message, lambda: context.get_remaining_time_in_millis() / 1000)
        return outcome

    response: dict[str, Any] = dict(
        process_partial_response(event=event, record_handler=deliver, processor=processor, context=context)
    )
    return response
