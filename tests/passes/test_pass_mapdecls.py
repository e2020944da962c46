"""Map declarations: checked, recorded, matched against the values stored."""

from __future__ import annotations

import pytest


def test_declarations_are_recorded(checked) -> None:
    cp = checked("let @a = lruhash(100);\nlet @b = percpuhash(8);\n"
                 "begin { @a[1] = 2; @b[comm] = count(); }")
    assert cp.maps["@a"].decl.kind == "lruhash" and cp.maps["@a"].decl.max_entries == 100
    assert cp.maps["@b"].decl.percpu


@pytest.mark.parametrize(("text", "message"), [
    ("let @a = tree(4);\nbegin { @a = 1; }", "Invalid map type: tree"),
    ("let @a = hash(0);\nbegin { @a = 1; }",
     "the maximum number of entries of @a must be an integer literal from 1 to 16777216"),
    ("let @a = hash(1, 2);\nbegin { @a = 1; }",
     "hash() takes one argument, the maximum number of entries (2 provided)"),
    ("let @a = hash(4);\nlet @a = hash(5);\nbegin { @a = 1; }", "Map @a is declared twice"),
    ("let @a = hash(4);\nbegin { @a = count(); }",
     "Incompatible map type for @a: it is declared hash, but its count values need a per-CPU "
     "map type (percpuhash, percpulruhash or percpuarray)"),
    ("let @a = percpulruhash(4);\nbegin { @a[1] = 5; }",
     "Incompatible map type for @a: it is declared percpulruhash, but per-CPU maps hold "
     "aggregations (count(), sum() ...), not plain values"),
    ('let @a = percpuarray(4);\nbegin { @a["x"] = count(); }',
     "@a is declared percpuarray: its key must be an integer from 0 to 3, not 'string[2]'"),
])
def test_bad_declarations(errors, text: str, message: str) -> None:
    assert [m for m, _ in errors(text)] == [message]


def test_unused_declaration_warns(checked) -> None:
    cp = checked("let @u = hash(4);\nbegin { }")
    assert [d.message for d in cp.diagnostics] == ["Unused map: @u"]
