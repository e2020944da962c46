"""dw_ustack's unwind tables, per process: the rows of every executable file mapping
of the process (runtime/cfi.py, file-relative) moved to the addresses it is mapped at,
sorted, and written into the BPF maps the unwinder reads (`__dw_rows`: all rows, each
process's rows contiguous and sorted; `__dw_pids`: pid -> (first row, row count)).

Tables are built at start for the pids of `-p`, `--dwarf-pid` and the `-c` child (whose
libraries are mapped only once it runs: the session builds its table when the child
reaches its entry point, into room reserved for it: CHILD_ROWS).
"""

from __future__ import annotations

import dataclasses
import struct
import time
from dataclasses import dataclass, field

from pytrace.frozen import frozen
from pytrace.resources import DW_PIDS_MAP, DW_ROWS_MAP, Resources
from pytrace.runtime import cfi

CHILD_ROWS = 1 << 20  # rows reserved for a -c child's table (16 MiB of __dw_rows)
MAX_PIDS = 64  # __dw_pids entries (codegen/maps.py sizes it)
PF_X = 1
PT_LOAD = 1
VDSO = "[vdso]"


@frozen
class ExecMapping:
    start: int
    end: int
    offset: int
    path: str


def exec_mappings(pid: int) -> list[ExecMapping]:
    """The executable file-backed mappings of a process (empty when it is gone)."""
    out = []
    try:
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                parts = line.split(maxsplit=5)
                if len(parts) < 6 or "x" not in parts[1]:
                    continue
                if not parts[5].startswith("/") and parts[5].strip() != VDSO:
                    continue
                lo, hi = parts[0].split("-")
                path = parts[5].rstrip("\n").removesuffix(" (deleted)")
                out.append(ExecMapping(int(lo, 16), int(hi, 16), int(parts[2], 16), path))
    except (OSError, ValueError):
        return []
    return out


def load_segments(path: str) -> list[tuple[int, int, int, int]]:
    """PT_LOAD segments of an x86_64 ELF file as (vaddr, filesz, offset, flags)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if len(head) < 64:
                return []
            phoff, = struct.unpack_from("<Q", head, 0x20)
            phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
            f.seek(phoff)
            return _segments(head, f.read(phentsize * phnum))
    except (OSError, struct.error, ValueError, OverflowError):
        return []


def segments_of(image: bytes) -> list[tuple[int, int, int, int]]:
    """The same for an ELF image in memory."""
    if len(image) < 64:
        return []
    phoff, = struct.unpack_from("<Q", image, 0x20)
    return _segments(image[:64], image[phoff:])


def _segments(head: bytes, table: bytes) -> list[tuple[int, int, int, int]]:
    """PT_LOAD segments from the ELF header and the program header table."""
    if head[:4] != b"\x7fELF" or head[4] != 2 or struct.unpack_from("<H", head, 18)[0] != 62:
        return []
    phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
    out = []
    for i in range(phnum):
        try:
            ptype, pflags, poff, pvaddr, _pa, filesz, _memsz, _al = struct.unpack_from(
                "<IIQQQQQQ", table, i * phentsize)
        except struct.error:
            break
        if ptype == PT_LOAD:
            out.append((pvaddr, filesz, poff, pflags))
    return out


def _vdso_rows(pid: int, m: ExecMapping) -> tuple[int, list[cfi.Row]] | None:
    """(bias, rows) of the vDSO mapped at m, read from the process's memory."""
    try:
        with open(f"/proc/{pid}/mem", "rb") as f:
            f.seek(m.start)
            image = f.read(m.end - m.start)
    except (OSError, OverflowError, ValueError):
        return None
    bias = mapping_bias(m, segments_of(image))
    return None if bias is None else (bias, cfi.image_rows(image))


def mapping_bias(m: ExecMapping, segments: list[tuple[int, int, int, int]]) -> int | None:
    """What to add to the file's virtual addresses to get this mapping's addresses."""
    for vaddr, filesz, off, flags in segments:
        if flags & PF_X and off <= m.offset < off + max(filesz, 1):
            return m.start - m.offset + off - vaddr
    return None


@dataclass(slots=True)
class PidTable:
    """One process's rows at its own addresses, packed (cfi.ROW), sorted."""

    pid: int
    rows: bytes = b""
    files: list[str] = field(default_factory=list)  # the files that had unwind rows
    seconds: float = 0.0

    @property
    def count(self) -> int:
        return len(self.rows) // cfi.ROW.size


def _file_rows(m: ExecMapping) -> tuple[int, list[cfi.Row]] | None:
    bias = mapping_bias(m, load_segments(m.path))
    return None if bias is None else (bias, cfi.file_rows(m.path))


def build_table(pid: int) -> PidTable:
    """The unwind table of process `pid` (no rows when it is gone or has no CFI)."""
    t0 = time.monotonic()
    chunks: list[tuple[int, bytes]] = []
    table = PidTable(pid)
    for m in exec_mappings(pid):
        found = _vdso_rows(pid, m) if m.path == VDSO else _file_rows(m)
        if found is None:
            continue
        bias, rows = found
        rows = [r for r in rows if m.start <= r.pc + bias < m.end]
        if not rows:
            continue
        packed = b"".join(r.pack(bias) for r in rows)
        packed += cfi.Row(m.end - bias, cfi.KIND_STOP).pack(bias)
        chunks.append((m.start, packed))
        table.files.append(m.path)
    table.rows = b"".join(c for _, c in sorted(chunks))
    table.seconds = time.monotonic() - t0
    return table


@dataclass(slots=True)
class DwarfTables:
    """The tables of every dw_ustack target process, and where each starts in __dw_rows."""

    tables: list[PidTable] = field(default_factory=list)
    reserve: int = 0  # rows kept free at the end (for the -c child)

    @classmethod
    def build(cls, pids: list[int], reserve: int = 0) -> DwarfTables:
        seen: list[int] = []
        for pid in pids:
            if pid not in seen:
                seen.append(pid)
        return cls([build_table(p) for p in seen[:MAX_PIDS]], reserve)

    @property
    def used(self) -> int:
        return sum(t.count for t in self.tables)

    @property
    def capacity(self) -> int:
        return max(1, self.used + self.reserve)


def rows_map_name(res: Resources) -> str | None:
    """The name of the object's __dw_rows map (a REPL entry's is `__dw_rows.TAG`)."""
    for m in res.maps:
        if m.name == DW_ROWS_MAP or m.name.startswith(DW_ROWS_MAP + "."):
            return m.name
    return None


def pids_map_name(res: Resources) -> str | None:
    for m in res.maps:
        if m.name == DW_PIDS_MAP or m.name.startswith(DW_PIDS_MAP + "."):
            return m.name
    return None


def sized(res: Resources, capacity: int) -> Resources:
    """Resources whose __dw_rows map holds `capacity` rows."""
    name = rows_map_name(res)
    maps = tuple(dataclasses.replace(m, max_entries=capacity) if m.name == name else m
                 for m in res.maps)
    return dataclasses.replace(res, maps=maps)


class TableWriter:
    """Writes tables into an object's __dw_rows/__dw_pids maps, one after another."""

    def __init__(self, res: Resources, map_fd: object) -> None:
        self.res = res
        self.map_fd = map_fd
        self.next_row = 0

    def placeholder(self, pid: int) -> None:
        """An empty table for `pid` until its real one is written (the -c child before
        its entry point: its stacks have one frame, and no warning)."""
        self.write(PidTable(pid), empty=True)

    def write(self, table: PidTable, empty: bool = False) -> bool:
        """Whether the table was written (False: no dw_ustack maps, or no room left)."""
        from pytrace.runtime import maps as bpfmaps

        rows_name, pids_name = rows_map_name(self.res), pids_map_name(self.res)
        if rows_name is None or pids_name is None or not (table.count or empty):
            return False
        rows_spec, pids_spec = self.res.map(rows_name), self.res.map(pids_name)
        first = self.next_row
        if first + table.count > rows_spec.max_entries:
            return False
        keys = b"".join(struct.pack("<I", first + i) for i in range(table.count))
        get_fd = self.map_fd
        assert callable(get_fd)
        bpfmaps.update_many(get_fd(rows_name), rows_spec, keys, table.rows)
        bpfmaps.update(get_fd(pids_name), pids_spec, struct.pack("<Q", table.pid),
                       struct.pack("<QQ", first, table.count))
        self.next_row += table.count
        return True
