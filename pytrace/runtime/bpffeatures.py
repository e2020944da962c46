"""Kernel BPF feature probes for `--info` and the iterator listing: each loads (and
at once closes) a tiny program or map and reports what the kernel accepted.

Every probe returns a bool (or a number) and never raises: a refusal of any kind is
simply "no". Results are cached for the process.
"""

from __future__ import annotations

import errno
import os
import struct
from functools import cache

from pytrace.runtime import syscalls as sc

PROG_SOCKET_FILTER = 1
PROG_KPROBE = 2
PROG_TRACING = 26
TRACE_ITER = 28
TRACE_KPROBE_MULTI = 42
TRACE_UPROBE_MULTI = 48
TRACE_KPROBE_SESSION = 56
MAP_HASH = 1
MAP_PERCPU_ARRAY = 6
MAP_RINGBUF = 27
HELPER_GET_FUNC_IP = 173
HELPER_LOOKUP_PERCPU_ELEM = 195
HELPER_KTIME_GET_TAI_NS = 208


def _insn(op: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", op, dst | src << 4, off, imm)


MOV_R0_0 = _insn(0xB7)
EXIT = _insn(0x95)
RETURN_0 = MOV_R0_0 + EXIT


def _call(helper: int) -> bytes:
    return _insn(0x85, imm=helper)


def load_prog(prog_type: int, insns: bytes, expected_attach: int = 0, btf_id: int = 0) -> int:
    """A program fd, or -errno when the kernel refuses it."""
    code, lic = sc.Buffer(insns), sc.cstr("GPL")
    attr = sc.new_attr()
    struct.pack_into("<IIQQ", attr, 0, prog_type, len(insns) // 8, code.addr, lic.addr)
    struct.pack_into("<I", attr, 68, expected_attach)
    struct.pack_into("<I", attr, 108, btf_id)
    fd, err = sc.bpf_errno(sc.PROG_LOAD, attr)
    return fd if fd >= 0 else -err


def _accepted(prog_type: int, insns: bytes, expected_attach: int = 0, btf_id: int = 0) -> bool:
    fd = load_prog(prog_type, insns, expected_attach, btf_id)
    if fd < 0:
        return False
    sc.close_fd(fd)
    return True


def _map(map_type: int, key: int, value: int, entries: int) -> int:
    attr = sc.new_attr()
    struct.pack_into("<IIII", attr, 0, map_type, key, value, entries)
    fd, err = sc.bpf_errno(sc.MAP_CREATE, attr)
    return fd if fd >= 0 else -err


@cache
def has_helper(helper: int) -> bool:
    """Whether a kprobe program may call `helper` (ktime_get_tai_ns, get_func_ip, ...)."""
    if helper != HELPER_LOOKUP_PERCPU_ELEM:
        return _accepted(PROG_KPROBE, _call(helper) + RETURN_0)
    fd = _map(MAP_PERCPU_ARRAY, 4, 8, 1)
    if fd < 0:
        return False
    try:
        insns = (_insn(0x62, dst=10, off=-4) + _insn(0xBF, dst=2, src=10)
                 + _insn(0x07, dst=2, imm=-4) + _insn(0x18, dst=1, src=1, imm=fd) + _insn(0)
                 + _insn(0xB7, dst=3) + _call(helper) + RETURN_0)
        return _accepted(PROG_KPROBE, insns)
    finally:
        sc.close_fd(fd)


@cache
def instruction_limit() -> int:
    """1000000 when a program longer than the old 4096-instruction limit loads."""
    return 1000000 if _accepted(PROG_SOCKET_FILTER, MOV_R0_0 * 4096 + EXIT) else 4096


@cache
def has_loops() -> bool:
    """Bounded loops (a back edge the verifier can bound)."""
    loop = (MOV_R0_0 + _insn(0x07, imm=1) + _insn(0xA5, off=-2, imm=4) + EXIT)
    return _accepted(PROG_SOCKET_FILTER, loop)


@cache
def has_map_batch() -> bool:
    """BPF_MAP_LOOKUP_BATCH: an empty hash answers ENOENT when batches are supported."""
    fd = _map(MAP_HASH, 4, 8, 8)
    if fd < 0:
        return False
    try:
        keys, values, out = sc.Buffer(32), sc.Buffer(64), sc.Buffer(8)
        attr = sc.new_attr()
        struct.pack_into("<QQQQII", attr, 0, 0, out.addr, keys.addr, values.addr, 8, fd)
        ret, err = sc.bpf_errno(sc.MAP_LOOKUP_BATCH, attr)
        return ret >= 0 or err == errno.ENOENT
    finally:
        sc.close_fd(fd)


@cache
def has_ringbuf() -> bool:
    fd = _map(MAP_RINGBUF, 0, 0, os.sysconf("SC_PAGE_SIZE"))
    if fd < 0:
        return False
    sc.close_fd(fd)
    return True


def _link_errno(prog_fd: int, attach_type: int, tail: bytes) -> int:
    attr = sc.new_attr()
    struct.pack_into("<III", attr, 0, prog_fd, 0, attach_type)
    attr[16:16 + len(tail)] = tail
    fd, err = sc.bpf_errno(sc.LINK_CREATE, attr)
    if fd >= 0:
        sc.close_fd(fd)
        return 0
    return err


@cache
def has_uprobe_multi() -> bool:
    """A uprobe_multi link on '/' fails with EBADF only where the link type exists."""
    prog = load_prog(PROG_KPROBE, RETURN_0, TRACE_UPROBE_MULTI)
    if prog < 0:
        return False
    try:
        path, offsets = sc.cstr("/"), sc.Buffer(bytes(8))
        tail = struct.pack("<QQQQI", path.addr, offsets.addr, 0, 0, 1)
        return _link_errno(prog, TRACE_UPROBE_MULTI, tail) == errno.EBADF
    finally:
        sc.close_fd(prog)


def _kprobe_link(attach_type: int) -> bool:
    from pytrace.runtime.features import _check_cached

    if _check_cached("kprobe") is not None:
        return False  # no kprobes at all on this kernel
    prog = load_prog(PROG_KPROBE, RETURN_0, attach_type)
    if prog < 0:
        return False
    try:
        sym = sc.cstr("bpf_fentry_test1")
        syms = sc.Buffer(struct.pack("<Q", sym.addr))
        tail = struct.pack("<IIQQQ", 0, 1, syms.addr, 0, 0)
        return _link_errno(prog, attach_type, tail) in (0, errno.ESRCH, errno.ENOENT)
    finally:
        sc.close_fd(prog)


@cache
def has_kprobe_multi() -> bool:
    return _kprobe_link(TRACE_KPROBE_MULTI)


@cache
def has_kprobe_session() -> bool:
    return _kprobe_link(TRACE_KPROBE_SESSION)


@cache
def iter_loadable(btf_id: int) -> bool:
    """Whether an iterator program attached to BTF function `btf_id` loads."""
    return _accepted(PROG_TRACING, RETURN_0, TRACE_ITER, btf_id)
