"""The proof's own machinery: what it counts, how it reports, and that each of its checks can fail."""

from __future__ import annotations

import base64
import json
from typing import Any, cast

import pytest
from hypothesis import strategies as st

from tests.proof import framework
from tests.proof.__main__ import main
from tests.proof.explore import explore
from tests.proof.framework import FULL, SHORT, Run, Scenario, Tally, render, run_scenario, run_suite
from tests.proof.scanner import KnownSecrets, find_in, scan
from tests.proof.scenarios import push_input
from tests.proof.scenarios.oauth_attacks import Attempt, judge
from tests.proof.stack import Evidence, ProofStack


class FakeStack:
    """Enough of a ProofStack for the framework: evidence, and meters that move when told."""

    def __init__(self) -> None:
        self.evidence = Evidence()
        self.emails = 0
        self.faults = 0

    def meters(self) -> dict[str, int]:
        return {"emails": self.emails, "faults": self.faults}


def run_with(function: Any, stack: FakeStack | None = None) -> framework.Outcome:
    return run_scenario(Scenario("s", "a scenario", function), cast(ProofStack, stack or FakeStack()), SHORT)


def jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256'})}.{part(claims)}.c2lnbmF0dXJl"


def test_sizes_pick_their_figure():
    assert SHORT.pick(short=3, full=50) == 3
    assert FULL.pick(short=3, full=50) == 50


def test_tallies_add_column_by_column():
    total = Tally(events=2, refusals=1) + Tally(events=3, secrets=1)

    assert total == Tally(events=5, refusals=1, secrets=1)
    assert Tally.columns()[:3] == ["events", "duplicates", "lost"]


def test_a_scenario_that_crashes_fails_and_its_message_is_redacted():
    def crashes(run: Run) -> None:
        run.check("first", True)
        raise RuntimeError("boom refresh_token=abcdef123456")

    outcome = run_with(crashes)

    assert not outcome.passed
    assert outcome.failures[0].name == "ran to the end"
    assert "boom" in outcome.failures[0].detail
    assert "abcdef123456" not in outcome.failures[0].detail


def test_a_scenario_that_checks_nothing_fails():
    outcome = run_with(lambda run: None)

    assert not outcome.passed
    assert outcome.failures[0].name == "stated at least one invariant"


def test_a_skipped_scenario_passes_and_says_why():
    outcome = run_with(lambda run: run.skip("not built yet"))

    assert outcome.passed
    assert outcome.skipped == "not built yet"


def test_emails_and_faults_are_measured_around_each_scenario():
    stack = FakeStack()

    def sends(run: Run) -> None:
        stack.emails += 2
        stack.faults += 5
        run.check("sent", True)

    outcome = run_with(sends, stack)

    assert (outcome.tally.emails, outcome.tally.faults) == (2, 5)


def test_final_scenarios_run_last_and_unknown_names_are_refused(monkeypatch: pytest.MonkeyPatch):
    order: list[str] = []

    def make(name: str) -> Any:
        def scenario(run: Run) -> None:
            order.append(name)
            run.check(name, True)

        return scenario

    registry = {
        "scan": Scenario("scan", "", make("scan"), final=True),
        "first": Scenario("first", "", make("first")),
        "second": Scenario("second", "", make("second")),
    }
    monkeypatch.setattr(framework, "SCENARIOS", registry)

    report = run_suite(cast(ProofStack, FakeStack()), SHORT)

    assert order == ["first", "second", "scan"]
    assert report.passed
    with pytest.raises(KeyError, match="unknown scenarios: nope"):
        run_suite(cast(ProofStack, FakeStack()), SHORT, ["nope"])


def test_the_table_has_a_row_per_scenario_a_total_and_every_failure():
    def fails(run: Run) -> None:
        run.tally.events += 4
        run.tally.lost += 1
        run.check("nothing lost", False, "1 lost")

    def holds(run: Run) -> None:
        run.tally.events += 6
        run.check("fine", True)
        run.note("a note")

    report = framework.Report(SHORT, [run_with(fails), run_with(holds), run_with(lambda run: run.skip("later"))])

    table = render(report)

    assert not report.passed
    assert report.total.events == 10
    lines = table.splitlines()
    assert any(line.startswith("total") and " 10 " in line and line.endswith("FAILED") for line in lines)
    assert "FAILED s: nothing lost (1 lost)" in table
    assert "skipped s: later" in table
    assert "note s: a note" in table
    assert "invariants: 1 held, 1 failed" in table


def test_exploration_reports_the_smallest_failing_input():
    seen = explore(
        st.integers(min_value=0, max_value=10_000),
        lambda n, s: "too big" if n >= 100 else None,
        size=SHORT,
        short=200,
        full=200,
    )

    assert seen.failure == "too big; input: 100"
    assert seen.examples > 1


def test_the_scanner_finds_secrets_whole_or_cut_short_and_names_only_their_kind():
    known = KnownSecrets.from_sandbox(
        {"refresh_tokens": ["r" * 64], "access_token_ids": ["jti-1"], "grant_ids": ["grant-1"]},
        client_secret="the-client-secret-value",
    )
    access = jwt({"jti": "jti-1"})
    id_token = jwt({"global_session_id": "grant-1"})
    other = jwt({"jti": "someone-else"})

    assert find_in(f"token={'r' * 64}", known) == ["refresh token"]
    assert find_in(f"cut short: {'r' * 16}...", known) == ["refresh token"]
    assert find_in(f"Bearer {access}", known) == ["access token"]
    assert find_in(f"{id_token[:-4]}", known) == ["id token"]
    assert find_in("client secret the-client-secret-value", known) == ["client secret"]
    assert find_in(f"an unrelated JWT {other} and [redacted]", known) == []
    scanned, findings = scan([("log line", access), ("page", "nothing")], known)
    assert scanned == 2
    assert [(f.where, f.what) for f in findings] == [("log line", "access token")]


@pytest.mark.parametrize(
    ("attempt", "problem"),
    [
        (Attempt(400, "<p>Refused here</p>", "text/html; charset=utf-8", 0, 0), None),
        (Attempt(500, "<p>Refused here</p>", "text/html", 0, 0), "status 500"),
        (Attempt(400, '{"message":"Internal Server Error"}', "application/json", 0, 0), "page does not say"),
        (Attempt(400, "<p>Refused here</p> Traceback", "text/html", 0, 0), "page does not say"),
        (Attempt(400, "<p>Refused here</p>", "text/html", 1, 0), "1 items stored"),
        (Attempt(400, "<p>Refused here</p>", "text/html", 0, 1), "1 token requests"),
    ],
)
def test_an_attack_passes_only_when_refused_clearly_and_harmlessly(attempt: Attempt, problem: str | None):
    run = Run(stack=cast(ProofStack, FakeStack()), size=SHORT)

    judge(run, "attack", attempt, "Refused here")

    assert run.checks[0].passed is (problem is None)
    if problem:
        assert problem in run.checks[0].detail


def test_batch_verdicts_name_lost_and_dragged_down_messages():
    verdict = push_input.judge_batch

    assert verdict({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}, {"g"}).problem is None
    assert "acknowledged" in str(verdict({"batchItemFailures": []}, {"b"}, set()).problem)
    assert "good messages" in str(
        verdict({"batchItemFailures": [{"itemIdentifier": "g"}, {"itemIdentifier": "b"}]}, {"b"}, {"g"}).problem
    )
    assert "not in the batch" in str(verdict({"batchItemFailures": [{"itemIdentifier": "x"}]}, set(), set()).problem)
    assert "itemIdentifier" in str(verdict({"batchItemFailures": [{}]}, set(), set()).problem)
    assert "not a batchItemFailures" in str(verdict(None, set(), set()).problem)


def kind_of(body: str) -> str:
    try:
        parsed = json.loads(body)
    except ValueError:
        return "not json" if len(body) < 1000 else "huge"
    if len(body) > 100_000:
        return "huge"
    if isinstance(parsed, dict) and parsed.get("type") in push_input.KNOWN_EVENT_TYPES:
        return "known type, wrong fields"
    if isinstance(parsed, dict) and "type" in parsed:
        return "unknown type"
    return "other json"


def test_bad_bodies_cover_every_kind_of_bad_message():
    kinds: set[str] = set()

    def note(body: str, seen: Any) -> None:
        kinds.add(kind_of(body))

    explore(push_input.bad_bodies(), note, size=SHORT, short=300, full=300)

    assert {"not json", "huge", "known type, wrong fields", "unknown type", "other json"} <= kinds


def test_the_push_check_passes_the_real_push_and_catches_one_that_fails_everything(
    monkeypatch: pytest.MonkeyPatch, service_env: dict[str, str]
):
    """Bad messages go to the DLQ with their reason or back to the queue; a good one is never failed."""
    from tests.support.push import message

    good = json.dumps(message("02-invoice-draft.json", account_id="acct-unknown"))  # parked, not failed
    seen = explore(
        st.lists(push_input.bad_bodies(), min_size=1, max_size=5),
        lambda bodies, s: push_input.probe_batch(bodies, [good], s),
        size=SHORT,
        short=10,
        full=10,
    )
    assert seen.failure is None

    def fail_everything(records: list[dict[str, Any]]) -> Any:
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records]}

    monkeypatch.setattr(push_input, "invoke_push", fail_everything)
    caught = explore(
        st.lists(push_input.bad_bodies(), min_size=1, max_size=3),
        lambda bodies, s: push_input.probe_batch(bodies, [good], s),
        size=SHORT,
        short=5,
        full=5,
    )
    assert caught.failure is not None
    assert "good messages failed with the bad ones" in caught.failure


def test_main_prints_the_table_and_exits_1_when_an_invariant_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    def broken(run: Run) -> None:
        run.tally.duplicates += 1
        run.check("no duplicates", False, "1 duplicated")

    registry = dict(framework.SCENARIOS) | {"broken": Scenario("broken", "always fails", broken)}
    monkeypatch.setattr(framework, "SCENARIOS", registry)
    monkeypatch.setattr("tests.proof.__main__.SCENARIOS", registry)

    code = main(["--short", "--only", "management-auth", "--only", "broken", "--verbose"])

    out = capsys.readouterr().out
    assert code == 1
    assert "management-auth" in out
    assert "FAILED broken: no duplicates (1 duplicated)" in out
    assert "[ok ] every /v1 route in template.yaml requires AWS_IAM" in out
