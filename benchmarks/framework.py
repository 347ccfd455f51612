"""The benchmarks' registry and their table.

A benchmark is a function ``(quick: bool) -> list[Figure]`` registered with :func:`benchmark`. It
measures in fresh subprocesses where a warm interpreter would flatter the figure (cold starts,
memory), and says what it measured in each figure's note. ``--quick`` asks for the smallest run that
still exercises the harness: its figures show the harness works, not how fast anything is.

Figures the product needs but nothing measures yet are listed in :data:`PLANNED`; registering a
benchmark under one of those names, or with ``covers=(names...)``, replaces their "not measured yet" lines.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    benchmark: str
    name: str
    value: float
    unit: str
    note: str = ""


BenchmarkFunction = Callable[[bool], list[Figure]]


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str
    function: BenchmarkFunction
    covers: tuple[str, ...] = ()


BENCHMARKS: dict[str, Benchmark] = {}

PLANNED: dict[str, str] = {
    "xero-calls": "Xero calls per 1,000 invoices (new contacts, one organisation, through the real push)",
    "rate-limits": "429s answered while pushing those 1,000 invoices",
    "cpu": "push handler CPU ms per invoice",
    "drain": "sandbox-clock minutes to drain 10,000 invoices, against the floor set by 60 calls a minute",
}


def benchmark(
    name: str, title: str, *, covers: tuple[str, ...] = ()
) -> Callable[[BenchmarkFunction], BenchmarkFunction]:
    """Register a benchmark; ``covers`` names the :data:`PLANNED` figures it measures besides its own name."""

    def register(function: BenchmarkFunction) -> BenchmarkFunction:
        if name in BENCHMARKS:
            raise ValueError(f"benchmark {name!r} is registered twice")
        BENCHMARKS[name] = Benchmark(name, title, function, covers)
        return function

    return register


def median(values: list[float]) -> float:
    return statistics.median(values)


def p90(values: list[float]) -> float:
    """Nearest-rank 90th percentile: the smallest value at or above 90% of the samples."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def render(figures: list[Figure], *, quick: bool) -> str:
    headers = ["benchmark", "figure", "value", "unit", "note"]
    rows = [[f.benchmark, f.name, _number(f.value), f.unit, f.note] for f in figures]
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        left = [cells[0].ljust(widths[0]), cells[1].ljust(widths[1]), cells[2].rjust(widths[2])]
        return "  ".join([*left, cells[3].ljust(widths[3]), cells[4]]).rstrip()

    title = "Benchmarks (--quick: a smoke run, the figures mean nothing)" if quick else "Benchmarks"
    out = [title, "", line(headers), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    measured = set(BENCHMARKS) | {name for spec in BENCHMARKS.values() for name in spec.covers}
    pending = [f"  {name}: {text}" for name, text in PLANNED.items() if name not in measured]
    if pending:
        out += ["", "not measured yet (registered with the invoice push):", *pending]
    return "\n".join(out)


def _number(value: float) -> str:
    if abs(value) < 10:
        return f"{value:.2f}"
    return f"{value:,.1f}"
