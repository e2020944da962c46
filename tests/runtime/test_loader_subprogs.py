"""Loader: static subprograms (bpf_for_each_map_elem callbacks, BPF-to-BPF calls) are
linked after each program that uses them, with BTF func_info, and run in the kernel."""

from __future__ import annotations

import struct

import pytest
from bpfasm import compile_ir, hash_map, make_object, probe

from pytrace.resources import ProgType
from pytrace.runtime import maps
from pytrace.runtime.attach import run_test
from pytrace.runtime.elf import (
    BPF_PSEUDO_CALL,
    BPF_PSEUDO_FUNC,
    ElfError,
    link_program,
    parse_bpf_elf,
)
from pytrace.runtime.loader import LoadedObject, func_btf

RAW = ProgType.RAW_TRACEPOINT
FOR_EACH = "inttoptr (i64 164 to ptr)"

# cb_count adds 1 per element, cb_sum adds the value; p_count/p_sum return the result.
CALLBACKS = f"""
define internal i64 @cb_count(ptr %m, ptr %k, ptr %v, ptr %c) #0 section ".text" {{
  %o = load i64, ptr %c
  %n = add i64 %o, 1
  store i64 %n, ptr %c
  ret i64 0
}}
define internal i64 @cb_sum(ptr %m, ptr %k, ptr %v, ptr %c) #0 section ".text" {{
  %o = load i64, ptr %c
  %x = load i64, ptr %v
  %n = add i64 %o, %x
  store i64 %n, ptr %c
  ret i64 0
}}
define internal i64 @cb_unused(ptr %m, ptr %k, ptr %v, ptr %c) #0 section ".text" {{
  ret i64 1
}}
define i64 @p_count(ptr %ctx) #0 section "raw_tracepoint/count" {{
  %s = alloca i64, align 8
  store i64 0, ptr %s
  %r = call i64 {FOR_EACH}(ptr @m, ptr @cb_count, ptr %s, i64 0)
  %n = load i64, ptr %s
  ret i64 %n
}}
define i64 @p_sum(ptr %ctx) #0 section "raw_tracepoint/sum" {{
  %s = alloca i64, align 8
  store i64 0, ptr %s
  %r = call i64 {FOR_EACH}(ptr @m, ptr @cb_sum, ptr %s, i64 0)
  %t = load i64, ptr %s
  store i64 0, ptr %s
  %r2 = call i64 {FOR_EACH}(ptr @m, ptr @cb_count, ptr %s, i64 0)
  %n = load i64, ptr %s
  %hi = shl i64 %n, 16
  %both = or i64 %hi, %t
  ret i64 %both
}}
"""

CALLS = """
define internal i64 @triple(i64 %x) #1 section ".text" {
  %y = mul i64 %x, 3
  ret i64 %y
}
define internal i64 @plus_triple(i64 %x) #1 section ".text" {
  %t = call i64 @triple(i64 %x)
  %y = add i64 %t, 1
  ret i64 %y
}
define i64 @p(ptr %ctx) #0 section "raw_tracepoint/p" {
  %pt = call i64 inttoptr (i64 5 to ptr)()
  %small = and i64 %pt, 0
  %x = add i64 %small, 13
  %r = call i64 @plus_triple(i64 %x)
  ret i64 %r
}
"""


def _insn(code: bytes, index: int) -> tuple[int, int, int]:
    op, regs, _off, imm = struct.unpack_from("<BBhi", code, index * 8)
    return op, regs >> 4, imm


def test_callback_address_is_linked_as_pseudo_func() -> None:
    elf = parse_bpf_elf(compile_ir('@m = dso_local global i64 0, section ".maps", align 8\n'
                                   + CALLBACKS))
    linked = link_program(elf, "raw_tracepoint/count")
    names = [f.name for f in linked.functions]
    assert names == ["p_count", "cb_count"]  # cb_sum and cb_unused are not appended
    main, cb = linked.functions
    assert main.main and main.insn == 0 and not cb.main
    assert len(linked.code) // 8 == cb.insn + elf.symbol("cb_count").size // 8  # type: ignore[union-attr]
    funcs = [i for i in range(cb.insn) if _insn(linked.code, i)[:2] == (0x18, BPF_PSEUDO_FUNC)]
    assert len(funcs) == 1
    assert funcs[0] + 1 + _insn(linked.code, funcs[0])[2] == cb.insn
    assert [r.target for r in linked.relocations] == ["m"]
    assert all(r.offset < cb.insn * 8 for r in linked.relocations)


def test_one_callback_used_twice_is_appended_once() -> None:
    elf = parse_bpf_elf(compile_ir('@m = dso_local global i64 0, section ".maps", align 8\n'
                                   + CALLBACKS))
    linked = link_program(elf, "raw_tracepoint/sum")
    assert sorted(f.name for f in linked.functions[1:]) == ["cb_count", "cb_sum"]
    starts = {f.insn for f in linked.functions[1:]}
    refs = [i + 1 + _insn(linked.code, i)[2] for i in range(len(linked.code) // 8)
            if _insn(linked.code, i)[:2] == (0x18, BPF_PSEUDO_FUNC)]
    assert len(refs) == 2 and set(refs) == starts


def test_nested_static_calls_are_linked_transitively() -> None:
    linked = link_program(parse_bpf_elf(compile_ir(CALLS)), "raw_tracepoint/p")
    assert [f.name for f in linked.functions] == ["p", "plus_triple", "triple"]
    starts = {f.insn for f in linked.functions}
    calls = [(i, _insn(linked.code, i)) for i in range(len(linked.code) // 8)
             if _insn(linked.code, i)[:2] == (0x85, BPF_PSEUDO_CALL)]
    assert len(calls) == 2
    assert all(i + 1 + imm in starts for i, (_op, _src, imm) in calls)


def test_call_to_an_undefined_function_is_refused() -> None:
    ir = """
declare i64 @elsewhere(i64)
define i64 @p(ptr %ctx) #0 section "raw_tracepoint/p" {
  %r = call i64 @elsewhere(i64 1)
  ret i64 %r
}
"""
    with pytest.raises(ElfError, match="unsupported relocation type 10 against 'elsewhere'"):
        parse_bpf_elf(compile_ir(ir))


def test_func_btf_layout() -> None:
    from pytrace.runtime.elf import SubprogInfo

    blob, ids = func_btf([SubprogInfo(0, "prog_0", True), SubprogInfo(9, "cb.0", False)])
    magic, version, _flags, hdr, _toff, tlen, soff, slen = struct.unpack_from("<HBBIIIII", blob)
    assert (magic, version, hdr) == (0xEB9F, 1, 24) and soff == tlen
    assert len(blob) == 24 + tlen + slen
    assert ids == [5, 6]
    strings = blob[24 + soff:]
    assert b"prog_0\0" in strings and b"cb_0\0" in strings  # names made identifiers


def test_for_each_callbacks_run_in_the_kernel(open_fds) -> None:
    before = open_fds()
    m = hash_map("@m", "m")
    obj = make_object(CALLBACKS, [m], [probe("count", "BEGIN", "raw_tracepoint/count", RAW),
                                       probe("sum", "BEGIN", "raw_tracepoint/sum", RAW, index=1)])
    with LoadedObject(obj) as lo:
        count, total = lo.prog_fd("count"), lo.prog_fd("sum")
        assert run_test(count) == 0
        for k in range(1, 8):
            maps.update(lo.map_fd("@m"), m, struct.pack("<Q", k), struct.pack("<Q", k * 10))
        assert run_test(count) == 7
        assert run_test(total) == (7 << 16) | 280
        maps.delete(lo.map_fd("@m"), struct.pack("<Q", 3), m)
        assert run_test(count) == 6
    assert open_fds() == before


def test_bpf_to_bpf_calls_run_in_the_kernel() -> None:
    obj = make_object(CALLS, [], [probe("BEGIN", "BEGIN", "raw_tracepoint/p", RAW)])
    with LoadedObject(obj) as lo:
        assert run_test(lo.prog_fd("BEGIN")) == 13 * 3 + 1


def test_func_btf_names_the_main_function_after_the_probe() -> None:
    from pytrace.runtime.elf import SubprogInfo
    from pytrace.runtime.loader import program_name

    blob, _ids = func_btf([SubprogInfo(0, "prog_0", True), SubprogInfo(9, "cb.0", False),
                           SubprogInfo(20, "prog_0_for", False)], "uprobe_bin_bash_readline")
    strings = blob[24 + struct.unpack_from("<I", blob, 16)[0]:]
    assert b"\0uprobe_bin_bash_readline\0" in strings and b"prog_0" not in strings
    assert b"\0uprobe_bin_bash_readline_for\0" in strings and b"\0cb_0\0" in strings
    spec = probe("uprobe:/bin/bash:readline", "uprobe", "uprobe/p", RAW)
    assert program_name(spec) == "uprobe_bin_bash_readline"
    assert len(program_name(probe("uprobe:/" + "a" * 300 + ":f", "uprobe", "s", RAW))) == 127
