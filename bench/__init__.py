"""Benchmarks of pytrace side by side with bpftrace (run by hand: `python bench/run.py`)."""
