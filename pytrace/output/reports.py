"""The reports of the run modes: the --bench results table and the --test results, as
text and as NDJSON records."""

from __future__ import annotations

from pytrace.frozen import frozen
from pytrace.output.json import json_str

BENCH_HEADERS = ("BENCHMARK", "NANOSECONDS")


@frozen
class Outcome:
    """One test probe's outcome: output is what it printed (shown when it failed)."""

    name: str
    passed: bool
    reason: str = ""  # why it failed: 'returned 1', 'exit(2)'
    output: str = ""


def bench_table(results: list[tuple[str, int]]) -> str:
    """The benchmarks as a table, by name: average nanoseconds per run."""
    rows = sorted((name, str(ns)) for name, ns in results)
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(BENCH_HEADERS)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+\n"

    def line(cells: tuple[str, str]) -> str:
        return "|" + "|".join(f" {c.ljust(w)} " for c, w in zip(cells, widths)) + "|\n"

    return rule + line(BENCH_HEADERS) + rule + "".join(line(r) for r in rows) + rule


def bench_record(results: list[tuple[str, int]]) -> str:
    body = ", ".join(f"{json_str(n)}: {ns}" for n, ns in sorted(results))
    return f'{{"type": "benchmark_results", "data": {{{body}}}}}\n'


def outcome_lines(r: Outcome) -> str:
    """`[ PASS ] name`, or the test's output then `[ FAIL ] name (reason)`."""
    if r.passed:
        return f"[ PASS ] {r.name}\n"
    out = r.output if not r.output or r.output.endswith("\n") else r.output + "\n"
    return out + f"[ FAIL ] {r.name} ({r.reason})\n"


def outcomes_summary(results: list[Outcome]) -> str:
    failed = sum(1 for r in results if not r.passed)
    n = len(results)
    noun = "test" if n == 1 else "tests"
    if failed:
        return f"\n{failed} of {n} {noun} failed\n"
    return f"\n{n} {noun} passed\n"


def outcome_record(r: Outcome) -> str:
    return (f'{{"type": "test_result", "data": {{"name": {json_str(r.name)}, '
            f'"passed": {"true" if r.passed else "false"}, "reason": {json_str(r.reason)}, '
            f'"output": {json_str(r.output)}}}}}\n')
