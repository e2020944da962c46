"""System-wide uprobes through uprobe_multi BPF links (BPF_TRACE_UPROBE_MULTI, Linux 6.6).

A uprobe attached as a perf event costs nothing to open but ~100 ms to close, and
those closes are serialised by a kernel mutex: `uprobe:/usr/bin/*:main` (34 sites) left
3.3 s of kernel work after exit, bpftrace 0.17's 211 `uprobe:*:main` sites ~20 s. A
uprobe_multi link on the same site is created in ~30 µs and closed in one SRCU grace
period that overlaps with the others' when links are closed from threads (34 links:
0.1 s). A uprobe or uretprobe without a `-p` process is loaded with that expected
attach type (decided at load time: the program cannot be attached to a perf event
afterwards) when the kernel has the link type; a `-p` one keeps its perf event (the
kernel filters it by that process), and so does every usdt probe.

`PYTRACE_NO_UPROBE_MULTI=1` keeps every uprobe on perf events.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import struct
from collections.abc import Iterable
from functools import lru_cache

from pytrace.resources import ProbeSpec
from pytrace.runtime import syscalls as sc

BPF_TRACE_UPROBE_MULTI = 48
BPF_F_UPROBE_MULTI_RETURN = 1
KINDS = frozenset({"uprobe", "uretprobe"})
_RETURN_0 = bytes([0xB7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0])  # r0 = 0; exit
_PROG_KPROBE = 2


def _link_attr(prog_fd: int, path: sc.Buffer, offsets: sc.Buffer, refs: sc.Buffer | None,
               count: int, flags: int) -> bytearray:
    attr = sc.new_attr()
    struct.pack_into("<III", attr, 0, prog_fd, 0, BPF_TRACE_UPROBE_MULTI)
    struct.pack_into("<QQQQII", attr, 16, path.addr, offsets.addr, refs.addr if refs else 0,
                     0, count, flags)
    return attr


@lru_cache(maxsize=1)
def supported() -> bool:
    """Whether the kernel creates uprobe_multi links: a link to a path that does not
    exist fails with ENOENT where it does (EINVAL where the attach type is unknown),
    so the probe attaches nothing."""
    if os.environ.get("PYTRACE_NO_UPROBE_MULTI"):
        return False
    code, lic = sc.Buffer(_RETURN_0), sc.cstr("GPL")
    attr = sc.new_attr()
    struct.pack_into("<IIQQ", attr, 0, _PROG_KPROBE, 2, code.addr, lic.addr)
    struct.pack_into("<I", attr, 68, BPF_TRACE_UPROBE_MULTI)
    prog, _ = sc.bpf_errno(sc.PROG_LOAD, attr)
    if prog < 0:
        return False
    try:
        path, offsets = sc.cstr("/nonexistent/pytrace-uprobe-multi"), sc.Buffer(bytes(8))
        fd, err = sc.bpf_errno(sc.LINK_CREATE, _link_attr(prog, path, offsets, None, 1, 0))
        if fd >= 0:
            sc.close_fd(fd)
        return fd >= 0 or err == errno.ENOENT
    finally:
        sc.close_fd(prog)


def wanted(spec: ProbeSpec) -> bool:
    return spec.kind in KINDS and "pid" not in spec.attach


def prepare(probes: Iterable[ProbeSpec]) -> list[ProbeSpec]:
    """The probes, each system-wide uprobe loaded for a uprobe_multi link when the
    kernel has them."""
    probes = list(probes)
    if not any(wanted(p) for p in probes) or not supported():
        return probes
    return [dataclasses.replace(p, expected_attach_type=BPF_TRACE_UPROBE_MULTI) if wanted(p)
            else p for p in probes]


def uses_link(spec: ProbeSpec) -> bool:
    return spec.expected_attach_type == BPF_TRACE_UPROBE_MULTI


def link(prog_fd: int, path: str, offset: int, ref_ctr_offset: int, retprobe: bool) -> int:
    """A uprobe_multi link of one site (OSError from the kernel)."""
    name, offsets = sc.cstr(path), sc.Buffer(struct.pack("<Q", offset))
    refs = sc.Buffer(struct.pack("<Q", ref_ctr_offset)) if ref_ctr_offset else None
    attr = _link_attr(prog_fd, name, offsets, refs, 1,
                      BPF_F_UPROBE_MULTI_RETURN if retprobe else 0)
    return sc.bpf(sc.LINK_CREATE, attr, "BPF_LINK_CREATE")
