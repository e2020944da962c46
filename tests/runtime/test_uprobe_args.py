"""`args.NAME` in uprobes, typed from the binary's DWARF: strings, narrow and negative
integers, typedefs, enums, struct pointers, a parameter after a floating point one (it
takes no integer register), the 7th integer parameter (on the stack), and the errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cbuild import build_c

ENV = dict(os.environ, PYTRACE_NO_CACHE="1")
SRC = r"""
#include <string.h>
struct point { int x; int y; };
typedef unsigned short port_t;
enum colour { RED = 1, GREEN = 2 };
volatile long sink;
__attribute__((noinline)) int greet(const char *who, int times, port_t port, long delta,
                                    struct point *pt, double ratio, char tag, enum colour c,
                                    long seventh) {
    sink = (long)strlen(who) + times + port + delta + pt->x + pt->y + (long)ratio + tag + c
           + seventh;
    return (int)sink;
}
int main(void) {
    struct point p = {3, 4};
    for (int i = 0; i < 3; i++) greet("bob", -i, 8080, -5000000000L, &p, 1.5, 'z', GREEN, 77 + i);
    return 0;
}
"""


def pytrace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=60, env=ENV)


@pytest.fixture(scope="module")
def prog(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_c(tmp_path_factory.mktemp("uargs"), "uargs", SRC, "-g", "-O1")


def test_parameters_by_name(prog: str) -> None:
    program = ("struct point { int x; int y; } "
               f"uprobe:{prog}:greet {{ printf(\"%s %d %d %ld %d %c %d %d\\n\", str(args.who), "
               "args.times, args.port, args.delta, args.pt->y, args.tag, args.c, "
               "args.seventh); }")
    r = pytrace("-e", program, "-c", prog)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("bob")]
    assert lines == [f"bob {-i} 8080 -5000000000 4 z 2 {77 + i}" for i in range(3)]


@pytest.mark.parametrize(("expr", "error"), [
    ("args.ratio", "args.ratio of greet cannot be read through args"),
    ("args.nosuch", "args.nosuch is not a parameter of greet"),
])
def test_parameters_that_cannot_be_read(prog: str, expr: str, error: str) -> None:
    r = pytrace("-e", f"uprobe:{prog}:greet {{ print({expr}); }}")
    assert r.returncode == 1 and error in r.stderr.splitlines()[0], r.stderr
    assert "Traceback" not in r.stderr


def test_no_dwarf(tmp_path: object) -> None:
    plain = build_c(tmp_path, "plain", "int f(int a) { return a; }\nint main(void) "  # type: ignore[arg-type]
                    "{ return f(0); }\n")
    r = pytrace("-e", f"uprobe:{plain}:f {{ print(args.a); }}")
    assert r.returncode == 1 and "no DWARF found" in r.stderr, r.stderr
