"""Cold start: importing each function's handler module in a fresh interpreter, side by side with the import
floor (Powertools' Logger and Metrics, boto3, httpx and pydantic: what every function needs before any code
of ours) and a bare Powertools handler, measured in the same run; each function's ratio to the floor; then
the first invocation's set-up of the wiring."""

from __future__ import annotations

from benchmarks.framework import Figure, benchmark, median, p90
from benchmarks.subprocesses import probes

FLOOR = "floor (Powertools + boto3 + httpx + pydantic)"
BARE = "bare Powertools handler"
HANDLERS = {
    FLOOR: "benchmarks.floor_handler",
    BARE: "benchmarks.bare_handler",
    "oauth": "functions.oauth.handler",
    "management": "functions.management.handler",
    "intake": "functions.intake.handler",
    "push": "functions.push.handler",
    "sweep": "functions.sweep.handler",
    "reconcile": "functions.reconcile.handler",
    "settings page": "functions.settings_page.handler",
}
FUNCTIONS = [name for name in HANDLERS if name not in (FLOOR, BARE)]
# Every function's import stays within this multiple of the floor (the push's imports are still being reworked).
CEILING = 1.2


@benchmark("cold-start", "import time of each handler module in a fresh interpreter")
def cold_start(quick: bool) -> list[Figure]:
    samples = 1 if quick else 15
    if not quick:
        probes([("import", module) for module in HANDLERS.values()], parallel=False)  # warm the bytecode cache
    # Round-robin, one of each module in turn: a machine whose load changes meanwhile weighs on all alike.
    runs = [("import", module) for _ in range(samples) for module in HANDLERS.values()]
    answers = probes(runs, parallel=quick)
    timings: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    for (_, module), answer in zip(runs, answers, strict=True):
        timings.setdefault(module, []).append(float(answer["ms"]))
        cpu.setdefault(module, []).append(float(answer["cpu_ms"]))
    floor = median(timings[HANDLERS[FLOOR]])
    cpu_floor = median(cpu[HANDLERS[FLOOR]])
    figures = []
    for name, module in HANDLERS.items():
        values = timings[module]
        note = f"{len(values)} fresh interpreters, .pyc cached"
        if name in FUNCTIONS:
            note += f"; {median(values) - floor:+.0f} ms against the floor"
        figures.append(Figure("cold-start", f"import {name} (median)", median(values), "ms", note))
        figures.append(Figure("cold-start", f"import {name} (p90)", p90(values), "ms"))
        figures.append(Figure("cold-start", f"import {name} CPU (median)", median(cpu[module]), "ms"))
    for name in FUNCTIONS:
        ratio = median(timings[HANDLERS[name]]) / floor
        verdict = "within" if ratio <= CEILING else "above"
        note = f"median over the floor's median; {verdict} the {CEILING:g}x ceiling"
        figures.append(Figure("cold-start", f"{name} / floor", ratio, "x", note))
        cpu_ratio = median(cpu[HANDLERS[name]]) / cpu_floor
        verdict = "within" if cpu_ratio <= CEILING else "above"
        note = f"CPU time (what a busy machine does not inflate); {verdict} the {CEILING:g}x ceiling"
        figures.append(Figure("cold-start", f"{name} / floor, CPU", cpu_ratio, "x", note))
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
