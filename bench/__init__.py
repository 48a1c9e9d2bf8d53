"""Benchmarks (GitHub issue 8): `python -m bench.run`, never part of the test run."""
