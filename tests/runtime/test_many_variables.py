"""Many scalar variables live across helper calls compile into the 512-byte BPF stack
as they do in bpftrace (instructions scheduled for register pressure; printf/print
arguments computed before the ring-buffer reserve); a program that truly needs more
gets one located error, not an LLVM abort."""

from __future__ import annotations

import os

import pytest
from harness import begin, run

from pytrace.diagnostics import CompileError


def _vars(n: int) -> str:
    return "".join(f"$v{i} = pid + {i}; " for i in range(n))


def _sum(n: int) -> str:
    return " + ".join(f"$v{i}" for i in range(n))


@pytest.mark.parametrize("n", [70, 200])
def test_printf_of_many_variables(n: int) -> None:
    expected = n * os.getpid() + n * (n - 1) // 2
    assert begin(f'{_vars(n)}printf("%d\\n", {_sum(n)})') == f"{expected}\n\n\n"


def test_print_and_map_of_many_variables() -> None:
    expected = 70 * os.getpid() + 70 * 69 // 2
    r = run(f"BEGIN {{ {_vars(70)}print({_sum(70)}); @s = {_sum(70)}; exit(); }}")
    assert r.code == 0, r.err
    assert r.out == f"{expected}\n\n\n@s: {expected}\n"


def test_a_program_that_needs_more_stack_is_a_located_error() -> None:
    # every value is needed after a later helper call in another block: bpftrace
    # refuses this one too ("BPF stack limit of 512 bytes is exceeded")
    with pytest.raises(CompileError) as info:
        run(f"BEGIN {{ {_vars(70)}if (pid > 0) {{ @s = {_sum(70)}; }} exit(); }}")
    (diag,) = info.value.diagnostics
    assert diag.span is not None and diag.span.line == 1 and diag.span.col == 1
    assert "BPF stack limit" in diag.message
