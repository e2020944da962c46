"""Loader: maps created, relocations patched, verifier errors and refusals, no fd leaks."""

from __future__ import annotations

import os
import struct

import pytest
from bpfasm import (
    LOOKUP,
    counter_fn,
    hash_map,
    make_object,
    map_global,
    probe,
    ringbuf_fn,
    ringbuf_maps,
)

from pytrace.resources import BpfObject, MapKind, ProgType, Resources
from pytrace.runtime import maps
from pytrace.runtime.attach import run_test
from pytrace.runtime.elf import ElfError
from pytrace.runtime.errors import VerifierError
from pytrace.runtime.loader import LoadedObject, enable_stats, kernel_name, prog_stats
from pytrace.runtime.ringbuf import RingBuffer

RAW = ProgType.RAW_TRACEPOINT


def begin_counter() -> BpfObject:
    m = hash_map("@n", "n")
    return make_object(counter_fn("begin", "raw_tracepoint/begin", "n", "zero"), [m],
                       [probe("BEGIN", "BEGIN", "raw_tracepoint/begin", RAW)])


def test_kernel_names_are_short_and_sanitized() -> None:
    assert kernel_name("@a_really_long_map_name_here") == "a_really_long_m"
    assert kernel_name("@x:y") == "x_y"
    assert len(kernel_name("__ringbuf_with_more")) <= 15


def test_begin_program_updates_map_via_test_run(open_fds) -> None:
    before = open_fds()
    with LoadedObject(begin_counter()) as obj:
        fd = obj.prog_fd("BEGIN")
        run_test(fd)
        run_test(fd)
        spec = obj.specs["@n"]
        assert maps.lookup(obj.map_fd("@n"), spec, bytes(8)) == [struct.pack("<Q", 2)]
    assert open_fds() == before


def test_begin_writes_a_ringbuf_record() -> None:
    rb, lost = ringbuf_maps()
    ir = ringbuf_fn("begin", "raw_tracepoint/begin", "rb", "lost", 5)
    obj = make_object(ir, [rb, lost], [probe("BEGIN", "BEGIN", "raw_tracepoint/begin", RAW)])
    with LoadedObject(obj) as lo, RingBuffer(lo.map_fd("__ringbuf"), rb.max_entries) as ring:
        run_test(lo.prog_fd("BEGIN"))
        records = ring.drain()
        assert [struct.unpack("<QQ", r) for r in records] == [(5, os.getpid())]
        assert maps.read_lost(lo.map_fd("__lost")) == 0


def test_verifier_rejection_names_probe_and_carries_log(open_fds) -> None:
    m = hash_map("@n", "n")
    ir = f"""
define i64 @bad(ptr %ctx) #0 section "raw_tracepoint/bad" {{
  %k = alloca i64, align 8
  store i64 0, ptr %k
  %v = call ptr {LOOKUP}(ptr @n, ptr %k)
  %x = load i64, ptr %v
  ret i64 %x
}}
"""
    obj = make_object(ir, [m], [probe("BEGIN", "BEGIN", "raw_tracepoint/bad", RAW)])
    before = open_fds()
    with pytest.raises(VerifierError) as info:
        LoadedObject(obj)
    assert info.value.program == "BEGIN"
    assert "map_value_or_null" in info.value.log
    assert "BEGIN" in str(info.value) and "\n" not in str(info.value)
    assert open_fds() == before


def test_unknown_relocation_is_refused() -> None:
    ir = """
declare i64 @helper(i64)
define i64 @p(ptr %ctx) #0 section "raw_tracepoint/p" {
  %pt = call i64 inttoptr (i64 14 to ptr)()
  %r = call i64 @helper(i64 %pt)
  ret i64 %r
}
"""
    obj = make_object(ir, [], [probe("BEGIN", "BEGIN", "raw_tracepoint/p", RAW)])
    with pytest.raises(ElfError, match="unsupported relocation type 10"):
        LoadedObject(obj)


def test_relocation_against_writable_global_is_refused() -> None:
    ir = """
@g = dso_local global i64 0, section ".data", align 8
define i64 @p(ptr %ctx) #0 section "raw_tracepoint/p" {
  %x = load volatile i64, ptr @g
  ret i64 %x
}
"""
    obj = make_object(ir, [], [probe("BEGIN", "BEGIN", "raw_tracepoint/p", RAW)])
    with pytest.raises(ElfError, match="neither a map nor read-only data"):
        LoadedObject(obj)


def test_rodata_is_loaded_into_a_frozen_map() -> None:
    hm = hash_map("@n", "n")
    ir = """
@tbl = private unnamed_addr constant [4 x i64] [i64 11, i64 22, i64 33, i64 44], align 8
define i64 @p(ptr %ctx) #0 section "raw_tracepoint/p" {
  %k = alloca i64, align 8
  %v = alloca i64, align 8
  store i64 0, ptr %k
  %pt = call i64 inttoptr (i64 14 to ptr)()
  %i = and i64 %pt, 3
  %e = getelementptr [4 x i64], ptr @tbl, i64 0, i64 %i
  %x = load volatile i64, ptr %e
  store i64 %x, ptr %v
  %r = call i64 inttoptr (i64 2 to ptr)(ptr @n, ptr %k, ptr %v, i64 0)
  ret i64 0
}
"""
    obj = make_object(ir, [hm], [probe("BEGIN", "BEGIN", "raw_tracepoint/p", RAW)])
    with LoadedObject(obj) as lo:
        run_test(lo.prog_fd("BEGIN"))
        got = maps.lookup(lo.map_fd("@n"), hm, bytes(8))
        assert got is not None
        assert struct.unpack("<Q", got[0])[0] == [11, 22, 33, 44][os.getpid() & 3]


def test_more_program_groups_share_the_maps(open_fds) -> None:
    before = open_fds()
    first = begin_counter()
    lo = LoadedObject(first)
    try:
        m2 = hash_map("@m", "m")
        # the new object names the existing map @n by another ELF symbol
        ir = counter_fn("again", "raw_tracepoint/again", "n2", "zero") + \
            counter_fn("other", "raw_tracepoint/other", "m", "zero")
        decls = map_global("n2") + map_global("m")
        from bpfasm import compile_ir
        second = BpfObject(compile_ir(decls + ir), Resources(
            (hash_map("@n", "n2"), m2),
            (probe("END", "END", "raw_tracepoint/again", RAW, index=1),
             probe("BEGIN", "BEGIN", "raw_tracepoint/other", RAW, index=2))))
        group = lo.add_object(second)
        run_test(lo.prog_fd("BEGIN"))
        run_test(group[0].fd)
        assert maps.lookup(lo.map_fd("@n"), lo.specs["@n"], bytes(8)) == [struct.pack("<Q", 2)]
        run_test(group[1].fd)
        assert maps.lookup(lo.map_fd("@m"), m2, bytes(8)) == [struct.pack("<Q", 1)]
        lo.unload(group)
        assert len(lo.programs) == 1
    finally:
        lo.close()
    assert open_fds() == before


def test_prog_stats_count_runs() -> None:
    stats_fd = enable_stats()
    try:
        with LoadedObject(begin_counter()) as lo:
            fd = lo.prog_fd("BEGIN")
            for _ in range(3):
                run_test(fd)
            run_ns, runs = prog_stats(fd)
            assert runs == 3 and run_ns > 0
    finally:
        os.close(stats_fd)


def test_percpu_map_kinds_create() -> None:
    for kind in (MapKind.PERCPU_HASH, MapKind.LRU_HASH, MapKind.PERCPU_ARRAY):
        key = 4 if kind.is_array else 8
        from pytrace.resources import MapSpec
        spec = MapSpec("@x", "x", kind, key, 8, 16)
        obj = BpfObject(make_object("", [], []).elf, Resources((spec,)))
        with LoadedObject(obj) as lo:
            assert lo.map_fd("@x") > 0
