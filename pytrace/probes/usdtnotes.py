"""USDT probes of an ELF file: its `.note.stapsdt` entries (SystemTap's <sys/sdt.h>).

Each note gives a probe location, the link-time `.stapsdt.base` (adjusted when the
file was prelinked), an optional semaphore address and the operand string of its
arguments. A probe used in several places has one note per place.
"""

from __future__ import annotations

import os
import struct
from functools import lru_cache

from pytrace.frozen import frozen
from pytrace.probes import elfscan, scancache
from pytrace.probes.base import ProbeError
from pytrace.probes.elfsyms import open_member


@frozen
class UsdtNote:
    provider: str
    name: str
    offset: int  # file offset of the probe's instruction
    semaphore: int  # file offset of the semaphore (0: none)
    args: str  # e.g. '-4@%eax 8@-8(%rbp)'


def _vaddr_to_offset(loads: list[tuple[int, int, int]], vaddr: int) -> int | None:
    for start, size, offset in loads:
        if start <= vaddr < start + size:
            return vaddr - start + offset
    return None


def _note(desc: bytes, base_addr: int | None,
          loads: list[tuple[int, int, int]]) -> UsdtNote | None:
    pc, base, sem = struct.unpack_from("<QQQ", desc, 0)
    strs = desc[24:].split(b"\0")
    if base_addr is not None:
        pc += base_addr - base
        sem += base_addr - base if sem else 0
    off = _vaddr_to_offset(loads, pc)
    if off is None or len(strs) < 2:
        return None
    sem_off = (_vaddr_to_offset(loads, sem) or 0) if sem else 0
    args = strs[2].decode(errors="replace") if len(strs) > 2 else ""
    return UsdtNote(strs[0].decode(errors="replace"), strs[1].decode(errors="replace"),
                    off, sem_off, args)


def _from_pyelftools(path: str, base: int) -> tuple[UsdtNote, ...]:
    from elftools.elf.elffile import ELFFile

    with open_member(path, base) as stream:
        elf = ELFFile(stream)
        sec = elf.get_section_by_name(".note.stapsdt")
        if sec is None:
            return ()
        base_sec = elf.get_section_by_name(".stapsdt.base")
        base_addr = int(base_sec["sh_addr"]) if base_sec is not None else None
        loads = [(s["p_vaddr"], s["p_memsz"], s["p_offset"]) for s in elf.iter_segments()
                 if s["p_type"] == "PT_LOAD"]
        out = []
        for note in sec.iter_notes():  # type: ignore[attr-defined]
            if note["n_name"] != "stapsdt":
                continue
            desc = note["n_descdata"]
            found = _note(desc.encode("latin-1") if isinstance(desc, str) else desc,
                          base_addr, loads)
            if found is not None:
                out.append(found)
        return tuple(out)


def _read(path: str, base: int) -> tuple[UsdtNote, ...]:
    names = elfscan.section_names(path, base)
    if names is not None and b".note.stapsdt\0" not in names:
        return ()  # most files: decided from the section names alone
    f = elfscan.open_elf(path, base)
    if f is None:
        return _from_pyelftools(path, base)
    with f:
        sec = f.section(".note.stapsdt")
        if sec is None or sec.type != elfscan.SHT_NOTE:
            return ()
        base_sec = f.section(".stapsdt.base")
        base_addr = base_sec.addr if base_sec is not None else None
        loads = f.loads()
        found = (_note(desc, base_addr, loads) for _t, name, desc in f.notes(sec)
                 if name == b"stapsdt")
        return tuple(n for n in found if n is not None)


def _from_cache(value: object) -> tuple[UsdtNote, ...] | None:
    if not isinstance(value, list):
        return None
    try:
        out = tuple(UsdtNote(str(p), str(n), int(o), int(s), str(a)) for p, n, o, s, a in value)
    except (TypeError, ValueError):
        return None
    return out


@lru_cache(maxsize=4096)
def _notes(path: str, base: int, ident: str) -> tuple[UsdtNote, ...]:
    cached = _from_cache(scancache.STORE.get(ident, "usdt"))
    if cached is not None:
        return cached
    from elftools.common.exceptions import ELFError

    try:
        found = _read(path, base)
    except (OSError, ELFError, struct.error, ValueError, OverflowError, IndexError) as e:
        raise ProbeError(f"cannot read USDT notes of '{path}': {e}") from None
    scancache.STORE.put(ident, "usdt", [[n.provider, n.name, n.offset, n.semaphore, n.args]
                                        for n in found])
    return found


def notes(path: str, base: int = 0) -> tuple[UsdtNote, ...]:
    """Every USDT note of the ELF at `path` (from byte `base`), in file order (cached
    by the file's identity, pytrace.probes.scancache)."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise ProbeError(f"cannot read USDT notes of '{path}': {e.strerror}") from None
    return _notes(path, base, scancache.identity(st, base))
