"""The function symbols of an ELF file (or of an ELF inside an archive), with their sizes
and the PT_LOAD segments that turn a virtual address into a file offset.

Symbols come from .symtab and .dynsym (stripped binaries keep only .dynsym); a name's
first definition with a non-zero size wins, versioned names (`memcpy@@GLIBC_2.14`)
are also found by their base name. A stripped file whose separate debug file is installed
(pytrace.probes.debugfile) gets that file's full symbol table too, as bcc and gdb read
it. A 64-bit little-endian ELF is read with struct (pytrace.probes.elfscan), anything
else with pyelftools, once per file version; a function looked up by name and the
segments are also kept on disk (pytrace.probes.scancache) for the next run.
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
from pytrace.probes import elfscan, scancache
from pytrace.probes.base import ProbeError
from pytrace.runtime.elf import SHT_DYNSYM, SHT_SYMTAB

FUNCTION_TYPES = ("STT_FUNC", "STT_GNU_IFUNC", "STT_LOOS")
FUNCTION_CODES = frozenset({2, 10})  # STT_FUNC, STT_GNU_IFUNC
SYM64 = struct.Struct("<IBBHQQ")  # Elf64_Sym: name, info, other, shndx, value, size
SYMBOL_TABLES = (SHT_SYMTAB, SHT_DYNSYM)
DebugIds = tuple[str | None, tuple[str, int] | None]  # build id, (debuglink name, CRC)


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


def _read_fast(f: elfscan.ElfFile) -> ElfImage:
    """_read for a 64-bit little-endian ELF, with struct only."""
    image = ElfImage(loads=f.loads())
    for secname in (".symtab", ".dynsym"):
        sec = f.section(secname)
        if sec is None or sec.type not in SYMBOL_TABLES:
            continue
        image.has_symtab |= secname == ".symtab"
        _fast_symbols(image, f.body(sec), f.body(f.linked(sec)))
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


def _debug_symtab(found: ElfImage, path: str, base: int, name: str | None = None,
                  ids: DebugIds | None = None) -> None:
    """Add the .symtab functions (or only `name`) of a stripped file's debug file
    (`ids`: the file's build id and debuglink, when already read)."""
    from pytrace.probes import debugfile

    if found.has_symtab or base:
        return
    debug = debugfile.debug_file(path) if ids is None else debugfile.find_from(path, *ids)
    if debug is None:
        return
    try:
        f = elfscan.open_elf(debug)
        if f is None:
            return
        with f:
            sec = f.section(".symtab")
            if sec is None or sec.type not in SYMBOL_TABLES:
                return
            data, strings = f.body(sec), f.body(f.linked(sec))
    except (OSError, ValueError, struct.error, OverflowError, IndexError):
        return
    if name is None:
        _fast_symbols(found, data, strings)
    else:
        _matches(found, data, strings, name.encode())
    found.has_symtab = True
    found.index()


@lru_cache(maxsize=64)
def _image(path: str, base: int, mtime: int, size: int) -> ElfImage:
    from elftools.common.exceptions import ELFError

    try:
        f = elfscan.open_elf(path, base)
        if f is None:
            with open_member(path, base) as stream:
                found = _read(stream)
        else:
            with f:
                found = _read_fast(f)
    except (OSError, ELFError, ValueError, struct.error, OverflowError, IndexError) as e:
        raise ProbeError(f"cannot read ELF symbols of '{path}': {e}") from None
    _debug_symtab(found, path, base)
    return found


def _matches(image: ElfImage, data: bytes, strings: bytes, name: bytes) -> None:
    """The symbols called `name` (or `name@version`): their string offsets are found at
    C speed, then only those records are read. Linkers share string tails (`malloc` may
    be the end of `__libc_malloc`), so every occurrence is a candidate."""
    import re

    offsets = {m.start() for m in re.finditer(re.escape(name) + rb"(?=[\0@])", strings)}
    if not offsets:
        return
    count = len(data) // SYM64.size
    st_names = memoryview(data[:count * SYM64.size]).cast("I")[0::6].tolist()
    for i, off in enumerate(st_names):  # one pass: a short name has thousands of candidates
        if off in offsets:
            _name, info, _other, shndx, value, size = SYM64.unpack_from(data, i * SYM64.size)
            if info & 0xF in FUNCTION_CODES and shndx and value:
                _add(image, name.decode(errors="replace"), value, size)


def _lookup_pyelftools(stream: IO[bytes], name: str) -> ElfImage:
    full = _read(stream)
    found = ElfImage(loads=full.loads, has_symtab=full.has_symtab)
    if name in full.functions:
        found.functions[name] = full.functions[name]
    return found


def _lookup_fast(f: elfscan.ElfFile, name: str) -> ElfImage:
    found = ElfImage(loads=f.loads())
    for secname in (".symtab", ".dynsym"):
        sec = f.section(secname)
        if sec is not None and sec.type in SYMBOL_TABLES:
            found.has_symtab |= secname == ".symtab"
            _matches(found, f.body(sec), f.body(f.linked(sec)), name.encode())
    return found


def _lookup_file(path: str, base: int, name: str) -> tuple[ElfImage, list[str] | None]:
    """The lookup, and where a debug file could be when it was consulted."""
    from elftools.common.exceptions import ELFError

    from pytrace.probes import debugfile

    ids: DebugIds | None = None
    try:
        f = elfscan.open_elf(path, base)
        if f is None:
            with open_member(path, base) as stream:
                found = _lookup_pyelftools(stream, name)
        else:
            with f:
                found = _lookup_fast(f, name)
                if name not in found.functions and not found.has_symtab and not base:
                    ids = f.build_id(), f.debuglink()
    except (OSError, ELFError, ValueError, struct.error, OverflowError, IndexError) as e:
        raise ProbeError(f"cannot read ELF symbols of '{path}': {e}") from None
    deps = None
    if name not in found.functions and not found.has_symtab and not base:
        if ids is None:
            ids = debugfile.ids(path)
        deps = debugfile.candidates(path, *ids)
        _debug_symtab(found, path, base, name, ids)
    found.index()
    return found, deps


def _from_cache(ident: str, name: str) -> ElfImage | None:
    store = scancache.STORE
    loads, syms = store.get(ident, "loads"), store.get(ident, "syms")
    got = syms.get(name) if isinstance(syms, dict) else None
    if not isinstance(got, dict) or not isinstance(loads, list):
        return None
    if got.get("debug") and not scancache.valid_deps(store.get(ident, "deps")):
        return None
    try:
        found = ElfImage(loads=[(int(v), int(m), int(o)) for v, m, o in loads],
                         has_symtab=bool(got.get("symtab")))
        sym = got.get("sym")
        if sym is not None:
            found.functions[name] = Symbol(name, int(sym[0]), int(sym[1]))
    except (TypeError, ValueError, IndexError):
        return None
    found.index()
    return found


def _to_cache(ident: str, name: str, found: ElfImage, deps: list[str] | None) -> None:
    store = scancache.STORE
    sym = found.functions.get(name)
    syms = store.get(ident, "syms")
    syms = dict(syms) if isinstance(syms, dict) else {}
    syms[name] = {"symtab": found.has_symtab, "sym": None if sym is None else [sym.addr, sym.size],
                  "debug": deps is not None}
    store.put(ident, "loads", [list(seg) for seg in found.loads])
    store.put(ident, "syms", syms)
    if deps is not None:
        store.put(ident, "deps", scancache.deps_of(deps))


@lru_cache(maxsize=4096)
def _lookup(path: str, base: int, name: str, ident: str) -> ElfImage:
    found = _from_cache(ident, name)
    if found is None:
        found, deps = _lookup_file(path, base, name)
        _to_cache(ident, name, found, deps)
    return found


def lookup(path: str, base: int, name: str) -> ElfImage:
    """An ElfImage holding only the function `name` (if defined) and the segments: one
    name is found without reading every symbol of a large library (and, once read, is
    answered from pytrace.probes.scancache while the file is unchanged)."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise ProbeError(f"cannot read ELF symbols of '{path}': {e.strerror}") from None
    return _lookup(path, base, name, scancache.identity(st, base))


def segments(path: str) -> list[tuple[int, int, int]]:
    """The PT_LOAD segments (vaddr, memsz, offset) of an ELF file, without its symbols."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise ProbeError(f"cannot read ELF segments of '{path}': {e.strerror}") from None
    ident = scancache.identity(st)
    loads = scancache.STORE.get(ident, "loads")
    if isinstance(loads, list):
        try:
            return [(int(v), int(m), int(o)) for v, m, o in loads]
        except (TypeError, ValueError):
            pass
    try:
        f = elfscan.open_elf(path)
        if f is None:
            return image(path).loads
        with f:
            found = f.loads()
    except (OSError, ValueError, struct.error, OverflowError, IndexError) as e:
        raise ProbeError(f"cannot read ELF segments of '{path}': {e}") from None
    scancache.STORE.put(ident, "loads", [list(seg) for seg in found])
    return found


def image(path: str, base: int = 0) -> ElfImage:
    """The symbols of the ELF file at `path` (at byte `base` of it)."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise ProbeError(f"cannot read ELF symbols of '{path}': {e.strerror}") from None
    return _image(path, base, st.st_mtime_ns, st.st_size)
