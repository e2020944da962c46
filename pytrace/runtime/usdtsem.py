"""USDT semaphores: the counters a program checks (`if (PROV_PROBE_ENABLED())`) before
it evaluates a probe's arguments.

Kernels since 4.20 count them themselves: the uprobe PMU takes the semaphore's file
offset (`format/ref_ctr_offset`, config bits 32-63) and raises it in every process the
probe covers while the probe is attached. Then `--usdt-file-activation` changes nothing,
as bpftrace's manual says. Without that support, pytrace raises the counters itself
through /proc/PID/mem: in the `-p` process, or (`--usdt-file-activation`) in every
process that maps the probe's file executable at attach time, and lowers them again at
detach. `PYTRACE_NO_UPROBE_REFCOUNT=1` forces the manual way (for tests).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

from pytrace.frozen import frozen
from pytrace.resources import ProbeSpec

REF_CTR_FORMAT = "/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset"


def kernel_refcount() -> bool:
    """Whether the kernel manages USDT semaphores (uprobe ref_ctr_offset)."""
    if os.environ.get("PYTRACE_NO_UPROBE_REFCOUNT"):
        return False
    return os.path.exists(REF_CTR_FORMAT)


def shared_refs(specs: Iterable[ProbeSpec]) -> dict[tuple[str, int], int]:
    """(path, offset) -> ref_ctr_offset of every usdt probe with a semaphore.

    The kernel keeps one ref_ctr_offset per probed instruction and refuses (EINVAL) a
    second probe there with another: a uprobe on the first instruction of a function
    whose usdt probe has a semaphore gets that semaphore too."""
    out: dict[tuple[str, int], int] = {}
    for spec in specs:
        ref = int(spec.attach.get("ref_ctr_offset", 0))
        if spec.kind == "usdt" and ref:
            out[(str(spec.attach["path"]), int(spec.attach["offset"]))] = ref
    return out


@frozen
class _Mapping:
    start: int
    end: int
    offset: int
    dev: tuple[int, int]
    inode: int
    executable: bool


def _maps(pid: int) -> list[_Mapping]:
    out = []
    try:
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                parts = line.split(None, 5)
                if len(parts) < 5:
                    continue
                lo, hi = parts[0].split("-")
                major, minor = parts[3].split(":")
                out.append(_Mapping(int(lo, 16), int(hi, 16), int(parts[2], 16),
                                    (int(major, 16), int(minor, 16)), int(parts[4]),
                                    "x" in parts[1]))
    except (OSError, ValueError):
        return []
    return out


def _file_id(path: str) -> tuple[tuple[int, int], int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (os.major(st.st_dev), os.minor(st.st_dev)), st.st_ino


def semaphore_address(pid: int, path: str, file_offset: int) -> int | None:
    """Where the semaphore at `file_offset` of `path` lives in process `pid`."""
    ident = _file_id(path)
    for m in _maps(pid):
        if ident is not None and (m.dev, m.inode) == ident \
                and m.offset <= file_offset < m.offset + (m.end - m.start):
            return m.start + file_offset - m.offset
    return None


def processes_mapping(path: str) -> list[int]:
    """Processes that map `path` with execute permission (file activation)."""
    ident = _file_id(path)
    if ident is None:
        return []
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != os.getpid() and any(
                m.executable and (m.dev, m.inode) == ident for m in _maps(int(d))):
            pids.append(int(d))
    return sorted(pids)


def _add(pid: int, addr: int, delta: int) -> bool:
    try:
        with open(f"/proc/{pid}/mem", "r+b", buffering=0) as mem:
            mem.seek(addr)
            (value,) = struct.unpack("<H", mem.read(2))
            mem.seek(addr)
            mem.write(struct.pack("<H", (value + delta) & 0xFFFF))
        return True
    except (OSError, struct.error):
        return False  # the process is gone or refuses: nothing to undo


@dataclass(slots=True)
class Activation:
    """Semaphores pytrace raised; release() lowers each once."""

    raised: list[tuple[int, int]] = field(default_factory=list)  # (pid, address)

    def release(self) -> None:
        for pid, addr in self.raised:
            _add(pid, addr, -1)
        self.raised = []


def activate(specs: Iterable[ProbeSpec], file_activation: bool) -> Activation:
    """Raise the semaphores of usdt probes the kernel does not count itself."""
    act = Activation()
    if kernel_refcount():
        return act
    for spec in specs:
        ref = int(spec.attach.get("ref_ctr_offset", 0))
        if spec.kind != "usdt" or not ref:
            continue
        path = str(spec.attach["path"])
        if "pid" in spec.attach:
            pids = [int(spec.attach["pid"])]
        else:
            pids = processes_mapping(path) if file_activation else []
        for pid in pids:
            addr = semaphore_address(pid, path, ref)
            if addr is not None and _add(pid, addr, 1):
                act.raised.append((pid, addr))
    return act
