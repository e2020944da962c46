"""Raw syscall wrappers: errno mapping, attribute layouts, info and stats, features."""

from __future__ import annotations

import errno
import os
import struct

import pytest

from pytrace.runtime import syscalls as sc
from pytrace.runtime.features import check_privileges, pmu_format_bit, pmu_type
from pytrace.runtime.tracefs import tracefs_root, tracepoint_id


def test_bpf_failure_raises_oserror_with_errno() -> None:
    attr = sc.new_attr()
    struct.pack_into("<IIII", attr, 0, 9999, 4, 8, 1)  # no such map type
    with pytest.raises(OSError) as info:
        sc.bpf(sc.MAP_CREATE, attr, "BPF_MAP_CREATE")
    assert info.value.errno == errno.EINVAL
    assert sc.bpf_errno(sc.MAP_CREATE, attr) == (-1, errno.EINVAL)


def test_map_create_and_obj_info() -> None:
    attr = sc.new_attr()
    struct.pack_into("<IIII", attr, 0, 1, 8, 16, 32)  # HASH 8 -> 16, 32 entries
    attr[28:28 + 5] = b"probe"
    fd = sc.bpf(sc.MAP_CREATE, attr)
    try:
        info = sc.obj_info(fd)
        mtype, _id, key, value, entries = struct.unpack_from("<IIIII", info, 0)
        assert (mtype, key, value, entries) == (1, 8, 16, 32)
        assert info[24:29] == b"probe"
    finally:
        os.close(fd)


def test_perf_attr_layout() -> None:
    a = sc.perf_attr(2, 77, period=1, sample_type=1 << 10, config1=5, config2=6)
    assert struct.unpack_from("<IIQQQ", a, 0) == (2, sc.PERF_ATTR_SIZE, 77, 1, 1 << 10)
    assert struct.unpack_from("<QQ", a, 56) == (5, 6)
    f = sc.perf_attr(1, 0, freq=99)
    assert struct.unpack_from("<Q", f, 16)[0] == 99
    assert struct.unpack_from("<Q", f, 40)[0] & (1 << 10)


def test_perf_event_open_software_and_ioctl() -> None:
    fd = sc.perf_event_open(sc.perf_attr(1, 9, period=1), 0, -1)  # dummy event, self
    try:
        assert sc.ioctl(fd, sc.PERF_EVENT_IOC_DISABLE) == 0
        with pytest.raises(OSError):
            sc.ioctl(fd, sc.PERF_EVENT_IOC_SET_BPF, 987654)  # not a program fd
    finally:
        sc.close_fd(fd)
    sc.close_fd(fd)  # closing twice is harmless


def test_enable_stats_gives_an_fd() -> None:
    fd = sc.enable_stats()
    assert fd >= 0
    os.close(fd)


def test_tracefs_and_pmus() -> None:
    check_privileges()
    assert os.path.isdir(os.path.join(tracefs_root(), "events"))
    assert tracepoint_id("syscalls", "sys_enter_openat") > 0
    assert pmu_type("software") == 1
    assert pmu_type("no_such_pmu") is None
    if pmu_type("uprobe") is not None:
        assert pmu_format_bit("uprobe", "retprobe") == 0
