"""Attach for real: tracepoints, raw tracepoints, interval, profile, software, uprobes;
refusals for kernels without kprobes / fentry / hardware PMU; no fd leaks."""

from __future__ import annotations

import os
import struct
import subprocess
import time
from pathlib import Path

import pytest
from bpfasm import compile_ir, counter_fn, hash_map, make_object, map_global, probe
from cbuild import build_c

from pytrace.resources import BpfObject, MapKind, MapSpec, ProbeSpec, ProgType, Resources
from pytrace.runtime import maps
from pytrace.runtime.attach import attach, attach_all, detach_all, release_in_background, stop_all
from pytrace.runtime.elf import symbol_file_offset
from pytrace.runtime.errors import FeatureUnavailable, RuntimeFailure
from pytrace.runtime.features import check_probe_kind, pmu_type
from pytrace.runtime.loader import LoadedObject

TP = ProgType.TRACEPOINT
GETPPID = {"category": "syscalls", "event": "sys_enter_getppid"}


def total(fd: int, spec, key: bytes) -> int:
    vals = maps.lookup(fd, spec, key) or []
    return sum(struct.unpack("<Q", v)[0] for v in vals)


def counting_object(kind: str, attach_args: dict, prog_type: ProgType,
                    key: str = "tgid", only_me: bool = True) -> BpfObject:
    m = hash_map("@c", "c", MapKind.PERCPU_HASH)
    ir = counter_fn("p", "probe/p", "c", key, os.getpid() if only_me else None)
    return make_object(ir, [m], [probe(f"{kind}:test", kind, "probe/p", prog_type,
                                       attach_args)])


def wait_for(pred, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return pred()


def test_tracepoint_counts_own_syscalls(open_fds) -> None:
    before = open_fds()
    with LoadedObject(counting_object("tracepoint", GETPPID, TP)) as lo:
        atts = attach_all(lo.programs)
        spec, fd, key = lo.specs["@c"], lo.map_fd("@c"), struct.pack("<Q", os.getpid())
        for _ in range(100):
            os.getppid()
        first = total(fd, spec, key)
        assert first >= 100
        for _ in range(50):
            os.getppid()
        assert total(fd, spec, key) >= first + 50
        for a in atts:
            a.close()
        after_detach = total(fd, spec, key)
        for _ in range(50):
            os.getppid()
        assert total(fd, spec, key) == after_detach
    assert open_fds() == before


def test_raw_tracepoint_fires() -> None:
    obj = counting_object("rawtracepoint", {"event": "sys_enter"}, ProgType.RAW_TRACEPOINT)
    with LoadedObject(obj) as lo:
        att = attach(lo.programs[0].spec, lo.programs[0].fd)
        try:
            for _ in range(20):
                os.getppid()
            key = struct.pack("<Q", os.getpid())
            assert total(lo.map_fd("@c"), lo.specs["@c"], key) >= 20
        finally:
            att.close()


def test_missing_tracepoint_is_one_clear_line() -> None:
    bad = {"category": "syscalls", "event": "sys_enter_no_such_call"}
    with LoadedObject(counting_object("tracepoint", bad, TP)) as lo:
        with pytest.raises(FeatureUnavailable, match="sys_enter_no_such_call does not exist"):
            attach_all(lo.programs)


@pytest.mark.parametrize(("kind", "args"), [
    ("interval", {"period_ns": 2_000_000}),
    ("profile", {"freq": 999}),
    ("software", {"event": "cpu-clock", "period": 1_000_000}),
])
def test_timer_like_probes_fire(kind: str, args: dict) -> None:
    obj = counting_object(kind, args, ProgType.PERF_EVENT, key="zero", only_me=False)
    with LoadedObject(obj) as lo:
        atts = attach_all(lo.programs)
        try:
            fd, spec = lo.map_fd("@c"), lo.specs["@c"]
            assert wait_for(lambda: total(fd, spec, bytes(8)) >= 3)
        finally:
            for a in atts:
                a.close()


def test_many_tracepoints_attach_and_detach(open_fds) -> None:
    events = sorted(e.name for e in Path("/sys/kernel/tracing/events/syscalls").iterdir()
                    if e.name.startswith("sys_enter_"))[:40]
    m = hash_map("@c", "c", MapKind.PERCPU_HASH)
    ir = map_global("c") + counter_fn("p", "probe/p", "c", "zero", os.getpid())
    probes = tuple(ProbeSpec(i, f"tracepoint:syscalls:{e}", "tracepoint", "probe/p", TP,
                             {"category": "syscalls", "event": e})
                   for i, e in enumerate(events))
    before = open_fds()
    with LoadedObject(BpfObject(compile_ir(ir), Resources((m,), probes))) as lo:
        atts = attach_all(lo.programs)
        assert sum(len(a.fds) for a in atts) == len(events)
        os.getppid()
        assert total(lo.map_fd("@c"), m, bytes(8)) >= 1
        detach_all(atts)
        assert all(not a.fds for a in atts)
    assert open_fds() == before


C_PROGRAM = r"""
#include <stdlib.h>
__attribute__((noinline)) int target_fn(int x) { __asm__ volatile(""); return x * 2; }
int main(int argc, char **argv) {
    int n = atoi(argv[1]), s = 0;
    for (int i = 0; i < n; i++) s += target_fn(i);
    return s == -1;
}
"""


@pytest.fixture(scope="module")
def tiny_binary(tmp_path_factory) -> Path:
    return Path(build_c(tmp_path_factory.mktemp("uprobe"), "t", C_PROGRAM, "-O1"))


@pytest.mark.parametrize("kind", ["uprobe", "uretprobe"])
def test_uprobe_counts_calls_in_a_child(tiny_binary: Path, kind: str) -> None:
    off = symbol_file_offset(str(tiny_binary), "target_fn")
    args = {"path": str(tiny_binary), "offset": off, "retprobe": int(kind == "uretprobe")}
    obj = counting_object(kind, args, ProgType.KPROBE, key="zero", only_me=False)
    with LoadedObject(obj) as lo:
        atts = attach_all(lo.programs)
        try:
            subprocess.run([str(tiny_binary), "37"], check=False)
            assert total(lo.map_fd("@c"), lo.specs["@c"], bytes(8)) == 37
        finally:
            for a in atts:
                a.close()


def test_uprobe_on_missing_file_is_clear() -> None:
    args = {"path": "/nonexistent/bin", "offset": 0}
    with LoadedObject(counting_object("uprobe", args, ProgType.KPROBE)) as lo:
        with pytest.raises(RuntimeFailure, match="/nonexistent/bin does not exist"):
            attach_all(lo.programs)


@pytest.mark.skipif(pmu_type("kprobe") is not None, reason="this kernel has kprobes")
def test_kprobe_refused_with_reason() -> None:
    with pytest.raises(FeatureUnavailable, match="kprobe probes are not available.*KPROBES"):
        check_probe_kind("kprobe")
    obj = counting_object("kprobe", {"func": "do_sys_open"}, ProgType.KPROBE)
    with LoadedObject(obj) as lo:
        with pytest.raises(FeatureUnavailable, match="kprobe"):
            attach_all(lo.programs)


def test_fentry_refused_or_available() -> None:
    try:
        check_probe_kind("fentry")
    except FeatureUnavailable as exc:
        assert str(exc).startswith("fentry probes are not available")
        assert "\n" not in str(exc)


def test_hardware_refused_or_fires() -> None:
    try:
        check_probe_kind("hardware")
    except FeatureUnavailable as exc:
        assert "hardware probes are not available" in str(exc)
        obj = counting_object("hardware", {"event": "cycles"}, ProgType.PERF_EVENT)
        with LoadedObject(obj) as lo:
            with pytest.raises(FeatureUnavailable, match="hardware"):
                attach_all(lo.programs)


WAITING_PROGRAM = r"""
#include <stdio.h>
__attribute__((noinline)) int target_fn(int x) { __asm__ volatile(""); return x * 2; }
int main(void) {
    char b[8];
    if (!fgets(b, 8, stdin)) return 1;
    int s = 0;
    for (int i = 0; i < 25; i++) s += target_fn(i);
    return s == -1;
}
"""


def test_uprobe_with_pid_counts_only_that_process(tmp_path: Path) -> None:
    exe = build_c(tmp_path, "w", WAITING_PROGRAM, "-O1")
    a = subprocess.Popen([exe], stdin=subprocess.PIPE)
    b = subprocess.Popen([exe], stdin=subprocess.PIPE)
    args = {"path": exe, "offset": symbol_file_offset(exe, "target_fn"), "pid": a.pid}
    obj = counting_object("uprobe", args, ProgType.KPROBE, key="zero", only_me=False)
    with LoadedObject(obj) as lo:
        atts = attach_all(lo.programs)
        try:
            a.communicate(b"go\n")
            b.communicate(b"go\n")
            assert total(lo.map_fd("@c"), lo.specs["@c"], bytes(8)) == 25
        finally:
            for att in atts:
                att.close()


def _many_getppid_probes(n: int) -> tuple[MapSpec, tuple[ProbeSpec, ...], bytes]:
    m = hash_map("@c", "c", MapKind.PERCPU_HASH)
    ir = map_global("c") + counter_fn("p", "probe/p", "c", "zero", os.getpid())
    probes = tuple(ProbeSpec(i, f"tracepoint:syscalls:sys_enter_getppid#{i}", "tracepoint", "probe/p", TP, GETPPID)
                   for i in range(n))
    return m, probes, compile_ir(ir)


def test_stop_all_stops_every_program_and_keeps_the_events(open_fds) -> None:
    m, probes, elf = _many_getppid_probes(12)
    before = open_fds()
    with LoadedObject(BpfObject(elf, Resources((m,), probes))) as lo:
        atts = attach_all(lo.programs)
        os.getppid()
        fd = lo.map_fd("@c")
        assert total(fd, m, bytes(8)) == 12  # every program ran once
        stop_all(atts)  # the links close from threads: no program runs after this
        assert all(not a.links for a in atts) and all(a.fds for a in atts)
        os.getppid()
        assert total(fd, m, bytes(8)) == 12
        detach_all(atts)
    assert open_fds() == before


def _prog_ids(lo: LoadedObject) -> list[int]:
    from pytrace.runtime import syscalls as sc

    return [int(struct.unpack_from("<I", sc.obj_info(p.fd), 4)[0]) for p in lo.programs]


def _prog_alive(prog_id: int) -> bool:
    from pytrace.runtime import syscalls as sc

    attr = sc.new_attr()
    struct.pack_into("<I", attr, 0, prog_id)
    try:
        sc.close_fd(sc.bpf(13, attr, "BPF_PROG_GET_FD_BY_ID"))
    except OSError:
        return False
    return True


def test_release_in_background_hands_the_perf_events_to_a_child(open_fds) -> None:
    m, probes, elf = _many_getppid_probes(8)
    before = open_fds()
    lo = LoadedObject(BpfObject(elf, Resources((m,), probes)))
    atts = attach_all(lo.programs)
    ids = _prog_ids(lo)
    stop_all(atts)
    children_before = set(Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split())
    assert release_in_background(atts)
    assert all(not a.fds for a in atts)
    lo.close()
    assert open_fds() == before  # nothing of ours is left open
    kids = set(Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()) - children_before
    for k in kids:
        os.waitpid(int(k), 0)  # the releaser exits by itself once our copies are closed
    assert wait_for(lambda: not any(_prog_alive(i) for i in ids), 10)
    assert not release_in_background(atts)  # nothing left to hand over
