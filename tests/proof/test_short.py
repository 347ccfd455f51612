"""The proof suite at its short size, inside ``make test``: every scenario against moto and the sandbox."""

from __future__ import annotations

import pytest

from tests.proof.framework import SHORT, render, run_suite
from tests.proof.stack import ProofStack

pytestmark = pytest.mark.integration


def test_every_invariant_of_the_short_proof_holds(moto_endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    import tests.proof.scenarios  # noqa: F401 - registers every scenario

    with ProofStack(moto_endpoint) as stack:
        report = run_suite(stack, SHORT)

    table = render(report)
    with capsys.disabled():
        print(f"\n{table}")
    assert report.passed, table
    assert report.total.events > 100, "the short proof still puts real traffic through the service"
    ran = [o.scenario.name for o in report.outcomes if o.skipped is None]
    assert {"tokens", "oauth-attacks", "management-auth", "bad-input", "secrets"} <= set(ran)
    crossings = {
        "equal-instalments",
        "shared-organisation",
        "reconnect-elsewhere",
        "poison-values",
        "oversized-events",
        "ses-outage",
    }
    assert crossings <= set(ran)
