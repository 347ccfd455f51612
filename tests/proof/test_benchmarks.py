"""``python -m benchmarks --quick`` runs and prints its figures; nothing here judges their values."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from benchmarks.framework import BENCHMARKS, PLANNED, Figure, benchmark, p90, render

ROOT = Path(__file__).resolve().parents[2]


def test_the_quick_benchmark_run_prints_every_figure():
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if re.match(r"^(cold-start|wiring|memory)\s", line)]
    figures = {re.split(r"\s{2,}", row)[1] for row in rows}
    for name in ("bare Powertools handler", "oauth", "management", "intake", "push", "sweep", "settings page"):
        assert f"import {name} (median)" in figures
    assert "import floor (Powertools + boto3 + httpx + pydantic) (median)" in figures
    for name in ("oauth", "management", "intake", "push", "sweep", "settings page"):
        assert f"{name} / floor" in figures
    assert "first boto3 client (dynamodb) (median)" in figures
    assert "tracemalloc peak, 100 messages" in figures
    assert all(re.search(r"\s\d[\d,]*\.\d+\s+(ms|MiB|x)\b", row) for row in rows), "every figure is a number"
    assert "the push against a local stack" in done.stdout, "the memory figure says what it measured"
    assert "not measured yet" not in done.stdout, "every planned figure is measured"
    push_rows = [line for line in done.stdout.splitlines() if line.startswith("push ")]
    for accounts in ("1 account", "3 accounts"):
        for figure in ("Xero calls per 1,000 invoices, new contacts", "CPU per invoice", "latency p99"):
            assert any(f"{accounts}: {figure}" in row for row in push_rows), (accounts, figure)
    assert any("drain 500 invoices of one organisation (sandbox clock)" in row for row in push_rows)
    reconcile_rows = [line for line in done.stdout.splitlines() if line.startswith("reconcile ")]
    for figure in ("full run, Xero calls", "full run, bytes read per invoice", "recent run, nothing changed"):
        assert any(f"1,100 invoices: {figure}" in row for row in reconcile_rows), figure
    assert any("differences found" in row and "exactly the edits" in row for row in reconcile_rows)


def test_p90_is_the_nearest_rank():
    assert p90([5.0]) == 5.0
    assert p90([float(n) for n in range(1, 11)]) == 9.0
    assert p90([float(n) for n in range(1, 21)]) == 18.0


def test_a_registered_planned_benchmark_is_no_longer_listed_as_pending(monkeypatch):
    monkeypatch.setattr("benchmarks.framework.BENCHMARKS", dict(BENCHMARKS))
    before = render([Figure("x", "a figure", 1.5, "ms")], quick=False)

    benchmark("drain", "drain time")(lambda quick: [])
    after = render([Figure("x", "a figure", 1.5, "ms")], quick=False)

    benchmark("push", "the push under load", covers=("xero-calls", "cpu"))(lambda quick: [])
    covered = render([], quick=False)

    assert f"drain: {PLANNED['drain']}" in before
    assert "drain:" not in after
    assert "xero-calls:" not in covered
    assert "rate-limits:" in covered
    assert "a figure" in after
    assert "1.50" in after
