"""Until their issues land, the placeholder functions must lose nothing and say what they are."""

from __future__ import annotations

import json

from functions.management import handler as management
from functions.push import handler as push
from tests.support.events import FakeContext


def test_push_placeholder_returns_every_message_to_the_queue():
    event = {"Records": [{"messageId": "m1", "body": "{}"}, {"messageId": "m2", "body": "{}"}]}

    answer = push.lambda_handler(event, FakeContext())

    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}


def test_management_placeholder_answers_501():
    answer = management.lambda_handler({}, FakeContext())

    assert answer["statusCode"] == 501
    assert json.loads(answer["body"])["error"]["code"] == "not_implemented"
