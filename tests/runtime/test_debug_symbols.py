"""Functions only a separate debug file names: a local libc function (from libc6-dbg's
build-id file) attaches and fires, and a stripped binary with a .gnu_debuglink is probed
and listed (`-lv` parameters from the debug file's DWARF) as bpftrace does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cbuild import build_c

from pytrace.probes.debugfile import debug_file
from pytrace.probes.userpaths import resolve

ENV = dict(os.environ, PYTRACE_NO_CACHE="1")

CONSOLIDATE = r"""
#include <stdlib.h>
/* freed small chunks go to the fast bins; a large request consolidates them */
int main(void) {
    for (int r = 0; r < 3; r++) {
        void *p[32];
        for (int i = 0; i < 32; i++) p[i] = malloc(64);
        for (int i = 0; i < 32; i++) free(p[i]);
        free(malloc(100000));
    }
    return 0;
}
"""

SPLIT = r"""
static __attribute__((noinline)) int hidden_add(int left, long right) { return left + right; }
int main(int argc, char **argv) { return hidden_add(argc, 2) == 3 ? 0 : 1; }
"""


def pytrace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=60, env=ENV)


def test_a_local_libc_function_from_the_debug_package(tmp_path: Path) -> None:
    libc = resolve("uprobe", "libc")[0].path
    if debug_file(libc) is None:
        pytest.skip("no debug file for libc (libc6-dbg is not installed)")
    prog = build_c(tmp_path, "consol", CONSOLIDATE, "-O0")
    r = pytrace("-e", 'uprobe:libc:malloc_consolidate /comm == "consol"/ '
                      "{ @[probe] = count(); }", "-c", prog)
    assert r.returncode == 0, r.stderr
    assert f"@[uprobe:{libc}:malloc_consolidate]: 3" in r.stdout.splitlines()
    listed = pytrace("-lv", "uprobe:libc:malloc_consolidate")
    assert listed.stdout.splitlines() == [f"uprobe:{libc}:malloc_consolidate", "    mstate av"]


def test_a_stripped_binary_with_a_debuglink(tmp_path: Path) -> None:
    if shutil.which("objcopy") is None:
        pytest.skip("binutils (objcopy) is not installed")
    prog = build_c(tmp_path, "split", SPLIT, "-g", "-O1")
    debug = prog + ".debug"
    for args in (["--only-keep-debug", prog, debug], ["--strip-all", prog],
                 [f"--add-gnu-debuglink={debug}", prog]):
        subprocess.run(["objcopy", *args], check=True)
    r = pytrace("-e", f"uprobe:{prog}:hidden_add {{ printf(\"%d %d\\n\", arg0, arg1); }}",
                "-c", f"{prog} x y")
    assert r.returncode == 0, r.stderr
    assert "3 2" in r.stdout.splitlines()
    listed = pytrace("-lv", f"uprobe:{prog}:hidden*")
    assert listed.stdout.splitlines() == [f"uprobe:{prog}:hidden_add", "    int left",
                                          "    long int right"]
    assert "No DWARF" not in listed.stderr
