"""User addresses whose process may be gone: where they can still be resolved from.

- A process's mappings are read once when it is first seen (the PID_SEEN record a
  probe sends the first time it takes a process's user stack or address, and at start
  for the -p process), and kept after it exits (Symbolizer.snapshot).
- Non-PIE executables (ET_EXEC) load at the addresses their PT_LOAD segments name, so
  an address inside one resolves without any mapping: the executables a program probes,
  the -c command and the -p process's are known (`FixedImages`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence

from pytrace.resources import Resources

ET_EXEC = 2
Range = tuple[int, int, int, str]  # start, end, file offset at start, path


def _et_exec(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(18)
    except OSError:
        return False
    return head[:4] == b"\x7fELF" and int.from_bytes(head[16:18], "little") == ET_EXEC


class FixedImages:
    """The load ranges of non-PIE executables, by absolute address."""

    def __init__(self) -> None:
        self.ranges: list[Range] = []
        self._paths: set[str] = set()

    def add(self, path: str) -> None:
        if path in self._paths:
            return
        self._paths.add(path)
        if not _et_exec(path):
            return
        from pytrace.probes.base import ProbeError
        from pytrace.probes.elfsyms import segments

        try:
            loads = segments(path)
        except ProbeError:
            return
        self.ranges.extend((v, v + size, off, path) for v, size, off in loads if size)

    def add_all(self, paths: Iterable[str]) -> None:
        for p in paths:
            self.add(p)

    def find(self, addr: int) -> Range | None:
        for r in self.ranges:
            if r[0] <= addr < r[1]:
                return r
        return None


def probed_binaries(res: Resources) -> list[str]:
    """The files a program's uprobes and usdt probes attach to."""
    return sorted({str(p.attach["path"]) for p in res.probes
                   if p.kind in ("uprobe", "uretprobe", "usdt") and "path" in p.attach})


def command_binary(argv: Sequence[str]) -> str | None:
    """The executable a -c command runs."""
    if not argv:
        return None
    return argv[0] if "/" in argv[0] else shutil.which(argv[0])


def process_binary(pid: int) -> str | None:
    """The executable of a running process (through its root: any mount namespace)."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None
    return f"/proc/{pid}/root{exe}" if os.path.exists(f"/proc/{pid}/root{exe}") else None
