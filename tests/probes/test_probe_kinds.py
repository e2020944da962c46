"""The probes registry: spellings, canonical names, prog types and attach dicts."""

from __future__ import annotations

import pytest

from pytrace.btf import kernel_btf
from pytrace.probes import KINDS, SPELLINGS, ProbeError, expand, kind_of
from pytrace.resources import ProgType

_VFS_READ = kernel_btf().function("vfs_read") if kernel_btf() is not None else None
VFS_READ_ID = _VFS_READ.id if _VFS_READ is not None else 0  # the running kernel's FUNC id


@pytest.mark.parametrize(("raw", "name", "prog", "attach"), [
    ("BEGIN", "BEGIN", ProgType.RAW_TRACEPOINT, {}),
    ("end", "END", ProgType.RAW_TRACEPOINT, {}),
    ("i:s:1", "interval:s:1", ProgType.PERF_EVENT, {"period_ns": 1_000_000_000}),
    ("interval:ms:100", "interval:ms:100", ProgType.PERF_EVENT, {"period_ns": 100_000_000}),
    ("interval:1s", "interval:s:1", ProgType.PERF_EVENT, {"period_ns": 1_000_000_000}),
    ("interval:hz:4", "interval:hz:4", ProgType.PERF_EVENT, {"period_ns": 250_000_000}),
    ("p:hz:99", "profile:hz:99", ProgType.PERF_EVENT, {"freq": 99}),
    ("profile:us:500", "profile:us:500", ProgType.PERF_EVENT, {"period_ns": 500_000}),
    ("s:faults:10", "software:faults:10", ProgType.PERF_EVENT,
     {"type": 1, "config": 2, "period": 10}),
    ("software:cpu-clock:1000", "software:cpu-clock:1000", ProgType.PERF_EVENT,
     {"type": 1, "config": 0, "period": 1000}),
    ("h:cycles:100", "hardware:cycles:100", ProgType.PERF_EVENT,
     {"type": 0, "config": 0, "period": 100}),
    ("t:syscalls:sys_enter_openat", "tracepoint:syscalls:sys_enter_openat",
     ProgType.TRACEPOINT, {"category": "syscalls", "event": "sys_enter_openat"}),
    ("rt:sys_enter", "rawtracepoint:sys_enter", ProgType.RAW_TRACEPOINT,
     {"event": "sys_enter"}),
    ("k:do_sys_open", "kprobe:do_sys_open", ProgType.KPROBE,
     {"func": "do_sys_open", "offset": 0}),
    ("kprobe:vfs_read+8", "kprobe:vfs_read+8", ProgType.KPROBE,
     {"func": "vfs_read", "offset": 8}),
    ("kr:vfs_read", "kretprobe:vfs_read", ProgType.KPROBE, {"func": "vfs_read", "offset": 0}),
    ("kfunc:vfs_read", "fentry:vfs_read", ProgType.TRACING,
     {"func": "vfs_read", "btf_id": VFS_READ_ID}),
    ("fr:vfs_read", "fexit:vfs_read", ProgType.TRACING,
     {"func": "vfs_read", "btf_id": VFS_READ_ID}),
])
def test_expand(raw, name, prog, attach):
    (target,) = expand(raw)
    assert target.name == name
    assert target.prog_type is prog
    assert target.attach == attach


def test_every_spelling_is_registered():
    for spelling in ("tracepoint", "t", "interval", "i", "profile", "p", "uprobe", "u",
                     "uretprobe", "ur", "usdt", "U", "rawtracepoint", "rt", "software", "s",
                     "hardware", "h", "kprobe", "k", "kretprobe", "kr", "fentry", "f", "kfunc",
                     "fexit", "fr", "kretfunc", "watchpoint", "iter", "BEGIN", "begin", "END",
                     "end"):
        assert spelling in SPELLINGS
    assert {k.name for k in KINDS} >= {"BEGIN", "tracepoint", "uprobe", "fexit"}
    assert kind_of("t:a:b") is SPELLINGS["tracepoint"]


@pytest.mark.parametrize(("raw", "message"), [
    ("interval:5:s", "5 is not an accepted unit of time"),
    ("interval:ms:abc", "invalid interval rate: 'abc' is not a number"),
    ("interval:s:0", "invalid interval rate: 0 must be greater than 0"),
    ("profile:xs:1", "xs is not an accepted unit of time"),
    ("foo:bar", "Invalid probe type: foo"),
    ("s:fault", "Unknown software event: fault"),
    ("BEGIN:x", "BEGIN probes take no arguments"),
    ("kprobe:nosuch_pytrace_*", "No kernel function matches kprobe:nosuch_pytrace_*"),
    ("kretprobe:vfs_*+4", "kretprobe does not take an offset"),
    ("watchpoint:0x10:3:w", "watchpoint length must be one of (1,2,4,8)"),
])
def test_errors(raw, message):
    with pytest.raises(ProbeError) as info:
        expand(raw)
    assert info.value.message == message


def test_hints():
    with pytest.raises(ProbeError) as info:
        expand("profile:sx:1")
    assert info.value.hints == ("did you mean: s?",)
    with pytest.raises(ProbeError) as info:
        expand("s:fault")
    assert "faults" in info.value.hints[0]


def test_interval_short_forms_of_the_reference() -> None:
    from pytrace.probes import expand

    assert expand("interval:1000000000")[0].attach == {"period_ns": 1_000_000_000}
    assert expand("interval:500ms")[0].attach == {"period_ns": 500_000_000}
    assert expand("i:1m")[0].attach == {"period_ns": 60_000_000_000}


def test_self_test_and_bench_kinds() -> None:
    from pytrace.probes import ProbeError, expand

    (s,) = expand("self:signal:SIGUSR1")
    assert (s.kind, s.name) == ("self", "self:signal:SIGUSR1")
    (t,) = expand("test:okay")
    (b,) = expand("bench:my_loop")
    assert (t.kind, t.attach, b.kind, int(b.prog_type)) == ("test", {"name": "okay"},
                                                            "bench", 6)
    for bad in ("self:signal:SIGHUP", "self:timer:1", "test:", "bench:a:b"):
        try:
            expand(bad)
        except ProbeError:
            continue
        raise AssertionError(bad)


def test_kprobe_wildcards_expand_over_the_kernel_functions():
    targets = expand("kprobe:vfs_rea*")
    names = [t.name for t in targets]
    assert "kprobe:vfs_read" in names and all(n.startswith("kprobe:vfs_rea") for n in names)
    assert [t.attach["func"] for t in targets] == [n.split(":")[-1] for n in names]
    assert [t.name for t in expand("fentry:vfs_read")] == ["fentry:vfs_read"]
