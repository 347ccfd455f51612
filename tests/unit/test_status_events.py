"""Sync-status events: their schemas are the models', and the adapter batches, retries refusals once,
and turns every failure into StorageError."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError

from shared.adapters.status_events import StatusEvents
from shared.domain.status import announce
from shared.errors import StorageError
from shared.models.status_events import SOURCE, ConnectionDisconnected, InvoiceSynced, json_schemas

SCHEMAS = Path(__file__).resolve().parents[2] / "events" / "schema" / "status"
AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


class FakeEventBridge:
    def __init__(self, refuse: list[list[bool]] | None = None, error: Exception | None = None) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.refuse = refuse or []
        self.error = error

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        if self.error:
            raise self.error
        self.calls.append(Entries)
        refused = self.refuse.pop(0) if self.refuse else [False] * len(Entries)
        results = [{"ErrorCode": "ThrottlingException"} if r else {"EventId": "e"} for r in refused]
        return {"FailedEntryCount": sum(refused), "Entries": results}


def disconnected(n: int) -> ConnectionDisconnected:
    return ConnectionDisconnected(account_id=f"acct-{n}", occurred_at=AT, reason="by its owner", revoked_at_xero=True)


def test_the_committed_schemas_are_the_models():
    for name, schema in json_schemas().items():
        assert json.loads((SCHEMAS / f"{name}.schema.json").read_text()) == schema, "run make schemas"
    assert set(json_schemas()) == {
        "invoice.synced",
        "invoice.sync_failed",
        "connection.needs_reconnect",
        "connection.disconnected",
    }


def test_a_detail_holds_only_its_fields():
    with pytest.raises(ValidationError):
        InvoiceSynced(account_id="a", occurred_at=AT, invoice_id="i", version=1, access_token="x")  # type: ignore[call-arg]


def test_events_go_ten_per_call_with_source_type_and_detail():
    client = FakeEventBridge()
    StatusEvents("bus-1", client=lambda: client).publish([disconnected(n) for n in range(23)])

    assert [len(c) for c in client.calls] == [10, 10, 3]
    entry = client.calls[0][0]
    assert entry["EventBusName"] == "bus-1"
    assert entry["Source"] == SOURCE
    assert entry["DetailType"] == "connection.disconnected"
    assert json.loads(entry["Detail"])["account_id"] == "acct-0"


def test_refused_entries_are_sent_once_more_then_fail():
    client = FakeEventBridge(refuse=[[False, True], [False]])
    StatusEvents("bus", client=lambda: client).publish([disconnected(1), disconnected(2)])
    assert [len(c) for c in client.calls] == [2, 1]
    assert json.loads(client.calls[1][0]["Detail"])["account_id"] == "acct-2"

    stubborn = FakeEventBridge(refuse=[[True], [True]])
    with pytest.raises(StorageError, match="ThrottlingException"):
        StatusEvents("bus", client=lambda: stubborn).publish([disconnected(1)])


def test_an_error_of_the_call_is_a_storage_error_and_announce_carries_on():
    error = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "PutEvents")
    events = StatusEvents("bus", client=lambda: FakeEventBridge(error=error))
    with pytest.raises(StorageError):
        events.publish([disconnected(1)])

    assert announce(events, disconnected(1)) is False
    assert announce(None, disconnected(1)) is True


def test_without_a_bus_nothing_is_sent():
    client = FakeEventBridge()
    events = StatusEvents("", client=lambda: client)
    events.publish([disconnected(1)])
    events.publish([])

    assert not events.enabled
    assert client.calls == []


def test_the_adapter_names_the_models_source():
    from shared.adapters import status_events as adapter

    assert adapter.SOURCE == SOURCE
