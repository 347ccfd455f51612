"""``python -m tests.proof``: start the stack, run every scenario, print the table; exit 1 if an invariant failed.

python -m tests.proof                 # full size (make proof)
python -m tests.proof --short         # the size make test runs
python -m tests.proof --only tokens   # some scenarios (repeat --only)
python -m tests.proof --verbose       # every invariant, not only the failed ones
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from tests.proof.framework import FULL, SCENARIOS, SHORT, render, render_checks, run_suite
from tests.proof.stack import ProofStack


def main(argv: list[str] | None = None) -> int:
    import tests.proof.scenarios  # noqa: F401 - registers every scenario

    parser = argparse.ArgumentParser(prog="python -m tests.proof", description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the small size make test runs")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), help="run only this scenario")
    parser.add_argument("--verbose", action="store_true", help="print every invariant")
    parser.add_argument("--logs", type=Path, help="write the service's log lines (JSON, redacted) to this file")
    args = parser.parse_args(argv)
    # moto and botocore still call datetime.utcnow(); not the service's code, and not the proof's concern.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(moto|botocore)\b")
    with ProofStack() as stack:
        report = run_suite(stack, SHORT if args.short else FULL, args.only)
        if args.logs:
            args.logs.write_text(stack.evidence.log_text())
    print(render(report))
    if args.verbose:
        print()
        print(render_checks(report))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
