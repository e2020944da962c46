"""uprobes on source statements (`uprobe:BIN@FILE:LINE[:COL]`) fire where the DWARF line
table puts them: every evaluation of a line, only the taken branch of a column."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cbuild import build_c

ENV = dict(os.environ, PYTRACE_NO_CACHE="1")
SRC = """#include <stdlib.h>
volatile int total;
__attribute__((noinline)) void add(int x) {
    total += x;
    if (x % 2) total += 1;
}
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 5;
    for (int i = 0; i < n; i++) add(i);
    return 0;
}
"""


def pytrace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=60, env=ENV)


@pytest.fixture(scope="module")
def prog(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_c(tmp_path_factory.mktemp("lines"), "lines", SRC, "-g", "-O0")


def test_a_line_fires_each_time_it_runs(prog: str) -> None:
    r = pytrace("-e", f"uprobe:{prog}@lines.c:5 {{ @[probe, func] = count(); }}",
                "-c", f"{prog} 7")
    assert r.returncode == 0, r.stderr
    assert "Attached 1 probe" in r.stderr
    assert f"@[uprobe:{prog}@lines.c:5, add]: 7" in r.stdout.splitlines()


def test_a_column_fires_for_its_expression_only(prog: str) -> None:
    src = os.path.join(os.path.dirname(prog), "lines.c")  # an absolute file name too
    r = pytrace("-e", f"uprobe:{prog}@{src}:5:22 {{ @odd = count(); }} "
                      f"uprobe:{prog}@lines.c:4 {{ @sum = sum(arg0); }}", "-c", f"{prog} 7")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "@odd: 3" in lines  # x = 1, 3, 5 take the branch
    assert "@sum: 21" in lines  # arg0 (x) is still in rdi at the statement: 0+1+...+6


def test_errors_and_listing(prog: str) -> None:
    r = pytrace("-e", f"uprobe:{prog}@lines.c:40 {{ }}")
    assert r.returncode == 1 and "Could not resolve source location lines.c:40" in r.stderr
    r = pytrace("-e", f"uretprobe:{prog}@lines.c:5 {{ }}")
    assert r.returncode == 1 and "uretprobes cannot be attached to a source location" in r.stderr
    r = pytrace("-l", "-e", f"uprobe:{prog}@lines.c:5 {{ }}")
    assert r.returncode == 0 and r.stdout == f"uprobe:{prog}@lines.c:5\n", r.stderr
