"""DynamoDB failures at the alert records' and sweep index's edge become domain errors; lost races are answers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from shared.adapters.alert_records import AlertRecords
from shared.adapters.sweep_index import DisconnectClaim, SweepIndex
from shared.errors import StorageError

NOW = datetime(2026, 3, 1, 3, 15, tzinfo=UTC)
CLAIM = DisconnectClaim("acct", "owner", date(2026, 3, 1), None)


class FailingDynamo:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        def call(**_: Any) -> Any:
            raise self.error

        return call


def dynamo_error(code: str) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": 400}}
    return ClientError(response, "UpdateItem")


LOST_RACE = dynamo_error("ConditionalCheckFailedException")
BROKEN = [dynamo_error("InternalServerError"), EndpointConnectionError(endpoint_url="http://dynamodb")]


def test_alert_records_answer_lost_races():
    records = AlertRecords(FailingDynamo(LOST_RACE), "t")  # type: ignore[arg-type]

    assert records.claim("acct", "kind", "key", NOW) is None
    assert records.complete("acct", "kind", "key", "owner", message_id="m", now=NOW) is False
    records.release("acct", "kind", "key", "owner")  # someone else's claim now: left alone


@pytest.mark.parametrize("error", BROKEN)
def test_alert_records_turn_dynamodb_failures_into_storage_errors(error):
    records = AlertRecords(FailingDynamo(error), "t")  # type: ignore[arg-type]

    with pytest.raises(StorageError):
        records.claim("acct", "kind", "key", NOW)
    with pytest.raises(StorageError):
        records.complete("acct", "kind", "key", "owner", message_id="m", now=NOW)
    with pytest.raises(StorageError):
        records.release("acct", "kind", "key", "owner")


def test_sweep_index_answers_lost_races():
    index = SweepIndex(FailingDynamo(LOST_RACE), "t")  # type: ignore[arg-type]

    assert index.move_to_disconnect("acct", seen_due=date(2026, 3, 1), disconnect_on=date(2026, 3, 8)) is False
    assert index.claim_disconnect("acct", due_on=date(2026, 3, 1), now=NOW, lease_seconds=60) is None
    index.record_disconnected(CLAIM, revoked_at_xero=True)
    index.release(CLAIM)
    index.finish(CLAIM)


@pytest.mark.parametrize("error", BROKEN)
def test_sweep_index_turns_dynamodb_failures_into_storage_errors(error):
    index = SweepIndex(FailingDynamo(error), "t")  # type: ignore[arg-type]

    with pytest.raises(StorageError):
        next(index.due(date(2026, 3, 1)))
    with pytest.raises(StorageError):
        index.move_to_disconnect("acct", seen_due=date(2026, 3, 1), disconnect_on=date(2026, 3, 8))
    with pytest.raises(StorageError):
        index.claim_disconnect("acct", due_on=date(2026, 3, 1), now=NOW, lease_seconds=60)
    with pytest.raises(StorageError):
        index.release(CLAIM)
    with pytest.raises(StorageError):
        index.finish(CLAIM)
