"""Values BPF stores raw and userspace renders as strings (types.UserFormatT): the
renderer of each kind. Pure functions of the stored bytes; no kernel needed.

strftime() timestamps are nanoseconds since boot (CLOCK_BOOTTIME, what `nsecs` gives),
converted to wall-clock time with the offset between the two clocks.
"""

from __future__ import annotations

import datetime
import os
import signal
import socket
import time
from collections.abc import Callable
from functools import cache

from pytrace.types import UserFormatT

AF_INET, AF_INET6 = 2, 10
Raw = bytes | bytearray | memoryview
CGROUP_ROOT = "/sys/fs/cgroup"


def _u64(data: Raw, off: int) -> int:
    return int.from_bytes(bytes(data[off:off + 8]), "little")


def boot_to_realtime_ns() -> int:
    """What to add to a CLOCK_BOOTTIME timestamp to get wall-clock nanoseconds."""
    return time.clock_gettime_ns(time.CLOCK_REALTIME) - time.clock_gettime_ns(
        time.CLOCK_BOOTTIME)


def render_strftime(fmt: str, boot_ns: int) -> str:
    """strftime(3) of a boot-clock timestamp; `%f` is the microseconds (6 digits)."""
    wall = boot_ns + boot_to_realtime_ns()
    secs, ns = divmod(wall, 1_000_000_000)
    try:
        dt = datetime.datetime.fromtimestamp(secs).replace(microsecond=ns // 1000)
        return dt.strftime(fmt)
    except (ValueError, OverflowError, OSError):
        return ""


def render_inet(data: Raw, off: int) -> str:
    family = _u64(data, off)
    addr = bytes(data[off + 8:off + 24])
    try:
        if family == AF_INET6:
            return socket.inet_ntop(socket.AF_INET6, addr)
        return socket.inet_ntop(socket.AF_INET, addr[:4])
    except (ValueError, OSError):
        return ""


def render_macaddr(data: Raw, off: int) -> str:
    return ":".join(f"{b:02X}" for b in bytes(data[off:off + 6]))


def render_strerror(errno: int) -> str:
    if errno >= 1 << 63:
        errno -= 1 << 64
    try:
        return os.strerror(errno)
    except (ValueError, OverflowError):
        return f"Unknown error {errno}"


@cache
def _username(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError):
        return str(uid)


def render_signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return ""


@cache
def _syscall_names() -> dict[int, str]:
    from pytrace.probes.syscall_numbers import X86_64

    return {nr: name for name, nr in X86_64.items()}


def render_syscall_name(nr: int) -> str:
    return _syscall_names().get(nr, "")


def cgroup_id_of(path: str) -> int | None:
    """A cgroup's id: the 8-byte file handle of its directory (cgroup v2 and v1)."""
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    buf = ctypes.create_string_buffer(8 + 128)
    ctypes.c_uint32.from_buffer(buf, 0).value = 128
    mount_id = ctypes.c_int()
    fn = libc.name_to_handle_at
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p,
                   ctypes.c_int]
    if fn(-100, path.encode(), buf, ctypes.byref(mount_id), 0) != 0:  # AT_FDCWD
        return None
    size = ctypes.c_uint32.from_buffer(buf, 0).value
    if size < 8:
        return None
    return int.from_bytes(buf.raw[8:16], "little")


def _hierarchies(root: str = CGROUP_ROOT) -> list[tuple[str, str]]:
    """(name, mount directory) of every cgroup hierarchy under /sys/fs/cgroup: the v2
    one is "unified" wherever it is mounted, v1 ones by their directory name."""
    out: list[tuple[str, str]] = []
    try:
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split() for line in f]
    except OSError:
        return out
    for parts in mounts:
        if "-" not in parts:
            continue
        fstype = parts[parts.index("-") + 1]
        point = parts[4]
        if not (point == root or point.startswith(root + "/")):
            continue
        if fstype == "cgroup2":
            out.insert(0, ("unified", point))
        elif fstype == "cgroup":
            out.append((os.path.basename(point), point))
    head = [h for h in out if h[0] == "unified"]
    return head + sorted(h for h in out if h[0] != "unified")


def _find_cgroup(mount: str, cgid: int) -> str | None:
    for dirpath, _dirs, _files in os.walk(mount):
        if cgroup_id_of(dirpath) == cgid:
            rel = os.path.relpath(dirpath, mount)
            return "/" if rel == "." else "/" + rel
    return None


def render_cgroup_path(cgid: int, pattern: str = "") -> str:
    """`name:path` in every hierarchy (matching the wildcard filter) holding cgroup
    `cgid`, joined by commas."""
    import fnmatch

    found = []
    for name, mount in _hierarchies():
        if pattern and not fnmatch.fnmatchcase(name, pattern):
            continue
        path = _find_cgroup(mount, cgid)
        if path is not None:
            found.append(f"{name}:{path}")
    return ",".join(found)


_SCALAR: dict[str, Callable[[int], str]] = {
    "strerror": render_strerror,
    "username": _username,
    "signal_name": render_signal_name,
    "syscall_name": render_syscall_name,
}


def render(t: UserFormatT, data: Raw, off: int) -> str:
    """The text of a UserFormatT value stored at data[off:]."""
    if t.kind == "inet":
        return render_inet(data, off)
    if t.kind == "macaddr":
        return render_macaddr(data, off)
    value = _u64(data, off)
    if t.kind == "strftime":
        return render_strftime(t.fmt, value)
    if t.kind == "cgroup_path":
        return render_cgroup_path(value, t.fmt)
    fn = _SCALAR.get(t.kind)
    return fn(value) if fn is not None else str(value)
