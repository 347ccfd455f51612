"""Inactivity sweep function: EventBridge's daily schedule warns idle connections' owners, then disconnects.

Returns the run's summary (examined, warned, disconnected, failed, skipped, items_read, complete).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.domain.sweep import Sweep, sweep_time
from shared.observability import logger, metrics


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = sweep_time(event, allow_override=wiring.settings().sweep_clock_override)
    sweep: Sweep = wiring.sweep()
    return sweep.run(now, seconds_left=lambda: context.get_remaining_time_in_millis() / 1000).as_dict()
