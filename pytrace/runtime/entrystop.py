"""Hold a `-c` child at its executable's entry point, once the dynamic loader has mapped
its libraries and before any of its own code runs, so that dw_ustack's unwind table of
the child can be built from its real mappings (the child is forked before it execs).

A four-instruction uprobe program on the entry point (for the child's pid only) sends
the child SIGSTOP; the session builds the table, closes the probe and continues it.
"""

from __future__ import annotations

import os
import signal
import struct
import time

from pytrace.resources import ProbeSpec, ProgType
from pytrace.runtime import syscalls as sc
from pytrace.runtime.dwtables import PF_X, load_segments

SIGSTOP = 19
SEND_SIGNAL = 109
# r1 = SIGSTOP; call bpf_send_signal; r0 = 0; exit
STOP_PROGRAM = struct.pack("<BBhi", 0xB7, 0x01, 0, SIGSTOP) + struct.pack(
    "<BBhi", 0x85, 0x00, 0, SEND_SIGNAL) + struct.pack("<BBhi", 0xB7, 0x00, 0, 0) + \
    struct.pack("<BBhi", 0x95, 0x00, 0, 0)


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
        from pytrace.runtime.loader import load_program

        offset = entry_offset(path)
        if offset is None:
            raise OSError(f"{path} is not an x86_64 ELF executable")
        self.pid = pid
        spec = ProbeSpec(-1, "dw_ustack_entry", "uprobe", "", ProgType.KPROBE,
                         {"path": path, "offset": offset, "pid": pid})
        self.prog_fd = load_program(spec, STOP_PROGRAM)
        try:
            self.attachment = attach(spec, self.prog_fd)
        except BaseException:
            sc.close_fd(self.prog_fd)
            raise

    def wait(self, timeout: float = 5.0) -> bool:
        """Wait until the child is stopped at the entry (False: it exited or never got
        there in time)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = process_state(self.pid)
            if state in ("T", "t"):
                return True
            if state in ("", "Z", "X"):
                return False
            time.sleep(0.002)
        return False

    def release(self) -> None:
        """Detach the probe and let the child go on."""
        self.close()
        try:
            os.kill(self.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass

    def close(self) -> None:
        if self.prog_fd >= 0:
            self.attachment.close()
            sc.close_fd(self.prog_fd)
            self.prog_fd = -1
