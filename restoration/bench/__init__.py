"""Benchmarks: `python -m restoration.bench speed` and `python -m restoration.bench quality`."""
