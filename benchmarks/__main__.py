"""``python -m benchmarks`` (``make bench``): run every benchmark and print its figures.

python -m benchmarks                   # every figure, at full size
python -m benchmarks --quick           # a smoke run: checks the harness, the figures mean nothing
python -m benchmarks --only cold-start # some benchmarks (repeat --only)
"""

from __future__ import annotations

import argparse
import sys

from benchmarks import (  # noqa: F401 - importing them registers their benchmarks
    backfill,
    cold_start,
    memory,
    push,
    reconcile,
)
from benchmarks.framework import BENCHMARKS, Figure, render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smallest run that exercises every benchmark")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), help="run only this benchmark")
    args = parser.parse_args(argv)
    figures: list[Figure] = []
    for name, spec in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        print(f"running {name}: {spec.title}", file=sys.stderr)
        figures += spec.function(args.quick)
    print(render(figures, quick=args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
