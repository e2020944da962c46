"""Raw syscalls through ctypes: bpf(2), perf_event_open(2), ioctl, mmap helpers.

Attribute blocks are zeroed bytearrays filled with struct.pack_into; failures raise
OSError with the errno. Nothing here knows about pytrace's specs.
"""

from __future__ import annotations

import ctypes
import errno as _errno
import mmap
import os
import struct

SYS_BPF = 321
SYS_PERF_EVENT_OPEN = 298
BPF_ATTR_SIZE = 160
PERF_ATTR_SIZE = 136

# bpf commands
MAP_CREATE = 0
MAP_LOOKUP_ELEM = 1
MAP_UPDATE_ELEM = 2
MAP_DELETE_ELEM = 3
MAP_GET_NEXT_KEY = 4
PROG_LOAD = 5
PROG_TEST_RUN = 10
PROG_GET_FD_BY_ID = 13
OBJ_GET_INFO_BY_FD = 15
RAW_TRACEPOINT_OPEN = 17
MAP_FREEZE = 22
MAP_LOOKUP_BATCH = 24
MAP_UPDATE_BATCH = 26
LINK_CREATE = 28
ENABLE_STATS = 32

BPF_ANY = 0
BPF_PERF_EVENT = 41  # attach type for LINK_CREATE on a perf event fd

# perf ioctls
PERF_EVENT_IOC_ENABLE = 0x2400
PERF_EVENT_IOC_DISABLE = 0x2401
PERF_EVENT_IOC_SET_BPF = 0x40042408
PERF_FLAG_FD_CLOEXEC = 1 << 3

_libc = ctypes.CDLL(None, use_errno=True)
_bpf = _libc["syscall"]
_bpf.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint]
_bpf.restype = ctypes.c_long
_perf = _libc["syscall"]
_perf.argtypes = [ctypes.c_long, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                  ctypes.c_ulong]
_perf.restype = ctypes.c_long
_ioctl = _libc["ioctl"]
_ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong]
_ioctl.restype = ctypes.c_int


def _raise(what: str) -> None:
    err = ctypes.get_errno()
    raise OSError(err, f"{what}: {os.strerror(err)}")


def new_attr(size: int = BPF_ATTR_SIZE) -> bytearray:
    """A zeroed attribute block."""
    return bytearray(size)


class Buffer:
    """A ctypes buffer that stays alive while its address sits in an attr block."""

    __slots__ = ("raw",)

    def __init__(self, data: bytes | bytearray | int) -> None:
        if isinstance(data, int):
            self.raw = ctypes.create_string_buffer(data)
        else:
            self.raw = ctypes.create_string_buffer(bytes(data), len(data) or 1)

    @property
    def addr(self) -> int:
        return ctypes.addressof(self.raw)

    def bytes(self, n: int | None = None) -> bytes:
        return self.raw.raw if n is None else self.raw.raw[:n]


def bpf(cmd: int, attr: bytearray, what: str = "bpf") -> int:
    """Run bpf(cmd, attr); return the result or raise OSError."""
    buf = (ctypes.c_char * len(attr)).from_buffer(attr)
    ret = _bpf(SYS_BPF, cmd, ctypes.addressof(buf), len(attr))
    if ret < 0:
        _raise(what)
    return int(ret)


def bpf_errno(cmd: int, attr: bytearray) -> tuple[int, int]:
    """Run bpf(cmd, attr) and return (result, errno) without raising."""
    buf = (ctypes.c_char * len(attr)).from_buffer(attr)
    ret = _bpf(SYS_BPF, cmd, ctypes.addressof(buf), len(attr))
    return int(ret), (ctypes.get_errno() if ret < 0 else 0)


def perf_event_open(attr: bytearray, pid: int, cpu: int, group_fd: int = -1,
                    flags: int = PERF_FLAG_FD_CLOEXEC) -> int:
    """perf_event_open(2); raise OSError on failure."""
    buf = (ctypes.c_char * len(attr)).from_buffer(attr)
    ret = _perf(SYS_PERF_EVENT_OPEN, ctypes.addressof(buf), pid, cpu, group_fd, flags)
    if ret < 0:
        _raise("perf_event_open")
    return int(ret)


def perf_attr(ptype: int, config: int, *, period: int = 0, freq: int = 0,
              sample_type: int = 0, config1: int = 0, config2: int = 0,
              flags: int = 0) -> bytearray:
    """A perf_event_attr (size 136). freq > 0 selects sample_freq (flag bit 10)."""
    attr = new_attr(PERF_ATTR_SIZE)
    struct.pack_into("<IIQ", attr, 0, ptype, PERF_ATTR_SIZE, config)
    if freq:
        flags |= 1 << 10
        struct.pack_into("<Q", attr, 16, freq)
    else:
        struct.pack_into("<Q", attr, 16, period)
    struct.pack_into("<QQ", attr, 24, sample_type, 0)
    struct.pack_into("<Q", attr, 40, flags)
    struct.pack_into("<QQ", attr, 56, config1, config2)
    return attr


def ioctl(fd: int, request: int, arg: int = 0) -> int:
    """ioctl(2) with an integer argument; raise OSError on failure."""
    ret = _ioctl(fd, request, arg)
    if ret < 0:
        _raise("ioctl")
    return int(ret)


def mmap_fd(fd: int, length: int, offset: int, writable: bool) -> mmap.mmap:
    """Map `length` bytes of `fd` at `offset`, shared."""
    prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
    return mmap.mmap(fd, length, mmap.MAP_SHARED, prot, offset=offset)


def close_fd(fd: int) -> None:
    """Close an fd, ignoring EBADF."""
    try:
        os.close(fd)
    except OSError as exc:
        if exc.errno != _errno.EBADF:
            raise


def cstr(text: str) -> Buffer:
    """A NUL-terminated C string buffer."""
    return Buffer(text.encode() + b"\0")


def obj_info(fd: int, size: int = 256) -> bytes:
    """OBJ_GET_INFO_BY_FD: the info struct of a prog/map/link fd."""
    info = Buffer(size)
    attr = new_attr()
    struct.pack_into("<IIQ", attr, 0, fd, size, info.addr)
    bpf(OBJ_GET_INFO_BY_FD, attr, "BPF_OBJ_GET_INFO_BY_FD")
    return info.bytes()


def enable_stats(stats_type: int = 0) -> int:
    """BPF_ENABLE_STATS (BPF_STATS_RUN_TIME): run-time stats accrue while the fd is open."""
    attr = new_attr()
    struct.pack_into("<I", attr, 0, stats_type)
    return bpf(ENABLE_STATS, attr, "BPF_ENABLE_STATS")


def prog_stats(prog_fd: int) -> tuple[int, int]:
    """(run_time_ns, run_cnt) of a program from bpf_prog_info."""
    info = obj_info(prog_fd)
    run_time_ns, run_cnt = struct.unpack_from("<QQ", info, 192)
    return run_time_ns, run_cnt
