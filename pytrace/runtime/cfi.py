"""The DWARF call-frame information of one ELF file (`.eh_frame`, else `.debug_frame`),
compiled into the unwind rows that dw_ustack's BPF unwinder follows (x86_64 only).

pyelftools decodes the CFI (`CFIEntry.get_decoded()`); this module only reduces each
decoded row to what the BPF side can compute without a DWARF expression machine:

- the CFA is `rsp + offset` or `rbp + offset`;
- the return address is saved at `CFA - 8` (the x86_64 ABI: the call pushed it);
- rbp is unchanged, or saved at `CFA + offset`.

Any other rule (a CFA expression, the return address undefined as in `_start`, rbp kept
in another register, signal frames) becomes a STOP row: unwinding ends there rather
than follow a guess. Each FDE's end gets a STOP row too unless the next FDE starts
there, so a pc no FDE covers stops the unwind.

Rows are file-relative (link-time virtual addresses), sorted, and packed as `ROW`
records; they are cached on disk per file identity (building libc's takes ~0.8 s).
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
from collections.abc import Iterable
from typing import BinaryIO

from pytrace.frozen import frozen

ROW = struct.Struct("<QihBB")  # pc, CFA offset, rbp offset (0: unchanged), kind, 0
KIND_STOP, KIND_RSP, KIND_RBP = 0, 1, 2
REG_RBP, REG_RSP, REG_RA = 6, 7, 16  # DWARF register numbers on x86_64
CACHE_MAGIC = b"pytrace-cfi-1\n"


@frozen
class Row:
    """One unwind rule from `pc` (file-relative) up to the next row."""

    pc: int
    kind: int  # KIND_STOP, KIND_RSP or KIND_RBP: the register the CFA is based on
    cfa_off: int = 0
    rbp_off: int = 0  # rbp saved at CFA + rbp_off; 0: rbp is unchanged

    def pack(self, bias: int = 0) -> bytes:
        return ROW.pack((self.pc + bias) & ((1 << 64) - 1), self.cfa_off, self.rbp_off,
                        self.kind, 0)


def _fits(value: int, bits: int) -> bool:
    return -(1 << (bits - 1)) <= value < (1 << (bits - 1))


def reduce_row(entry: dict) -> Row:  # type: ignore[type-arg]
    """One decoded pyelftools row (`{'pc', 'cfa', reg: RegisterRule}`) as a Row."""
    pc = int(entry["pc"])
    cfa = entry.get("cfa")
    if cfa is None or cfa.expr is not None or cfa.reg not in (REG_RSP, REG_RBP) \
            or not _fits(cfa.offset, 32):
        return Row(pc, KIND_STOP)
    ra = entry.get(REG_RA)
    if ra is None or ra.type != "OFFSET" or ra.arg != -8:
        return Row(pc, KIND_STOP)
    rbp = entry.get(REG_RBP)
    rbp_off = 0
    if rbp is not None and rbp.type == "OFFSET" and rbp.arg != 0 and _fits(rbp.arg, 16):
        rbp_off = rbp.arg
    elif rbp is not None and rbp.type not in ("SAME_VALUE", "UNDEFINED"):
        return Row(pc, KIND_STOP)
    kind = KIND_RSP if cfa.reg == REG_RSP else KIND_RBP
    return Row(pc, kind, cfa.offset, rbp_off)


def _fde_rows(fde: object) -> list[Row] | None:
    """The rows of one FDE, ending with a STOP row at its end; None if undecodable."""
    from elftools.common.exceptions import ELFError

    try:
        table = fde.get_decoded().table  # type: ignore[attr-defined]
    except (ELFError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None
    start = int(fde.header["initial_location"])  # type: ignore[attr-defined]
    end = start + int(fde.header["address_range"])  # type: ignore[attr-defined]
    rows = [reduce_row(e) for e in table if start <= int(e["pc"]) < end]
    if not rows or rows[0].pc != start:
        rows.insert(0, Row(start, KIND_STOP))
    rows.append(Row(end, KIND_STOP))
    return rows


def merge(fdes: Iterable[list[Row]]) -> list[Row]:
    """FDE row lists as one sorted table: an FDE's closing STOP row is dropped where the
    next FDE starts at the same pc (or earlier: overlapping FDEs keep the later one)."""
    out: list[Row] = []
    for rows in sorted(fdes, key=lambda r: r[0].pc):
        while out and out[-1].pc >= rows[0].pc:
            out.pop()
        out.extend(rows)
    return out


def _entries_of(stream: BinaryIO) -> list[object] | None:
    """The CFI entries of an ELF image: .eh_frame, else .debug_frame; None for neither."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        elf = ELFFile(stream)
        if elf["e_machine"] != "EM_X86_64":
            return None
        dwarf = elf.get_dwarf_info(relocate_dwarf_sections=False, follow_links=False)
        if dwarf.has_EH_CFI():
            return list(dwarf.EH_CFI_entries())
        if dwarf.has_CFI():
            return list(dwarf.CFI_entries())
    except (OSError, ELFError, ValueError, KeyError, TypeError, AttributeError, struct.error):
        return None
    return None


def _rows(entries: list[object] | None) -> list[Row]:
    from elftools.dwarf.callframe import FDE

    if not entries:
        return []
    fdes = [r for e in entries if isinstance(e, FDE) and e.header["address_range"]
            for r in [_fde_rows(e)] if r]
    return merge(fdes)


def build_rows(path: str) -> list[Row]:
    """The unwind table of one ELF file (empty when it has no usable CFI)."""
    try:
        with open(path, "rb") as f:
            return _rows(_entries_of(f))
    except OSError:
        return []


def image_rows(data: bytes) -> list[Row]:
    """The unwind table of an ELF image in memory (the vDSO a process maps)."""
    return _rows(_entries_of(io.BytesIO(data)))


# ------------------------------------------------------------------ cache
def _cache_path(path: str, st: os.stat_result) -> str:
    from pytrace import cachedir

    ident = f"{os.path.realpath(path)}:{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
    key = hashlib.sha256(ident.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return os.path.join(cachedir.cache_dir(), "cfi", key + ".rows")


def pack_rows(rows: list[Row]) -> bytes:
    return b"".join(r.pack() for r in rows)


def unpack_rows(data: bytes) -> list[Row]:
    return [Row(pc, kind, cfa, rbp) for pc, cfa, rbp, kind, _ in ROW.iter_unpack(data)]


def file_rows(path: str) -> list[Row]:
    """build_rows(path), through the on-disk cache when caching is on."""
    from pytrace import cache, cachedir

    try:
        st = os.stat(path)
    except OSError:
        return []
    cached = _cache_path(path, st)
    if cache.enabled():
        raw = cachedir.read_private(cached)
        if raw is not None and raw.startswith(CACHE_MAGIC) \
                and (len(raw) - len(CACHE_MAGIC)) % ROW.size == 0:
            return unpack_rows(raw[len(CACHE_MAGIC):])
    rows = build_rows(path)
    if cache.enabled():
        cachedir.write_private(cached, CACHE_MAGIC + pack_rows(rows))
    return rows
