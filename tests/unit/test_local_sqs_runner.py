"""How the local SQS poller reads a handler's ReportBatchItemFailures answer: as Lambda documents it."""

from __future__ import annotations

import pytest

from local.sqs_runner import BatchOutcome, QueueDepth, _reported_failures

IDS = {"m1", "m2"}


@pytest.mark.parametrize("answer", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}])
def test_no_answer_or_an_empty_list_is_complete_success(answer):
    assert _reported_failures(answer, IDS) == ([], None)


def test_the_named_messages_fail_and_the_rest_succeed():
    answer = {"batchItemFailures": [{"itemIdentifier": "m2"}]}

    assert _reported_failures(answer, IDS) == (["m2"], None)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("not a batch response", "not a batch response"),
        ({"batchItemFailures": "all"}, "not a list"),
        ({"batchItemFailures": [{"itemIdentifier": "m9"}]}, "unknown message"),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, "unknown message"),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, "unknown message"),
        ({"batchItemFailures": [{"id": "m1"}]}, "unknown message"),
        ({"batchItemFailures": ["m1"]}, "unknown message"),
    ],
)
def test_an_unusable_answer_fails_the_whole_batch(answer, reason):
    failed, error = _reported_failures(answer, IDS)

    assert failed == []
    assert error is not None
    assert reason in error


def test_a_failed_batch_deletes_nothing_and_a_drained_queue_holds_nothing():
    assert BatchOutcome(["m1", "m2"], error="the handler raised RuntimeError").deleted == 0
    assert BatchOutcome(["m1", "m2"], failed_ids=["m1"]).deleted == 1
    assert QueueDepth(0, 0, 0).drained
    assert not QueueDepth(0, 0, 1).drained
    assert not QueueDepth(0, 1, 0).drained
