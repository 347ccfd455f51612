"""Until their issues land, the placeholder functions must lose nothing and say what they are."""

from __future__ import annotations

import json

from functions.management import handler as management
from functions.sweep import handler as sweep
from tests.support.events import FakeContext


def test_sweep_placeholder_says_it_did_nothing():
    assert sweep.lambda_handler({}, FakeContext()) == {"swept": 0, "implemented": False}


def test_management_placeholder_answers_501():
    answer = management.lambda_handler({}, FakeContext())

    assert answer["statusCode"] == 501
    assert json.loads(answer["body"])["error"]["code"] == "not_implemented"
