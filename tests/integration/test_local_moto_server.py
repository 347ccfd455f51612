"""The local AWS keeps DynamoDB's promise that a conditional write is atomic (plain moto's server does not).

Regression test for what the proof suite found: under load, two containers both took the token refresh
lock in moto, both refreshed, and the second got ``invalid_grant``, a failure real DynamoDB never causes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import boto3

from local.moto_server import SerialisedDynamoDB


class MeetingApp:
    """A WSGI app whose requests wait (briefly) for a second request to be inside it at the same time."""

    def __init__(self) -> None:
        self.meeting = threading.Barrier(2, timeout=0.3)
        self.met = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            self.meeting.wait()
            self.met += 1
        except threading.BrokenBarrierError:
            pass
        start_response("200 OK", [])
        return [b"{}"]


def two_requests_at_once(app: Callable[..., Iterable[bytes]], target: str) -> None:
    environ = {"HTTP_X_AMZ_TARGET": target}
    threads = [threading.Thread(target=lambda: list(app(dict(environ), lambda *a: None))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_dynamodb_requests_never_overlap_and_other_services_still_do():
    dynamodb, kms = MeetingApp(), MeetingApp()

    two_requests_at_once(SerialisedDynamoDB(dynamodb), "DynamoDB_20120810.UpdateItem")
    two_requests_at_once(SerialisedDynamoDB(kms), "TrentService.Decrypt")

    assert dynamodb.met == 0, "two DynamoDB requests were inside moto at once"
    assert kms.met == 2, "other services keep their concurrency"


def race_for(table: str, key: dict[str, Any], callers: int) -> list[int]:
    """``callers`` clients try at once to move the item from version 0 to 1; the indexes of those who succeeded."""
    clients = [boto3.client("dynamodb") for _ in range(callers)]
    barrier = threading.Barrier(callers)
    winners: list[int] = []

    def take(index: int) -> None:
        client = clients[index]
        barrier.wait()
        try:
            client.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET version = :next, owner_index = :me",
                ConditionExpression="version = :seen",
                ExpressionAttributeValues={":next": {"N": "1"}, ":seen": {"N": "0"}, ":me": {"N": str(index)}},
            )
            winners.append(index)
        except client.exceptions.ConditionalCheckFailedException:
            pass

    threads = [threading.Thread(target=take, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return winners


def test_of_many_concurrent_conditional_updates_exactly_one_wins(aws: str):
    client = boto3.client("dynamodb")
    client.create_table(
        TableName="atomicity",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    winners_per_round = []
    for round_ in range(8):
        key = {"pk": {"S": f"lock-{round_}"}}
        client.put_item(TableName="atomicity", Item=key | {"version": {"N": "0"}})

        winners = race_for("atomicity", key, callers=16)

        winners_per_round.append(len(winners))
        stored = client.get_item(TableName="atomicity", Key=key)["Item"]
        assert stored["owner_index"]["N"] == str(winners[0]), "the item holds the one winner's write"

    assert winners_per_round == [1] * 8
