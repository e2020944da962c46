"""A fast index of an ELF file's function symbols, cached on disk per build id.

Reading `.symtab`/`.dynsym` with pyelftools took seconds for libc or libpython (and a
`@[ustack]` map touches several such files at exit). Here the symbol tables are read
with struct (`struct.iter_unpack` over the raw table), the functions are kept as three
sorted arrays (addresses, sizes, offsets into one blob of names) and looked up by binary
search; a name is decoded only when a lookup returns it. The index is stored under
`$XDG_CACHE_HOME/pytrace/symbols/` keyed by the GNU build id (or the file's identity when
it has none), with the object cache's safety rules: plain data, 0700/0600, never read
when not ours or writable by others.
"""

from __future__ import annotations

import bisect
import hashlib
import mmap
import os
import struct
from array import array
from dataclasses import dataclass
from typing import Any

from pytrace import cache, cachedir
from pytrace.runtime import elf

MAGIC = b"PYTRACE-SYMBOLS 1\n"
DEBUG_ROOT = "/usr/lib/debug/.build-id"
SHT_NOTE = 7
NT_GNU_BUILD_ID = 3
STT_FUNC, STT_GNU_IFUNC = 2, 10
_SYM = struct.Struct("<IBBHQQ")
_HEAD = struct.Struct("<II")
_SEG = struct.Struct("<QQQ")


@dataclass(slots=True)
class SymbolIndex:
    """Function symbols sorted by address (aliases in file order) and the PT_LOAD
    segments (p_offset, p_filesz, p_vaddr) that map file offsets to addresses."""

    addrs: array  # 'Q'
    sizes: array  # 'Q'
    name_offs: array  # 'I' into names
    names: bytes
    segments: list[tuple[int, int, int]]

    def __len__(self) -> int:
        return len(self.addrs)

    def name(self, i: int) -> str:
        start = self.name_offs[i]
        end = self.names.find(b"\0", start)
        return self.names[start:end if end >= 0 else len(self.names)].decode("utf-8", "replace")

    def find(self, addr: int) -> tuple[str, int] | None:
        """The symbol holding `addr` (the nearest below it when its size is unknown),
        and the offset into it; the first alias in file order."""
        i = bisect.bisect_right(self.addrs, addr) - 1
        if i < 0:
            return None
        start = self.addrs[i]
        i = bisect.bisect_left(self.addrs, start)
        size = self.sizes[i]
        if size and addr >= start + size:
            return None
        return self.name(i), addr - start

    def vaddr(self, file_offset: int) -> int | None:
        for off, size, vaddr in self.segments:
            if off <= file_offset < off + max(size, 1):
                return file_offset - off + vaddr
        return None

    # ------------------------------------------------------------ data format
    def dumps(self) -> bytes:
        out = [MAGIC, _HEAD.pack(len(self.addrs), len(self.segments))]
        out += [_SEG.pack(*s) for s in self.segments]
        out += [self.addrs.tobytes(), self.sizes.tobytes(), self.name_offs.tobytes(), self.names]
        return b"".join(out)

    @classmethod
    def loads(cls, data: bytes) -> SymbolIndex:
        """ValueError for anything that is not a well-formed index."""
        if not data.startswith(MAGIC):
            raise ValueError("not a symbol index")
        pos = len(MAGIC)
        n, nseg = _HEAD.unpack_from(data, pos)
        pos += _HEAD.size
        segments = [_SEG.unpack_from(data, pos + i * _SEG.size) for i in range(nseg)]
        pos += nseg * _SEG.size
        arrays = []
        for code in ("Q", "Q", "I"):
            a = array(code)
            end = pos + n * a.itemsize
            if end > len(data):
                raise ValueError("truncated symbol index")
            a.frombytes(data[pos:end])
            arrays.append(a)
            pos = end
        names = data[pos:]
        if n and (max(arrays[2]) >= len(names) or any(a > b for a, b in zip(arrays[0], arrays[0][1:]))):
            raise ValueError("malformed symbol index")
        return cls(arrays[0], arrays[1], arrays[2], names, [tuple(s) for s in segments])  # type: ignore[misc]


# ------------------------------------------------------------------ reading ELF files
def _functions(data: bytes, secs: list, out: list[tuple[int, int, bytes]]) -> None:  # type: ignore[type-arg]
    for kind in (elf.SHT_SYMTAB, elf.SHT_DYNSYM):
        for sec in (s for s in secs if s.type == kind):
            if not 0 < sec.link < len(secs) or sec.offset + sec.size > len(data):
                continue
            strs = secs[sec.link]
            sbase, send = strs.offset, min(strs.offset + strs.size, len(data))
            body = data[sec.offset: sec.offset + sec.size - sec.size % _SYM.size]
            for name, info, _other, _shndx, value, size in _SYM.iter_unpack(body):
                if value and name and (info & 0xF) in (STT_FUNC, STT_GNU_IFUNC):
                    start = sbase + name
                    end = data.find(b"\0", start, send)
                    raw = data[start: end if end >= 0 else send]
                    at = raw.find(b"@")
                    out.append((value, size, raw if at < 0 else raw[:at]))


def build_id(data: bytes, secs: list) -> str | None:  # type: ignore[type-arg]
    """The GNU build id (hex) from a SHT_NOTE section."""
    for sec in secs:
        if sec.type != SHT_NOTE:
            continue
        pos, end = sec.offset, min(sec.offset + sec.size, len(data))
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
            name_end = pos + 12 + ((namesz + 3) & ~3)
            if ntype == NT_GNU_BUILD_ID and data[pos + 12: pos + 12 + namesz] == b"GNU\0":
                return data[name_end: name_end + descsz].hex()
            pos = name_end + ((descsz + 3) & ~3)
    return None


def _segments(data: bytes) -> list[tuple[int, int, int]]:
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    out = []
    for i in range(phnum):
        ptype, _fl, poff, pvaddr, _pa, filesz, _msz, _al = struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize)
        if ptype == elf.PT_LOAD:
            out.append((poff, filesz, pvaddr))
    return out


def build_index(entries: list[tuple[int, int, bytes]], segments: list[tuple[int, int, int]]) -> SymbolIndex:
    """Sorted arrays from (address, size, name) entries (duplicates dropped, aliases
    kept in file order)."""
    unique = list(dict.fromkeys(entries))
    unique.sort(key=lambda e: e[0])  # stable
    names = bytearray()
    offs = array("I")
    seen: dict[bytes, int] = {}
    for _a, _s, name in unique:
        off = seen.get(name)
        if off is None:
            off = seen[name] = len(names)
            names += name + b"\0"
        offs.append(off)
    return SymbolIndex(array("Q", (e[0] for e in unique)), array("Q", (e[1] for e in unique)), offs,
                       bytes(names), segments)


def _read_elf(path: str) -> tuple[Any, list] | None:  # type: ignore[type-arg]
    """The file mapped (only the pages read are loaded) and its section headers."""
    try:
        with open(path, "rb") as f:
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    try:
        return data, elf._sections(data, path)  # type: ignore[arg-type]
    except (elf.ElfError, struct.error, ValueError, IndexError):
        data.close()
        return None


# ------------------------------------------------------------------ cached lookup
def _index_path(key: str) -> str:
    return os.path.join(cachedir.cache_dir(), "symbols", key + ".idx")


def _file_key(path: str, st: os.stat_result) -> str:
    ident = f"{os.path.realpath(path)}:{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
    return "f-" + hashlib.sha256(ident.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def load_index(path: str) -> SymbolIndex | None:
    """The function index of the ELF file at `path` (None when it is not a readable ELF)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    got = _read_elf(path)
    if got is None:
        return None
    data, secs = got
    try:
        return _load_or_build(path, st, data, secs)
    finally:
        data.close()


def _load_or_build(path: str, st: os.stat_result, data: Any, secs: list) -> SymbolIndex | None:  # type: ignore[type-arg]
    try:
        bid = build_id(data, secs)
    except (struct.error, ValueError):
        bid = None
    debug = os.path.join(DEBUG_ROOT, bid[:2], bid[2:] + ".debug") if bid and len(bid) > 2 else None
    has_debug = debug is not None and os.path.exists(debug)
    key = (f"b-{bid}" + ("-d" if has_debug else "")) if bid else _file_key(path, st)
    idx_path = _index_path(key)
    if cache.enabled():
        raw = cachedir.read_private(idx_path)
        if raw is not None:
            try:
                return SymbolIndex.loads(raw)
            except (ValueError, struct.error, OverflowError):
                pass
    entries: list[tuple[int, int, bytes]] = []
    try:
        _functions(data, secs, entries)
        if has_debug and debug is not None:
            extra = _read_elf(debug)
            if extra is not None:
                try:
                    _functions(extra[0], extra[1], entries)
                finally:
                    extra[0].close()
        index = build_index(entries, _segments(data))
    except (struct.error, ValueError, OverflowError, IndexError):
        return None
    if cache.enabled():
        cachedir.write_private(idx_path, index.dumps())
    return index
