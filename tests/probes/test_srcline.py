"""Statements of a DWARF line table by file, line and column (relative and absolute file
names, rows of included files never matching), and the uprobe attach points on them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pytrace.probes import ProbeError, expand
from pytrace.probes.elfsyms import image
from pytrace.probes.srcline import statement_address
from pytrace.probes.uprobe import source_location

HEADER = "static inline int twice(int v) {\n    return 2 * v;\n}\n"
SRC = """#include "twice.h"
volatile int total;
__attribute__((noinline)) void add(int x) {
    total += twice(x);
    if (x % 2) total += 1;
}
int main(void) { add(1); return 0; }
"""

Build = Callable[..., str]


@pytest.fixture
def lines(cc: Build, tmp_path: Path) -> str:
    (tmp_path / "twice.h").write_text(HEADER)
    return cc("lines", SRC, "-g", "-O0", f"-I{tmp_path}")


def test_attach_point_spelling() -> None:
    assert source_location(["/bin/x@a.c", "12"]) == ("/bin/x", "a.c", 12, None)
    assert source_location(["/bin/x@src/a.c", "12", "7"]) == ("/bin/x", "src/a.c", 12, 7)
    assert source_location(["/bin/x", "main"]) is None
    assert source_location(["/bin/x@a.c", "main"]) is None  # not a line number


def test_lines_columns_and_file_names(lines: str, tmp_path: Path) -> None:
    add = image(lines).functions["add"]
    line5 = statement_address(lines, "lines.c", 5, None)
    assert line5 is not None and add.addr <= line5 < add.addr + add.size
    col = statement_address(lines, "lines.c", 5, 22)  # `+= 1` (gcc places it at the operator)
    assert col is not None and col > line5
    assert statement_address(str(lines), str(tmp_path / "lines.c"), 5, None) == line5
    assert statement_address(lines, "other.c", 5, None) is None
    assert statement_address(lines, "lines.c", 5, 99) is None
    assert statement_address(lines, "lines.c", 2, None) is None  # a declaration
    assert statement_address(lines, "twice.h", 2, None) is not None  # the header's own
    assert statement_address(lines, "lines.c", 2, None) is None


def test_uprobe_targets(lines: str) -> None:
    (t,) = expand(f"uprobe:{lines}@lines.c:5")
    assert t.name == f"uprobe:{lines}@lines.c:5" and t.func == "add"
    img = image(lines)
    assert t.attach["offset"] == img.file_offset(statement_address(lines, "lines.c", 5, None))
    with pytest.raises(ProbeError, match="Could not resolve source location lines.c:40"):
        expand(f"uprobe:{lines}@lines.c:40")


def test_no_dwarf(cc: Build) -> None:
    plain = cc("plain", "int main(void) { return 0; }\n")
    with pytest.raises(ProbeError, match="No DWARF found"):
        expand(f"uprobe:{plain}@plain.c:1")
