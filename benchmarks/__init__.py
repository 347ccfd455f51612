"""Benchmarks: ``python -m benchmarks`` (``make bench``) prints every figure; ``--quick`` is a smoke run."""
