"""info: the `--info` table layout (the report itself is checked in tests/runtime)."""

from __future__ import annotations

from pytrace.info import tabulate


def test_two_cells_a_line_each_35_wide() -> None:
    text = tabulate([("a", "yes"), ("bb", "no"), ("c", "1")])
    assert text == ("  a: yes".ljust(35) + "bb: no".ljust(35) + "\n" + "  c: 1".ljust(35) + "\n")


def test_empty_table() -> None:
    assert tabulate([]) == ""
