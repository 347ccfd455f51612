"""Property-based exploration inside a scenario: Hypothesis drives the inputs, the scenario counts them.

Outside pytest too: a ``@given`` function is an ordinary callable. A short run is derandomised, so
``make test`` is repeatable; a full run explores afresh each time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.proof.framework import Size

T = TypeVar("T")


@dataclass
class Exploration:
    examples: int = 0
    counters: dict[str, int] = field(default_factory=dict)
    failure: str | None = None  # the smallest failing input Hypothesis found, and what went wrong

    def count(self, name: str, by: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + by


def explore(
    strategy: st.SearchStrategy[T],
    probe: Callable[[T, Exploration], str | None],
    *,
    size: Size,
    short: int,
    full: int,
) -> Exploration:
    """Feed ``probe`` up to ``short``/``full`` examples; a probe returns a problem (a string) or None."""
    result = Exploration()
    last_problem: list[tuple[Any, str]] = []

    @settings(
        max_examples=size.pick(short=short, full=full),
        deadline=None,
        database=None,
        derandomize=not size.full,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        print_blob=False,
    )
    @given(strategy)
    def run(example: T) -> None:
        result.examples += 1
        problem = probe(example, result)
        if problem is not None:
            last_problem.append((example, problem))
            raise AssertionError(problem)

    try:
        run()
    except AssertionError:
        example, problem = last_problem[-1]  # Hypothesis replays the smallest failing example last
        result.failure = f"{problem}; input: {example!r}"[:2000]
    return result
