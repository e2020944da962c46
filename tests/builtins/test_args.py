"""fentry/fexit parameters from kernel BTF: where each lies in the trampoline's context,
its type (pointers to kernel memory, ints with their signedness), retval after the
parameters, and `args` as one struct image."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pytrace.btf.types import KernelFunc
from pytrace.builtins.args import function_arg, function_args_struct, slots
from pytrace.diagnostics import Diagnostics
from pytrace.probes import expand
from pytrace.probes.target import ProbeTarget
from pytrace.resources import ProgType
from pytrace.source import Span
from pytrace.types import IntT, PtrT, StructT
from pytrace.typetable import TypeTable

SPAN = Span(1, 1, 1, 5)


@dataclass
class _Table:
    """A TypeTable stand-in that knows one made-up kernel function."""

    fn: KernelFunc

    def kernel_function(self, name: str, module: str = "") -> KernelFunc | None:
        return self.fn if name == self.fn.name else None


def _target(kind: str, func: str) -> ProbeTarget:
    return ProbeTarget(kind, f"{kind}:{func}", ProgType.TRACING, {"func": func, "btf_id": 1},
                       func=func)


def test_vfs_read_parameters_lie_one_word_each() -> None:
    table = TypeTable()
    t = expand("fexit:vfs_read")[0]
    assert [function_arg(t, n, table)[0] for n in ("file", "buf", "count", "pos")] == \
        [0, 8, 16, 24]
    off, ret = function_arg(t, "retval", table)
    assert off == 32 and ret == IntT(64, True)  # ssize_t, after the four parameters


def test_pointer_parameters_point_to_kernel_memory() -> None:
    _, t = function_arg(expand("fentry:vfs_read")[0], "file", TypeTable())
    assert isinstance(t, PtrT) and t.kernel and not t.user
    assert isinstance(t.pointee, StructT) and t.pointee.name == "struct file"


def test_int_parameter_keeps_its_width_and_signedness() -> None:
    _, fd = function_arg(expand("fentry:fget")[0], "fd", TypeTable())
    assert fd == IntT(32, False)


def test_fentry_has_no_retval() -> None:
    assert function_arg(expand("fentry:vfs_read")[0], "retval", TypeTable()) is None


def test_struct_by_value_takes_two_words() -> None:
    pair = StructT("struct pair", 16, (("a", IntT(64, False), 0), ("b", IntT(64, False), 8)))
    fn = KernelFunc("f", "vmlinux", 1, (("p", pair), ("n", IntT(32, True))), IntT(8, False))
    table = _Table(fn)
    t = _target("fexit", "f")
    assert slots(pair) == 2
    assert function_arg(t, "n", table)[0] == 16  # type: ignore[arg-type, index]
    assert function_arg(t, "retval", table)[0] == 24  # type: ignore[arg-type, index]


def test_args_struct_is_the_context_image() -> None:
    diags = Diagnostics()
    s = function_args_struct([expand("fentry:vfs_read")[0]], SPAN, diags, TypeTable())
    assert s is not None and s.byte_size == 32
    assert [(n, off) for n, _, off in s.fields] == \
        [("file", 0), ("buf", 8), ("count", 16), ("pos", 24)]


@pytest.mark.parametrize(("a", "b", "same"), [("vfs_read", "vfs_write", True),
                                               ("vfs_read", "tcp_reset", False)])
def test_args_struct_of_several_functions(a: str, b: str, same: bool) -> None:
    diags = Diagnostics()
    targets = [expand(f"fentry:{a}")[0], expand(f"fentry:{b}")[0]]
    s = function_args_struct(targets, SPAN, diags, TypeTable())
    assert (s is not None) is same
    assert diags.has_errors is not same
