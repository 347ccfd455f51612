"""The proof suite's machinery: a registry of scenarios, what each one counts, and the table they make.

A scenario is a function taking a :class:`Run`. It drives the service (through the stack the run
holds), counts what happened in ``run.tally`` and states each invariant with ``run.check``. Adding
one is a decorator::

    @scenario("push-duplicates", "2,000 events, each delivered 1-3 times, shuffled")
    def duplicates(run: Run) -> None:
        events = run.size.pick(short=100, full=2_000)
        ...
        run.tally.events += events
        run.check("no invoice duplicated in Xero", duplicates == 0, f"{duplicates} duplicated")

Scenarios run in registration order, except that ``final=True`` ones (the secrets scan) run after
all the others, so that they see everything the others produced.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Literal, TypeVar

from shared.redaction import redact_text

_N = TypeVar("_N", int, float)

if TYPE_CHECKING:
    from tests.proof.stack import ProofStack

SizeName = Literal["short", "full"]


@dataclass(frozen=True)
class Size:
    """How big a run is: ``full`` for ``make proof``, ``short`` for the copy inside ``make test``."""

    name: SizeName

    @property
    def full(self) -> bool:
        return self.name == "full"

    def pick(self, *, short: _N, full: _N) -> _N:
        return full if self.full else short


SHORT = Size("short")
FULL = Size("full")


@dataclass
class Tally:
    """The counts a scenario reports; the table's columns, in order."""

    events: int = 0  # requests, calls or messages the scenario put through the service
    duplicates: int = 0  # anything Xero (or the store) holds twice that it should hold once
    lost: int = 0  # events that ended neither where they belong nor in the DLQ with a reason
    faults: int = 0  # faults the sandbox injected (its own count; measured around each scenario)
    retries: int = 0  # calls repeated after a fault
    emails: int = 0  # emails SES accepted (measured around each scenario)
    refusals: int = 0  # requests the service refused (4xx, or an error it raised on purpose)
    secrets: int = 0  # tokens or secrets found where they must never be

    def __add__(self, other: Tally) -> Tally:
        return Tally(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    @classmethod
    def columns(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def values(self) -> list[int]:
        return [getattr(self, name) for name in self.columns()]


@dataclass(frozen=True)
class Check:
    """One invariant, as it turned out in this run."""

    name: str
    passed: bool
    detail: str = ""


class ScenarioSkipped(Exception):
    """The scenario does not apply yet (what it checks is not built); the reason is printed."""


@dataclass
class Run:
    """What a scenario is handed, and what it fills in."""

    stack: ProofStack
    size: Size
    tally: Tally = field(default_factory=Tally)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check(self, name: str, passed: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, bool(passed), detail))
        return bool(passed)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def skip(self, reason: str) -> None:
        raise ScenarioSkipped(reason)


ScenarioFunction = Callable[[Run], None]


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    function: ScenarioFunction
    final: bool = False


@dataclass
class Outcome:
    scenario: Scenario
    tally: Tally
    checks: list[Check]
    notes: list[str]
    seconds: float
    skipped: str | None = None

    @property
    def passed(self) -> bool:
        return self.skipped is not None or all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]


@dataclass
class Report:
    size: Size
    outcomes: list[Outcome]

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)

    @property
    def total(self) -> Tally:
        total = Tally()
        for outcome in self.outcomes:
            total += outcome.tally
        return total

    def outcome(self, name: str) -> Outcome:
        return next(o for o in self.outcomes if o.scenario.name == name)


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, title: str, *, final: bool = False) -> Callable[[ScenarioFunction], ScenarioFunction]:
    """Register a scenario under ``name`` (unique, used by ``--only``); ``final`` ones run last."""

    def register(function: ScenarioFunction) -> ScenarioFunction:
        if name in SCENARIOS:
            raise ValueError(f"scenario {name!r} is registered twice")
        SCENARIOS[name] = Scenario(name, title, function, final)
        return function

    return register


def run_scenario(spec: Scenario, stack: ProofStack, size: Size) -> Outcome:
    run = Run(stack=stack, size=size)
    meters = stack.meters()
    started = time.perf_counter()
    skipped = None
    try:
        spec.function(run)
    except ScenarioSkipped as exc:
        skipped = str(exc)
    except Exception as exc:  # a scenario that crashes has failed, and says where
        stack.evidence.errors.append(f"{type(exc).__name__}: {exc}")
        where = traceback.extract_tb(exc.__traceback__)[-1]
        run.check(
            "ran to the end",
            passed=False,
            detail=redact_text(f"{type(exc).__name__}: {exc} (at {where.filename}:{where.lineno})"),
        )
    seconds = time.perf_counter() - started
    after = stack.meters()
    run.tally.emails += after["emails"] - meters["emails"]
    run.tally.faults += after["faults"] - meters["faults"]
    if skipped is None and not run.checks:
        run.check("stated at least one invariant", passed=False, detail="a scenario that checks nothing proves nothing")
    return Outcome(spec, run.tally, run.checks, run.notes, seconds, skipped)


def run_suite(stack: ProofStack, size: Size, only: Iterable[str] | None = None) -> Report:
    wanted = list(only) if only else list(SCENARIOS)
    unknown = [name for name in wanted if name not in SCENARIOS]
    if unknown:
        raise KeyError(f"unknown scenarios: {', '.join(unknown)} (known: {', '.join(SCENARIOS)})")
    ordered = sorted(SCENARIOS.values(), key=lambda spec: spec.final)  # stable: registration order otherwise
    return Report(size, [run_scenario(spec, stack, size) for spec in ordered if spec.name in wanted])


def render(report: Report) -> str:
    """The table, then every failed invariant and every note; what ``make proof`` prints."""
    headers = ["scenario", *Tally.columns(), "seconds", "result"]
    rows = []
    for outcome in report.outcomes:
        result = "skipped" if outcome.skipped is not None else ("ok" if outcome.passed else "FAILED")
        rows.append(
            [outcome.scenario.name, *map(str, outcome.tally.values()), f"{outcome.seconds:.1f}", result],
        )
    seconds = sum(o.seconds for o in report.outcomes)
    rows.append(["total", *map(str, report.total.values()), f"{seconds:.1f}", "ok" if report.passed else "FAILED"])
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        first, *rest = cells
        return "  ".join([first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))])

    rule = "  ".join("-" * w for w in widths)
    out = [f"Proof suite ({report.size.name} size)", "", line(headers), rule]
    out += [line(r) for r in rows[:-1]]
    out += [rule, line(rows[-1]), ""]
    passed = sum(c.passed for o in report.outcomes for c in o.checks)
    failed = sum(not c.passed for o in report.outcomes for c in o.checks)
    out.append(f"invariants: {passed} held, {failed} failed")
    for outcome in report.outcomes:
        for check in outcome.failures:
            out.append(
                f"  FAILED {outcome.scenario.name}: {check.name}" + (f" ({check.detail})" if check.detail else "")
            )
        if outcome.skipped is not None:
            out.append(f"  skipped {outcome.scenario.name}: {outcome.skipped}")
        out += [f"  note {outcome.scenario.name}: {note}" for note in outcome.notes]
    return "\n".join(out)


def render_checks(report: Report) -> str:
    """Every invariant with its result (``--verbose``)."""
    out = []
    for outcome in report.outcomes:
        out.append(f"{outcome.scenario.name}: {outcome.scenario.title}")
        for check in outcome.checks:
            mark = "ok " if check.passed else "FAIL"
            out.append(f"  [{mark}] {check.name}" + (f": {check.detail}" if check.detail else ""))
    return "\n".join(out)
