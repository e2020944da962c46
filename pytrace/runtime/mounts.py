"""Mounting the kernel's pseudo filesystems pytrace needs (tracefs, the bpf filesystem)
through libc's mount(2), and telling whether one is mounted."""

from __future__ import annotations

import ctypes
import os


def mount(fstype: str, path: str) -> int:
    """mount -t FSTYPE nodev PATH; 0 or the errno."""
    libc = ctypes.CDLL(None, use_errno=True)
    fn = libc["mount"]
    fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                   ctypes.c_void_p]
    fn.restype = ctypes.c_int
    if fn(b"nodev", path.encode(), fstype.encode(), 0, None) != 0:
        return ctypes.get_errno()
    return 0


def mounted(path: str, fstype: str) -> bool:
    """Whether a filesystem of type `fstype` is mounted exactly at `path`."""
    try:
        with open("/proc/self/mounts") as f:
            return any(len(p := line.split()) > 2 and p[1] == path and p[2] == fstype
                       for line in f)
    except OSError:
        return False


def ensure(fstype: str, path: str) -> str | None:
    """Mount `fstype` at `path` unless it is there (root only); None, or why it failed."""
    if mounted(path, fstype):
        return None
    if os.geteuid() != 0:
        return f"{fstype} is not mounted at {path}"
    err = mount(fstype, path)
    return None if err == 0 else f"mounting {fstype} at {path} failed: {os.strerror(err)}"
