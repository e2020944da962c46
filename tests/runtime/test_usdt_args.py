"""usdt arg0..argN read as the stapsdt note says: registers (-O2), user memory at
register+offset (-O0) and constants, each sign- or zero-extended by its size.

Skipped when <sys/sdt.h> is absent (package systemtap-sdt-dev)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from cbuild import build_c
from harness import run

from pytrace.codegen.usdt import PT_REGS, UsdtArg, parse_usdt_arg, parse_usdt_args

PROG = r"""
#include <sys/sdt.h>
#include <unistd.h>
__attribute__((noinline)) int step(int x) { DTRACE_PROBE1(pt, step, x); return x * 2; }
int main(void) {
    volatile long big = -1234567890123L; volatile short s = -7;
    volatile unsigned char c = 200; volatile unsigned int u = 4000000000u;
    for (int i = 0; i < 3; i++) {
        step(i - 1);
        DTRACE_PROBE6(pt, many, i, big, s, c, u, -42);
        usleep(10000);
    }
    return 0;
}
"""
# What the program passes to `many`, per iteration i (arg0 = i).
EXPECTED = [f"{i} -1234567890123 -7 200 4000000000 -42" for i in range(3)]


def _sdt_available() -> bool:
    if shutil.which("gcc") is None:
        return False
    r = subprocess.run(["gcc", "-E", "-x", "c", "-"], input="#include <sys/sdt.h>\n",
                       capture_output=True, text=True)
    return r.returncode == 0


@pytest.fixture(scope="module", params=["-O0", "-O2"])
def prog(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if not _sdt_available():
        pytest.skip("<sys/sdt.h> is not installed (apt-get install systemtap-sdt-dev)")
    return build_c(tmp_path_factory.mktemp("usdt"), f"prog{request.param}", PROG, "-g", request.param)


def _notes(path: str) -> str:
    return subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout


def test_every_argument_reads_its_value(prog: str) -> None:
    r = run(f'usdt:{prog}:pt:many {{ printf("%ld %ld %ld %ld %ld %ld\\n", arg0, arg1, arg2, arg3, '
            "arg4, arg5); }", child=[prog])
    assert r.code == 0, r.err
    assert r.out.splitlines()[:3] == EXPECTED


def test_argument_in_a_register_or_memory(prog: str) -> None:
    r = run(f'usdt:{prog}:pt:step {{ @[arg0] = count(); printf("%d\\n", arg0); }}',
            child=[prog])
    assert r.code == 0, r.err
    assert r.out.splitlines()[:3] == ["-1", "0", "1"]


def test_both_builds_cover_registers_and_memory(prog: str) -> None:
    notes = _notes(prog)
    if "-O2" in prog:
        assert "@%" in notes  # a register operand
    else:
        assert "(%rbp)" in notes  # memory operands


def test_argument_past_the_last_is_an_error(prog: str) -> None:
    with pytest.raises(Exception, match="arg3 is not available"):
        run(f'usdt:{prog}:pt:step {{ printf("%d\\n", arg3); }}', child=[prog])


def test_parse_operands() -> None:
    assert parse_usdt_arg("-4@%edi") == UsdtArg(4, True, "reg", PT_REGS["rdi"])
    assert parse_usdt_arg("8@-8(%rbp)") == UsdtArg(8, False, "mem", PT_REGS["rbp"], -8)
    assert parse_usdt_arg("4@$5") == UsdtArg(4, False, "const", offset=5)
    assert parse_usdt_arg("-2@$-7") == UsdtArg(2, True, "const", offset=-7)
    assert parse_usdt_arg("1@%r8b") == UsdtArg(1, False, "reg", PT_REGS["r8"])
    assert parse_usdt_arg("-1@%sil") == UsdtArg(1, True, "reg", PT_REGS["rsi"])
    assert parse_usdt_arg("8@(%rax)") == UsdtArg(8, False, "mem", PT_REGS["rax"], 0)
    assert parse_usdt_arg("%rdx") == UsdtArg(8, False, "reg", PT_REGS["rdx"])
    assert len(parse_usdt_args("-4@%edi 8@16(%rsp) 4@$1")) == 3


@pytest.mark.parametrize("bad", ["3@%eax", "8@%xmm0", "8@8(%rax,%rbx,2)", "4@foo"])
def test_unsupported_operands_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_usdt_arg(bad)
