"""The --bench table and the --test results, as text and JSON."""

from __future__ import annotations

import json

from pytrace.output.reports import (
    Outcome,
    bench_record,
    bench_table,
    outcome_lines,
    outcome_record,
    outcomes_summary,
)

TABLE = """\
+-----------+-------------+
| BENCHMARK | NANOSECONDS |
+-----------+-------------+
| count     | 40          |
| lhist     | 88          |
| my_loop   | 124         |
+-----------+-------------+
"""


def test_bench_table_of_the_reference() -> None:
    assert bench_table([("lhist", 88), ("count", 40), ("my_loop", 124)]) == TABLE


def test_bench_table_widens_for_long_names() -> None:
    out = bench_table([("a_very_long_benchmark_name", 123456789012)])
    assert "| a_very_long_benchmark_name | 123456789012 |" in out


def test_bench_record() -> None:
    rec = json.loads(bench_record([("b", 2), ("a", 1)]))
    assert rec == {"type": "benchmark_results", "data": {"a": 1, "b": 2}}


def test_passing_tests_hide_their_output_failing_ones_show_it() -> None:
    ok = Outcome("okay", True, output="hidden\n")
    bad = Outcome("failure", False, "returned 1", "shown")
    assert outcome_lines(ok) == "[ PASS ] okay\n"
    assert outcome_lines(bad) == "shown\n[ FAIL ] failure (returned 1)\n"
    assert outcomes_summary([ok, bad]) == "\n1 of 2 tests failed\n"
    assert outcomes_summary([ok]) == "\n1 test passed\n"
    assert json.loads(outcome_record(bad))["data"] == {"name": "failure", "passed": False,
                                                    "reason": "returned 1", "output": "shown"}
