"""A program's own BTF (pytrace.btf.program): FUNC names, typed prototypes and the
`-lv` lines, from blobs built here (the one pytrace loads with its programs, and one
with named struct pointers, an unnamed parameter and a void function)."""

from __future__ import annotations

from btfbuild import BtfBuilder

from pytrace.btf import format as F
from pytrace.btf.program import ProgramBtf
from pytrace.runtime.elf import SubprogInfo
from pytrace.runtime.loader import func_btf
from pytrace.types import IntT, PtrT, StructT


def test_pytraces_own_btf_names_and_prototypes() -> None:
    blob, ids = func_btf([SubprogInfo(0, "prog_0", True), SubprogInfo(9, "prog_0_for", False)],
                         "tracepoint_syscalls_sys_enter_read")
    btf = ProgramBtf("prog_btf_1", blob)
    assert [btf.name_of(i) for i in ids] == ["tracepoint_syscalls_sys_enter_read",
                                             "tracepoint_syscalls_sys_enter_read_for"]
    main = btf.function(ids[0])
    assert main is not None
    assert main.name == "tracepoint_syscalls_sys_enter_read" and main.btf_id == ids[0]
    assert [n for n, _ in main.params] == ["ctx"]
    assert isinstance(main.params[0][1], PtrT) and main.ret == IntT(64, True)
    assert btf.param_lines(ids[1]) == ["void * map", "void * key", "void * value",
                                       "void * data", "long retval"]


def _blob() -> tuple[bytes, int, int]:
    b = BtfBuilder()
    int_t = b.int_("int", 4, signed=True)
    regs = b.struct("pt_regs", 8, [("ip", b.int_("unsigned long", 8), 0, 0)])
    regs_p = b.ptr(regs)
    proto = b.func_proto(int_t, [("regs", regs_p), ("", int_t)])
    handler = b.func("handler", proto)
    void_proto = b.func_proto(0, [("x", int_t)])
    helper = b.func("helper", void_proto, linkage=0)
    return b.blob(), handler, helper


def test_struct_pointers_stay_references_and_unnamed_params_are_argn() -> None:
    blob, handler, helper = _blob()
    btf = ProgramBtf("prog_btf_2", blob)
    fn = btf.function(handler)
    assert fn is not None
    (n0, t0), (n1, t1) = fn.params
    assert (n0, n1) == ("regs", "arg1")
    assert isinstance(t0, PtrT) and t0.pointee == StructT("struct pt_regs")
    assert t1 == IntT(32, True) and fn.ret == IntT(32, True)
    assert btf.param_lines(handler) == ["struct pt_regs * regs", "int", "int retval"]
    assert btf.param_lines(helper) == ["int x"]  # void: no retval line
    assert btf.function(helper) is not None and btf.function(helper).ret is None  # type: ignore[union-attr]


def test_ids_that_are_not_functions() -> None:
    blob, handler, _ = _blob()
    btf = ProgramBtf("prog_btf_3", blob)
    assert btf.name_of(1) is None and btf.function(1) is None and btf.param_lines(1) == []
    assert btf.name_of(9999) is None and btf.function(9999) is None
    assert btf.btf.raw_kind(handler) == F.FUNC


def test_a_blob_naming_types_it_lacks_is_not_a_crash() -> None:
    """Types past the blob's end (split BTF, a damaged blob): no prototype, no lines."""
    b = BtfBuilder()
    int_t = b.int_("int", 4, signed=True)
    proto = b.func_proto(int_t, [("p", 4242)])
    bad_param = b.func("bad_param", proto)
    bad_proto = b.func("bad_proto", 4343)
    btf = ProgramBtf("prog_btf_4", b.blob())
    assert btf.name_of(bad_param) == "bad_param"
    assert btf.function(bad_param) is None and btf.params(bad_param) == []
    assert btf.param_lines(bad_param) == ["int retval"]
    assert btf.function(bad_proto) is None and btf.param_lines(bad_proto) == []
