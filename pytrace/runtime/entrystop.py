"""Hold a `-c` child at its executable's entry point, once the dynamic loader has mapped
its libraries and before any of its own code runs, so that dw_ustack's unwind table of
the child can be built from its real mappings (the child is forked before it execs).

A small hand-assembled uprobe program on the entry point (for the child's pid only)
sets a flag in a one-slot array and sends the child SIGSTOP; the session waits for both
(another stop, such as the one a probe's first user stack of the child asks for, is
continued at once), builds the table, closes the probe and continues the child.
"""

from __future__ import annotations

import os
import signal
import struct
import time
from collections.abc import Callable

from pytrace.resources import MapKind, MapSpec, ProbeSpec, ProgType
from pytrace.runtime import maps as bpfmaps
from pytrace.runtime import syscalls as sc
from pytrace.runtime.dwtables import PF_X, load_segments

SIGSTOP = 19
MAP_UPDATE_ELEM, SEND_SIGNAL = 2, 109
FLAG_MAP = MapSpec("__dw_entry", "dw_entry", MapKind.ARRAY, 4, 8, 1)


def _insn(op: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", op, (src << 4) | dst, off, imm)


def stop_program(flag_fd: int) -> bytes:
    """flag[0] = 1; bpf_send_signal(SIGSTOP); return 0."""
    return b"".join([
        _insn(0x62, 10, off=-4, imm=0),  # *(u32 *)(r10 - 4) = 0: the key
        _insn(0x7A, 10, off=-16, imm=1),  # *(u64 *)(r10 - 16) = 1: the value
        _insn(0x18, 1, 1, imm=flag_fd), _insn(0),  # r1 = the flag map (ld_imm64, map fd)
        _insn(0xBF, 2, 10), _insn(0x07, 2, imm=-4),  # r2 = r10 - 4
        _insn(0xBF, 3, 10), _insn(0x07, 3, imm=-16),  # r3 = r10 - 16
        _insn(0xB7, 4, imm=0),  # r4 = BPF_ANY
        _insn(0x85, imm=MAP_UPDATE_ELEM),
        _insn(0xB7, 1, imm=SIGSTOP), _insn(0x85, imm=SEND_SIGNAL),
        _insn(0xB7, 0, imm=0), _insn(0x95),
    ])


def entry_offset(path: str) -> int | None:
    """The file offset of an x86_64 ELF executable's entry point (None if not one)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        return None
    if len(head) < 64 or head[:4] != b"\x7fELF":
        return None
    entry, = struct.unpack_from("<Q", head, 0x18)
    for vaddr, filesz, off, flags in load_segments(path):
        if flags & PF_X and vaddr <= entry < vaddr + filesz:
            return entry - vaddr + off
    return None


def process_state(pid: int) -> str:
    """The state letter of /proc/PID/stat ('' when the process is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


class EntryStop:
    """The entry-point stop of one child (attach before the child execs)."""

    def __init__(self, path: str, pid: int) -> None:
        from pytrace.runtime.attach import attach
        from pytrace.runtime.loader import create_map, load_program

        offset = entry_offset(path)
        if offset is None:
            raise OSError(f"{path} is not an x86_64 ELF executable")
        self.pid = pid
        self.prog_fd = -1
        self.flag_fd = create_map(FLAG_MAP)
        try:
            spec = ProbeSpec(-1, "dw_ustack_entry", "uprobe", "", ProgType.KPROBE,
                             {"path": path, "offset": offset, "pid": pid})
            self.prog_fd = load_program(spec, stop_program(self.flag_fd))
            self.attachment = attach(spec, self.prog_fd)
        except BaseException:
            self.close()
            raise

    def reached(self) -> bool:
        vals = bpfmaps.lookup(self.flag_fd, FLAG_MAP, struct.pack("<I", 0))
        return bool(vals and struct.unpack("<Q", vals[0])[0])

    def wait(self, timeout: float = 5.0,
             other_stop: Callable[[], None] | None = None) -> bool:
        """Wait until the child is stopped at the entry (False: it exited or never got
        there in time). A stop before the entry is continued, after `other_stop`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = process_state(self.pid)
            if state in ("T", "t"):
                if self.reached():
                    return True
                if other_stop is not None:
                    other_stop()
                _continue(self.pid)
            elif state in ("", "Z", "X"):
                return False
            time.sleep(0.002)
        return False

    def release(self) -> None:
        """Detach the probe and let the child go on."""
        self.close()
        _continue(self.pid)

    def close(self) -> None:
        if self.prog_fd >= 0:
            if hasattr(self, "attachment"):
                self.attachment.close()
            sc.close_fd(self.prog_fd)
            self.prog_fd = -1
        if self.flag_fd >= 0:
            sc.close_fd(self.flag_fd)
            self.flag_fd = -1


def _continue(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass
