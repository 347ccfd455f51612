"""The sync-status events the service sent, as the platform would receive them.

A rule on the stack's status bus (every event of the service's source) targets a queue of the local
stack's own; :meth:`StatusTap.events` reads that queue and keeps what it read, so a test or
``make local`` sees each event once, in order of arrival, with its EventBridge envelope.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

from shared.models.status_events import SOURCE


@dataclass(frozen=True)
class StatusEvent:
    detail_type: str
    detail: dict[str, Any]
    envelope: dict[str, Any]


class StatusTap:
    def __init__(self, bus_name: str, *, prefix: str, region: str) -> None:
        self._sqs = boto3.client("sqs", region_name=region)
        events = boto3.client("events", region_name=region)
        self._queue = self._sqs.create_queue(QueueName=f"{prefix}-status-tap")["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        rule = f"{prefix}-status-tap"
        events.put_rule(Name=rule, EventBusName=bus_name, EventPattern=json.dumps({"source": [SOURCE]}))
        events.put_targets(Rule=rule, EventBusName=bus_name, Targets=[{"Id": "tap", "Arn": arn}])
        self._seen: list[StatusEvent] = []

    def events(self) -> list[StatusEvent]:
        """Every event sent so far, oldest first."""
        while True:
            answer = self._sqs.receive_message(QueueUrl=self._queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = answer.get("Messages", [])
            if not messages:
                return list(self._seen)
            for message in messages:
                envelope = json.loads(message["Body"])
                self._seen.append(StatusEvent(str(envelope.get("detail-type")), envelope.get("detail") or {}, envelope))
                self._sqs.delete_message(QueueUrl=self._queue, ReceiptHandle=message["ReceiptHandle"])
