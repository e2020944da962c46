"""Map access on real maps: batched and key-by-key reads agree, per-CPU values,
lookup/update/delete, clear and zero on hashes and arrays, the __lost counter."""

from __future__ import annotations

import os
import struct

import pytest
from bpfasm import compile_ir, counter_fn, map_global

from pytrace.resources import BpfObject, MapKind, MapSpec, ProgType, Resources
from pytrace.runtime import maps
from pytrace.runtime.attach import attach_all
from pytrace.runtime.errors import RuntimeFailure
from pytrace.runtime.loader import LoadedObject, possible_cpus

U64 = struct.Struct("<Q")


def loaded(*specs: MapSpec) -> LoadedObject:
    return LoadedObject(BpfObject(compile_ir(""), Resources(tuple(specs))))


def fill(lo: LoadedObject, spec: MapSpec, n: int) -> dict[bytes, int]:
    want = {}
    for i in range(n):
        key = U64.pack(i * 7 + 1)
        maps.update(lo.map_fd(spec.name), spec, key, U64.pack(i * 10))
        want[key] = i * 10
    return want


@pytest.mark.parametrize("kind", [MapKind.HASH, MapKind.PERCPU_HASH, MapKind.LRU_HASH])
@pytest.mark.parametrize("count", [0, 3, 500])
def test_read_all_matches_what_was_written(kind: MapKind, count: int) -> None:
    spec = MapSpec("@m", "m", kind, 8, 8, 1024)
    with loaded(spec) as lo:
        want = fill(lo, spec, count)
        fd = lo.map_fd("@m")
        batched = maps.read_all(fd, spec)
        slow = maps._read_by_keys(fd, spec)
        assert sorted(batched) == sorted(slow)
        ncpu = possible_cpus() if kind.percpu else 1
        got = {k: [U64.unpack(v)[0] for v in vals] for k, vals in batched}
        assert got == {k: [v] * ncpu for k, v in want.items()}


def test_percpu_values_are_separate_and_strided() -> None:
    spec = MapSpec("@p", "p", MapKind.PERCPU_HASH, 8, 4, 16)  # value 4 bytes, stride 8
    ncpu = possible_cpus()
    with loaded(spec) as lo:
        fd = lo.map_fd("@p")
        vals = [struct.pack("<I", 100 + c) for c in range(ncpu)]
        maps.update(fd, spec, U64.pack(5), vals)
        assert maps.lookup(fd, spec, U64.pack(5)) == vals
        assert maps.read_all(fd, spec) == [(U64.pack(5), vals)]


def test_lookup_delete_clear_zero_on_hashes() -> None:
    for kind in (MapKind.HASH, MapKind.PERCPU_HASH):
        spec = MapSpec("@h", "h", kind, 8, 8, 256)
        with loaded(spec) as lo:
            fd = lo.map_fd("@h")
            fill(lo, spec, 100)
            assert maps.lookup(fd, spec, U64.pack(999_999)) is None
            assert maps.delete(fd, U64.pack(1), spec) is True
            assert maps.delete(fd, U64.pack(1), spec) is False
            assert len(maps.keys(fd, spec)) == 99
            maps.zero(fd, spec)
            entries = maps.read_all(fd, spec)
            assert len(entries) == 99
            assert all(v == bytes(8) for _, vals in entries for v in vals)
            maps.clear(fd, spec)
            assert maps.read_all(fd, spec) == []


@pytest.mark.parametrize("kind", [MapKind.ARRAY, MapKind.PERCPU_ARRAY])
def test_array_clear_writes_zeroes(kind: MapKind) -> None:
    spec = MapSpec("@a", "a", kind, 4, 8, 8)
    with loaded(spec) as lo:
        fd = lo.map_fd("@a")
        for i in range(8):
            maps.update(fd, spec, struct.pack("<I", i), U64.pack(i + 1))
        entries = maps.read_all(fd, spec)
        assert [U64.unpack(vals[0])[0] for _, vals in entries] == list(range(1, 9))
        maps.clear(fd, spec)
        assert all(v == bytes(8) for _, vals in maps.read_all(fd, spec) for v in vals)


def test_counts_written_by_a_program_fold_over_cpus() -> None:
    spec = MapSpec("@c", "c", MapKind.PERCPU_HASH, 8, 8, 64)
    ir = map_global("c") + counter_fn("p", "probe/p", "c", "tgid", os.getpid())
    from bpfasm import probe
    tp = probe("tracepoint:syscalls:sys_enter_getppid", "tracepoint", "probe/p",
               ProgType.TRACEPOINT, {"category": "syscalls", "event": "sys_enter_getppid"})
    with LoadedObject(BpfObject(compile_ir(ir), Resources((spec,), (tp,)))) as lo:
        atts = attach_all(lo.programs)
        for _ in range(64):
            os.getppid()
        for a in atts:
            a.close()
        entries = maps.read_all(lo.map_fd("@c"), spec)
        assert [k for k, _ in entries] == [U64.pack(os.getpid())]
        assert sum(U64.unpack(v)[0] for v in entries[0][1]) == 64


def test_lost_counter_sums_cpus() -> None:
    spec = MapSpec("__lost", "lost", MapKind.PERCPU_ARRAY, 4, 8, 1)
    with loaded(spec) as lo:
        fd = lo.map_fd("__lost")
        assert maps.read_lost(fd) == 0
        maps.update(fd, spec, bytes(4), [U64.pack(3)] * possible_cpus())
        assert maps.read_lost(fd) == 3 * possible_cpus()


def test_ringbuf_is_not_a_table() -> None:
    spec = MapSpec("__ringbuf", "rb", MapKind.RINGBUF, 0, 0, 4096)
    with loaded(spec) as lo, pytest.raises(RuntimeFailure, match="cannot be read"):
        maps.read_all(lo.map_fd("__ringbuf"), spec)


def test_update_error_is_one_line() -> None:
    spec = MapSpec("@a", "a", MapKind.ARRAY, 4, 8, 2)
    with loaded(spec) as lo, pytest.raises(RuntimeFailure, match="cannot update @a"):
        maps.update(lo.map_fd("@a"), spec, struct.pack("<I", 7), U64.pack(1))
