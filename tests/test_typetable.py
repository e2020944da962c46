"""TypeTable: C definitions first, then base types, then kernel BTF."""

from __future__ import annotations

import os

import pytest

from pytrace.btf import have_btf
from pytrace.types import IntT, PtrT, StructT
from pytrace.typetable import TypeTable, normalize

FOO = StructT("struct foo", 8, (("a", IntT(32, True), 0), ("next", PtrT(StructT("struct foo")), 0)))


def _need_btf() -> None:
    if not have_btf():
        if os.environ.get("PYTRACE_REQUIRE_KERNEL") == "1":
            pytest.fail("the kernel has no BTF")
        pytest.skip("the kernel has no BTF")


def test_defined_types_and_base_names_without_btf() -> None:
    t = TypeTable({"struct foo": FOO, "foo_t": FOO}, btf=False)
    assert t.lookup("struct  foo") is FOO and t.lookup("foo_t") is FOO
    assert t.lookup("foo") is FOO  # a bare tag name
    assert t.lookup("unsigned long") == IntT(64, False) and t.lookup("char") == IntT(8, True)
    assert t.lookup("struct task_struct") is None and t.btf() is None
    assert t.complete(StructT("struct foo")) is FOO
    assert t.complete(StructT("struct bar")) == StructT("struct bar")
    assert t.suggestions("struct fo") == ["struct foo"]
    assert normalize(" struct   x ") == "struct x"


def test_btf_behind_the_definitions() -> None:
    _need_btf()
    mine = StructT("struct task_struct", 4, (("only", IntT(32, True), 0),))
    t = TypeTable({"struct task_struct": mine})
    assert t.lookup("struct task_struct") is mine  # the program's definition wins
    assert isinstance(t.lookup("struct mm_struct"), StructT)
    assert t.lookup("u64") == IntT(64, False)
    assert "struct task_struct" in t.suggestions("struct task_strct")
    proto = t.func("do_sys_openat2")
    assert proto is not None and [n for n, _ in proto.params] == ["dfd", "filename", "how"]
    args = t.raw_tracepoint_args("sched_switch")
    assert args is not None and [n for n, _ in args][:3] == ["preempt", "prev", "next"]
    tp = t.tracepoint_struct("sched_switch")
    assert tp is not None and tp.field("prev_pid") is not None
