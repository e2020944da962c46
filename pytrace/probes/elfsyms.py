"""The function symbols of an ELF file (or of an ELF inside an archive), with their sizes
and the PT_LOAD segments that turn a virtual address into a file offset.

Symbols come from .symtab and .dynsym (stripped binaries keep only .dynsym); a name's
first definition with a non-zero size wins, versioned names (`memcpy@@GLIBC_2.14`)
are also found by their base name. A stripped file whose separate debug file is installed
(pytrace.probes.debugfile) gets that file's full symbol table too, as bcc and gdb read
it. Read with pyelftools once per file version.
"""

from __future__ import annotations

import bisect
import io
import os
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from typing import IO

from pytrace.frozen import frozen
from pytrace.probes.base import ProbeError

FUNCTION_TYPES = ("STT_FUNC", "STT_GNU_IFUNC", "STT_LOOS")
FUNCTION_CODES = frozenset({2, 10})  # STT_FUNC, STT_GNU_IFUNC
SYM64 = struct.Struct("<IBBHQQ")  # Elf64_Sym: name, info, other, shndx, value, size


@frozen
class Symbol:
    name: str
    addr: int  # st_value (a virtual address)
    size: int  # st_size (0: unknown)


@dataclass(slots=True)
class ElfImage:
    """One ELF's functions by name and by address, and its loadable segments."""

    functions: dict[str, Symbol] = field(default_factory=dict)
    loads: list[tuple[int, int, int]] = field(default_factory=list)  # vaddr, memsz, offset
    has_symtab: bool = False
    _starts: list[int] = field(default_factory=list)
    _sorted: list[Symbol] = field(default_factory=list)

    def index(self) -> None:
        self._sorted = sorted(self.functions.values(), key=lambda s: (s.addr, -s.size))
        self._starts = [s.addr for s in self._sorted]

    def file_offset(self, vaddr: int) -> int | None:
        """The file offset of a virtual address (None outside every PT_LOAD)."""
        for start, size, offset in self.loads:
            if start <= vaddr < start + size:
                return vaddr - start + offset
        return None

    def containing(self, vaddr: int) -> Symbol | None:
        """The sized function whose [start, start + size) holds `vaddr`."""
        i = bisect.bisect_right(self._starts, vaddr) - 1
        while i >= 0 and self._sorted[i].addr <= vaddr:
            sym = self._sorted[i]
            if sym.addr <= vaddr < sym.addr + sym.size:
                return sym
            if vaddr - sym.addr > 1 << 24:
                break
            i -= 1
        return None


def _add(image: ElfImage, name: str, addr: int, size: int) -> None:
    """A function under its name; a versioned .symtab name (`f@@GLIBC_2.2.5`) also
    under its base name, as bpftrace lists and resolves both."""
    base = name.split("@", 1)[0]
    for each in (base, name) if base != name else (name,):
        old = image.functions.get(each)
        if old is None or (not old.size and size):
            image.functions[each] = Symbol(each, addr, size)


def _fast_symbols(image: ElfImage, data: bytes, strings: bytes) -> None:
    """ELF64 little-endian symbols straight from the section bytes (pyelftools builds an
    object per symbol: 30x slower on a library with 100k of them)."""
    for st_name, st_info, _other, shndx, value, size in SYM64.iter_unpack(
            data[:len(data) // SYM64.size * SYM64.size]):
        if st_info & 0xF in FUNCTION_CODES and shndx and value and st_name:
            end = strings.find(b"\0", st_name)
            _add(image, strings[st_name:end].decode(errors="replace"), value, size)


def _read(stream: IO[bytes]) -> ElfImage:
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    elf = ELFFile(stream)
    image = ElfImage(loads=[(s["p_vaddr"], s["p_memsz"], s["p_offset"])
                            for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"])
    fast = elf.elfclass == 64 and elf.little_endian
    for secname in (".symtab", ".dynsym"):
        sec = elf.get_section_by_name(secname)
        if not isinstance(sec, SymbolTableSection):
            continue
        image.has_symtab |= secname == ".symtab"
        if fast:
            _fast_symbols(image, sec.data(), elf.get_section(sec["sh_link"]).data())
            continue
        for sym in sec.iter_symbols():
            if (sym["st_info"]["type"] in FUNCTION_TYPES and sym["st_shndx"] != "SHN_UNDEF"
                    and sym.name and sym["st_value"]):
                _add(image, sym.name, sym["st_value"], sym["st_size"])
    image.index()
    return image


def open_member(path: str, base: int) -> IO[bytes]:
    """A stream of the ELF at byte `base` of `path` (an archive member: read whole)."""
    f = open(path, "rb")  # noqa: SIM115 - the caller closes it
    if not base:
        return f
    with f:
        f.seek(base)
        return io.BytesIO(f.read())


def _debug_symtab(found: ElfImage, path: str, base: int, name: str | None = None) -> None:
    """Add the .symtab functions (or only `name`) of a stripped file's debug file."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    from pytrace.probes.debugfile import debug_file

    if found.has_symtab or base:
        return
    debug = debug_file(path)
    if debug is None:
        return
    try:
        with open(debug, "rb") as f:
            elf = ELFFile(f)
            sec = elf.get_section_by_name(".symtab")
            if not isinstance(sec, SymbolTableSection) or elf.elfclass != 64 \
                    or not elf.little_endian:
                return
            strings = elf.get_section(sec["sh_link"]).data()
            if name is None:
                _fast_symbols(found, sec.data(), strings)
            else:
                _matches(found, sec.data(), strings, name.encode())
    except (OSError, ELFError, ValueError):
        return
    found.has_symtab = True
    found.index()


@lru_cache(maxsize=64)
def _image(path: str, base: int, mtime: int, size: int) -> ElfImage:
    from elftools.common.exceptions import ELFError

    try:
        with open_member(path, base) as stream:
            found = _read(stream)
    except (OSError, ELFError, ValueError) as e:
        raise ProbeError(f"cannot read ELF symbols of '{path}': {e}") from None
    _debug_symtab(found, path, base)
    return found


def _matches(image: ElfImage, data: bytes, strings: bytes, name: bytes) -> None:
    """The symbols called `name` (or `name@version`): their string offsets are found at
    C speed, then only those records are read. Linkers share string tails (`malloc` may
    be the end of `__libc_malloc`), so every occurrence is a candidate."""
    import re

    offsets = [m.start() for m in re.finditer(re.escape(name) + rb"(?=[\0@])", strings)]
    if not offsets:
        return
    count = len(data) // SYM64.size
    st_names = memoryview(data[:count * SYM64.size]).cast("I")[0::6].tolist()
    for off in offsets:
        i = -1
        while True:
            try:
                i = st_names.index(off, i + 1)
            except ValueError:
                break
            _name, info, _other, shndx, value, size = SYM64.unpack_from(data, i * SYM64.size)
            if info & 0xF in FUNCTION_CODES and shndx and value:
                _add(image, name.decode(errors="replace"), value, size)


@lru_cache(maxsize=256)
def _lookup(path: str, base: int, name: str, mtime: int, size: int) -> ElfImage:
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    try:
        with open_member(path, base) as stream:
            elf = ELFFile(stream)
            if not (elf.elfclass == 64 and elf.little_endian):
                full = _read(stream)
                found = ElfImage(loads=full.loads, has_symtab=full.has_symtab)
                if name in full.functions:
                    found.functions[name] = full.functions[name]
                return found
            found = ElfImage(loads=[(s["p_vaddr"], s["p_memsz"], s["p_offset"])
                                    for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"])
            for secname in (".symtab", ".dynsym"):
                sec = elf.get_section_by_name(secname)
                if isinstance(sec, SymbolTableSection):
                    found.has_symtab |= secname == ".symtab"
                    _matches(found, sec.data(), elf.get_section(sec["sh_link"]).data(),
                             name.encode())
            found.index()
    except (OSError, ELFError, ValueError) as e:
        raise ProbeError(f"cannot read ELF symbols of '{path}': {e}") from None
    if name not in found.functions:
        _debug_symtab(found, path, base, name)
    return found


def lookup(path: str, base: int, name: str) -> ElfImage:
    """An ElfImage holding only the function `name` (if defined) and the segments: one
    name is found without reading every symbol of a large library."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise ProbeError(f"cannot read ELF symbols of '{path}': {e.strerror}") from None
    return _lookup(path, base, name, st.st_mtime_ns, st.st_size)


def image(path: str, base: int = 0) -> ElfImage:
    """The symbols of the ELF file at `path` (at byte `base` of it)."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise ProbeError(f"cannot read ELF symbols of '{path}': {e.strerror}") from None
    return _image(path, base, st.st_mtime_ns, st.st_size)
