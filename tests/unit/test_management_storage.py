"""The management API's storage edges with fakes: the shared Xero cache never fails a request, and the
organisation choice's transaction says exactly what went wrong."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from shared.adapters.settings import SettingsConflict, SettingsRepository
from shared.adapters.xero_cache import MAX_CACHED_BYTES, XeroReadCache
from shared.errors import ConnectionUnavailable, StorageError
from shared.models.settings import AccountSettings

NOW = 1_800_000_000.0


class FakeDynamo:
    def __init__(self, item: dict[str, Any] | None = None, error: Exception | None = None) -> None:
        self.item = item
        self.error = error
        self.puts: list[dict[str, Any]] = []
        self.transactions: list[list[dict[str, Any]]] = []

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        if self.error:
            raise self.error
        return {"Item": self.item} if self.item else {}

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        if self.error:
            raise self.error
        self.puts.append(kwargs["Item"])
        return {}

    def transact_write_items(self, **kwargs: Any) -> dict[str, Any]:
        if self.error:
            raise self.error
        self.transactions.append(kwargs["TransactItems"])
        return {}


def client_error(code: str, reasons: list[str] | None = None) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": "refused"}}
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": r} for r in reasons]
    return ClientError(response, "Operation")  # type: ignore[arg-type]


def cache(client: FakeDynamo) -> XeroReadCache:
    return XeroReadCache(client, "table", max_age=300, clock=lambda: NOW)  # type: ignore[arg-type]


def test_a_written_list_is_read_back_until_it_expires():
    client = FakeDynamo()
    cache(client).write("tenant", "accounts", [{"Code": "200"}])
    stored = client.puts[0]
    client.item = stored

    assert cache(client).read("tenant", "accounts") == [{"Code": "200"}]
    assert stored["pk"] == {"S": "TENANT#tenant"}
    assert stored["sk"] == {"S": "CACHE#accounts"}
    assert int(stored["expires_at"]["N"]) == NOW + 300
    assert int(stored["ttl"]["N"]) > NOW + 300
    later = XeroReadCache(client, "table", clock=lambda: NOW + 301)  # type: ignore[arg-type]
    assert later.read("tenant", "accounts") is None


@pytest.mark.parametrize(
    "client",
    [
        FakeDynamo(),
        FakeDynamo(item={"expires_at": {"N": str(int(NOW) + 60)}, "body": {"S": "{not json"}}),
        FakeDynamo(item={"expires_at": {"N": str(int(NOW) + 60)}, "body": {"S": json.dumps({"a": 1})}}),
        FakeDynamo(error=client_error("ProvisionedThroughputExceededException")),
        FakeDynamo(error=EndpointConnectionError(endpoint_url="http://127.0.0.1:9")),
    ],
)
def test_a_missing_corrupt_or_unreadable_cache_is_a_miss(client):
    assert cache(client).read("tenant", "tax_rates") is None


def test_a_failed_or_oversized_cache_write_is_skipped_quietly():
    failing = FakeDynamo(error=client_error("InternalServerError"))
    cache(failing).write("tenant", "accounts", [{"Code": "200"}])

    big = FakeDynamo()
    cache(big).write("tenant", "accounts", [{"Name": "x" * MAX_CACHED_BYTES}])

    assert big.puts == []


def settings_repo(client: FakeDynamo) -> SettingsRepository:
    return SettingsRepository(client, "table")  # type: ignore[arg-type]


NOW_DT = datetime(2026, 11, 25, tzinfo=UTC)


def test_choosing_an_organisation_writes_connection_and_settings_in_one_transaction():
    client = FakeDynamo()

    stored = settings_repo(client).save_choosing_tenant(AccountSettings(account_id="a", version=3), "t2", now=NOW_DT)

    update, put = client.transactions[0]
    assert update["Update"]["ExpressionAttributeValues"][":tenant"] == {"S": "t2"}
    assert put["Put"]["ExpressionAttributeValues"][":seen"] == {"N": "3"}
    assert stored.version == 4


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (client_error("TransactionCanceledException", ["ConditionalCheckFailed", "None"]), ConnectionUnavailable),
        (client_error("TransactionCanceledException", ["None", "ConditionalCheckFailed"]), SettingsConflict),
        (client_error("ValidationException"), StorageError),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), StorageError),
    ],
)
def test_a_refused_organisation_choice_says_why(error, expected):
    with pytest.raises(expected):
        settings_repo(FakeDynamo(error=error)).save_choosing_tenant(AccountSettings(account_id="a"), "t", now=NOW_DT)
