"""The separate debug file of a stripped ELF, found as gdb and bcc find it: by build id
(`/usr/lib/debug/.build-id/AB/CDEF....debug`), else by `.gnu_debuglink` name next to the
file, in its `.debug/` directory or under `/usr/lib/debug` + its directory.

Distributions ship a library's full symbol table and DWARF there (`libc6-dbg`): its
local functions (`malloc_consolidate`) can then be probed and listed, and `-lv` shows
their parameters. The debug file keeps the stripped file's virtual addresses.
"""

from __future__ import annotations

import os
import struct
import zlib
from functools import lru_cache

DEBUG_ROOT = "/usr/lib/debug"


def _build_id(elf: object) -> str | None:
    from elftools.elf.sections import NoteSection

    for sec in elf.iter_sections():  # type: ignore[attr-defined]
        if isinstance(sec, NoteSection):
            for note in sec.iter_notes():
                if note["n_type"] == "NT_GNU_BUILD_ID":
                    return str(note["n_desc"])
    return None


def _debuglink(elf: object) -> tuple[str, int] | None:
    sec = elf.get_section_by_name(".gnu_debuglink")  # type: ignore[attr-defined]
    if sec is None:
        return None
    data = sec.data()
    end = data.find(b"\0")
    if end <= 0:
        return None
    crc_at = (end + 4) & ~3
    if len(data) < crc_at + 4:
        return None
    return data[:end].decode(errors="replace"), int.from_bytes(data[crc_at:crc_at + 4], "little")


def _crc_matches(path: str, crc: int) -> bool:
    value = 0
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                value = zlib.crc32(chunk, value)
    except OSError:
        return False
    return value == crc


def _has_symbols(path: str) -> bool:
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    from pytrace.probes import elfscan

    try:
        f = elfscan.open_elf(path)
        if f is not None:
            with f:
                return f.section(".symtab") is not None
        with open(path, "rb") as stream:
            return ELFFile(stream).get_section_by_name(".symtab") is not None
    except (OSError, ELFError, ValueError, struct.error, OverflowError, IndexError):
        return False


def _build_id_path(root: str, build_id: str | None) -> str | None:
    if not build_id or len(build_id) <= 2:
        return None
    return os.path.join(root, ".build-id", build_id[:2], build_id[2:] + ".debug")


def _link_paths(path: str, name: str, root: str) -> list[str]:
    here = os.path.dirname(os.path.realpath(path))
    return [os.path.join(here, name), os.path.join(here, ".debug", name),
            root + os.path.join(here, name)]


def find_from(path: str, build_id: str | None, link: tuple[str, int] | None,
              root: str | None = None) -> str | None:
    """The debug file of `path`, given its build id and .gnu_debuglink (name, CRC)."""
    root = DEBUG_ROOT if root is None else root
    cand = _build_id_path(root, build_id)
    if cand is not None and os.path.isfile(cand) and _has_symbols(cand):
        return cand
    if link is None:
        return None
    name, crc = link
    for cand in _link_paths(path, name, root):
        if os.path.isfile(cand) and os.path.realpath(cand) != os.path.realpath(path) \
                and _crc_matches(cand, crc) and _has_symbols(cand):
            return cand
    return None


def find(path: str, elf: object, root: str | None = None) -> str | None:
    """The debug file of the ELF `elf` (pyelftools) read from `path` (debug files under
    `root`, DEBUG_ROOT by default), or None."""
    return find_from(path, _build_id(elf), _debuglink(elf), root)


def candidates(path: str, build_id: str | None, link: tuple[str, int] | None) -> list[str]:
    """Every path where `path`'s debug file could be: a cached answer about it holds
    while none of them changes."""
    out = [p for p in (_build_id_path(DEBUG_ROOT, build_id),) if p is not None]
    return out + (_link_paths(path, link[0], DEBUG_ROOT) if link is not None else [])


def ids(path: str) -> tuple[str | None, tuple[str, int] | None]:
    """The build id and .gnu_debuglink of the ELF file at `path` (read with struct)."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    from pytrace.probes import elfscan

    try:
        f = elfscan.open_elf(path)
        if f is not None:
            with f:
                return f.build_id(), f.debuglink()
        with open(path, "rb") as stream:
            elf = ELFFile(stream)
            return _build_id(elf), _debuglink(elf)
    except (OSError, ELFError, ValueError, struct.error, OverflowError, IndexError):
        return None, None


@lru_cache(maxsize=64)
def _cached(path: str, mtime: int, size: int) -> str | None:
    build_id, link = ids(path)
    return find_from(path, build_id, link)


def debug_file(path: str) -> str | None:
    """The separate debug file of the ELF file at `path` (None: none installed)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return _cached(path, st.st_mtime_ns, st.st_size)
