"""`uprobe:PROG:func+N` must land on an instruction boundary (as bpftrace requires);
inside an instruction it is refused unless --unsafe, and a boundary offset attaches and
fires for real."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cbuild import build_c

from pytrace.probes.x86len import boundaries
from pytrace.runtime.elf import symbol_file_offset

ENV = dict(os.environ, PYTRACE_NO_CACHE="1")
PROG = r"""
#include <stdlib.h>
__attribute__((noinline)) long func(long x) { long y = x * 7; return y + 3; }
int main(int argc, char **argv) { long s = 0; for (int i = 0; i < atoi(argv[1]); i++) s += func(i); return s == 1; }
"""


@pytest.fixture(scope="module")
def prog(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_c(tmp_path_factory.mktemp("upoff"), "prog", PROG, "-O0")


def _starts(prog: str) -> list[int]:
    off = symbol_file_offset(prog, "func")
    with open(prog, "rb") as f:
        f.seek(off)
        code = f.read(64)
    return list(boundaries(code + b"\0" * 16, 20))


def _pytrace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True, text=True,
                          timeout=60, env=ENV)


def _inside(prog: str) -> int:
    starts = _starts(prog)
    i = next(k for k in range(len(starts) - 1) if starts[k + 1] - starts[k] > 1)
    return starts[i] + 1


def test_offset_inside_an_instruction_is_refused(prog: str) -> None:
    off = _inside(prog)
    attach = f"uprobe:{prog}:func+{off}"
    r = _pytrace("--dry-run", "-e", attach + " { @ = count(); }")
    assert r.returncode == 1
    first = r.stderr.splitlines()[0]
    assert first == f"stdin:1:1-{len(attach) + 1}: ERROR: Could not add uprobe into middle of instruction: " \
                    f"{prog}:func+{off}"
    assert "--unsafe" in r.stderr and "Traceback" not in r.stderr


def test_unsafe_allows_it(prog: str) -> None:
    r = _pytrace("--unsafe", "--dry-run", "-e", f"uprobe:{prog}:func+{_inside(prog)} {{ @ = count(); }}")
    assert r.returncode == 0, r.stderr


def test_offset_on_a_boundary_attaches_and_fires(prog: str) -> None:
    boundary = _starts(prog)[1]
    r = _pytrace("-e", f"uprobe:{prog}:func+{boundary} {{ @[probe] = count(); }}", "-c", f"{prog} 25")
    assert r.returncode == 0, r.stderr
    assert f"@[uprobe:{prog}:func+{boundary}]: 25" in r.stdout


def test_non_x86_binary_cannot_be_checked(tmp_path: Path) -> None:
    from pytrace.probes.base import ProbeError
    from pytrace.probes.uprobe import check_instruction_boundary

    fake = tmp_path / "arm"
    header = bytearray(open("/bin/true", "rb").read(64))
    header[18:20] = (183).to_bytes(2, "little")  # EM_AARCH64
    fake.write_bytes(bytes(header) + b"\0" * 64)
    with pytest.raises(ProbeError, match="Can't check if uprobe is in proper place"):
        check_instruction_boundary(str(fake), "f", 64, 1)
