"""Until their issues land, the placeholder functions must lose nothing and say what they are."""

from __future__ import annotations

from functions.push import handler as push
from functions.sweep import handler as sweep
from tests.support.events import FakeContext


def test_push_placeholder_returns_every_message_to_the_queue():
    event = {"Records": [{"messageId": "m1", "body": "{}"}, {"messageId": "m2", "body": "{}"}]}

    answer = push.lambda_handler(event, FakeContext())

    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}


def test_sweep_placeholder_says_it_did_nothing():
    assert sweep.lambda_handler({}, FakeContext()) == {"swept": 0, "implemented": False}
