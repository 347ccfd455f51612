"""Cold start: importing each function's handler module in a fresh interpreter, against a bare Powertools
handler measured in the same run; then the first invocation's set-up of the wiring."""

from __future__ import annotations

from benchmarks.framework import Figure, benchmark, median, p90
from benchmarks.subprocesses import probes

HANDLERS = {
    "bare Powertools handler": "benchmarks.bare_handler",
    "oauth": "functions.oauth.handler",
    "management": "functions.management.handler",
    "push": "functions.push.handler",
    "sweep": "functions.sweep.handler",
}


@benchmark("cold-start", "import time of each handler module in a fresh interpreter")
def cold_start(quick: bool) -> list[Figure]:
    samples = 1 if quick else 15
    if not quick:
        probes([("import", module) for module in HANDLERS.values()], parallel=False)  # warm the bytecode cache
    runs = [("import", module) for module in HANDLERS.values() for _ in range(samples)]
    answers = probes(runs, parallel=quick)
    timings: dict[str, list[float]] = {}
    for (_, module), answer in zip(runs, answers, strict=True):
        timings.setdefault(module, []).append(float(answer["ms"]))
    baseline = median(timings[HANDLERS["bare Powertools handler"]])
    figures = []
    for name, module in HANDLERS.items():
        values = timings[module]
        note = f"{len(values)} fresh interpreters, .pyc cached"
        if module != HANDLERS["bare Powertools handler"]:
            note += f"; {median(values) - baseline:+.0f} ms against the bare handler"
        figures.append(Figure("cold-start", f"import {name} (median)", median(values), "ms", note))
        figures.append(Figure("cold-start", f"import {name} (p90)", p90(values), "ms"))
    return figures


@benchmark("wiring", "the first invocation's set-up: settings, boto3 clients, the Xero client, the services")
def wiring_init(quick: bool) -> list[Figure]:
    samples = 1 if quick else 9
    answers = probes([("wiring",)] * samples, parallel=quick)
    steps = list(answers[0])
    figures = [Figure("wiring", f"{step} (median)", median([float(a[step]) for a in answers]), "ms") for step in steps]
    total = [sum(float(v) for v in a.values()) for a in answers]
    figures.append(Figure("wiring", "all of it (median)", median(total), "ms", f"{samples} fresh interpreters"))
    return figures
