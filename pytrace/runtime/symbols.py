"""Resolve stack ids and addresses to names: kernel addresses from /proc/kallsyms, user
addresses from the ELF symbols (.symtab, .dynsym, a build-id debug file) of the
mapping in /proc/PID/maps that holds them. Everything is read lazily and cached: user
files through runtime/symindex.py (sorted arrays, cached on disk per build id).

Frames print as bpftrace does: `sym+off`, or `0xADDR` when nothing resolves them; the
perf stack mode adds the address and, for user frames, the mapped file.
"""

from __future__ import annotations

import bisect
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from pytrace.frozen import frozen
from pytrace.runtime.procmaps import FixedImages
from pytrace.runtime.symindex import SymbolIndex, load_index

StackReader = Callable[[int], bytes | None]
STACKS_MAP = "__stacks"  # codegen.maps.STACKS_MAP (not imported: the runtime avoids llvmlite)
DW_STACKS_MAP = "__dw_stacks"  # resources.DW_STACKS_MAP: dw_ustack's stacks by id
DW_STACK_TAG = 1 << 62  # resources.DW_STACK_TAG: set in the ids of dw_ustack stacks


@dataclass(slots=True)
class SymbolTable:
    """Sorted (address, name) pairs with the symbol sizes (0: up to the next symbol)."""

    addrs: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)

    @classmethod
    def build(cls, entries: list[tuple[int, int, str]]) -> SymbolTable:
        entries.sort(key=lambda e: e[0])  # stable: aliases keep their file order
        t = cls()
        for addr, size, name in entries:
            t.addrs.append(addr)
            t.sizes.append(size)
            t.names.append(name)
        return t

    def find(self, addr: int) -> tuple[str, int] | None:
        """The symbol holding `addr` (the nearest one below it when sizes are unknown)
        and the offset into it."""
        i = bisect.bisect_right(self.addrs, addr) - 1
        if i < 0:
            return None
        while i > 0 and self.addrs[i - 1] == self.addrs[i]:
            i -= 1  # the first alias, as in the file (`_text`, not a later alias)
        start, size = self.addrs[i], self.sizes[i]
        if size and addr >= start + size:
            return None
        return self.names[i], addr - start


# ------------------------------------------------------------------ kernel
@lru_cache(maxsize=1)
def kernel_symbols() -> SymbolTable:
    entries: list[tuple[int, int, str]] = []
    try:
        with open("/proc/kallsyms") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3 or parts[1] in ("a", "A", "u", "U"):
                    continue
                addr = int(parts[0], 16)
                if addr:
                    entries.append((addr, 0, parts[2]))
    except OSError:
        pass
    return SymbolTable.build(entries)


def unresolved(addr: int) -> str:
    """An address no symbol covers, as bpftrace prints it (a C++ pointer: `0` for null)."""
    return f"0x{addr:x}" if addr else "0"


def ksym(addr: int, offset: bool = False) -> str:
    found = kernel_symbols().find(addr) if addr else None
    if found is None:
        return unresolved(addr)
    name, off = found
    return f"{name}+{off}" if offset else name


# ------------------------------------------------------------------ user ELF files
@lru_cache(maxsize=256)
def _elf_symbols_cached(path: str, mtime: int, size: int) -> SymbolIndex | None:
    return load_index(path)


def elf_symbols(path: str) -> SymbolIndex | None:
    """The function index of one ELF file (see runtime/symindex.py), memoised."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return _elf_symbols_cached(path, st.st_mtime_ns, st.st_size)


# ------------------------------------------------------------------ processes
@frozen
class Mapping:
    start: int
    end: int
    offset: int
    path: str


def read_maps(pid: int) -> list[Mapping]:
    """The file-backed mappings of a process (empty when it is gone)."""
    out = []
    try:
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                parts = line.split(maxsplit=5)
                if len(parts) < 6 or not parts[5].startswith("/"):
                    continue
                lo, hi = parts[0].split("-")
                path = parts[5].rstrip("\n").removesuffix(" (deleted)")
                out.append(Mapping(int(lo, 16), int(hi, 16), int(parts[2], 16), path))
    except (OSError, ValueError):
        return []
    return out


class Symbolizer:
    """Implements runtime.decode.Symbolizer; `read_stack(id)` returns a stack map value."""

    def __init__(self, read_stack: StackReader | None = None) -> None:
        self.read_stack = read_stack
        self.dw_readers: list[StackReader] = []  # dw_ustack stacks (one map per object)
        self._maps: dict[int, list[Mapping]] = {}
        self._user: dict[tuple[int, int], str | None] = {}
        self.fixed = FixedImages()  # non-PIE executables: resolve without mappings
        self._files: dict[str, SymbolIndex | None] = {}
        # give_up(): when true (the user asked again to stop), files not read yet are not
        # read: their frames print as addresses and the exit is not held up.
        self.give_up: Callable[[], bool] | None = None

    def _symbols_of(self, path: str) -> SymbolIndex | None:
        if path not in self._files:
            if self.give_up is not None and self.give_up():
                return None
            self._files[path] = elf_symbols(path)
        return self._files[path]

    # ------------------------------------------------------------ stacks
    def _raw_stack(self, stack_id: int) -> bytes | None:
        if stack_id < 0:
            return None
        if stack_id & DW_STACK_TAG:
            for read in self.dw_readers:
                raw = read(stack_id)
                if raw:
                    return raw
            return None
        return self.read_stack(stack_id) if self.read_stack is not None else None

    def addresses(self, stack_id: int) -> list[int]:
        raw = self._raw_stack(stack_id)
        if not raw:
            return []
        out = []
        for (addr,) in struct.iter_unpack("<Q", bytes(raw)[: len(raw) // 8 * 8]):
            if addr == 0:
                break
            out.append(addr)
        return out

    def stack(self, kernel: bool, stack_id: int, pid: int, limit: int,
              mode: str = "bpftrace") -> tuple[str, ...]:
        """Frames innermost first: `sym+off` (bpftrace), `hexaddr sym+off` with
        ` (path)` for user frames (perf, `0xADDR ([unknown])` unresolved), `hexaddr` (raw)."""
        addrs = self.addresses(stack_id)[:limit]
        if mode == "raw":
            return tuple(f"{a:x}" for a in addrs)
        if kernel:
            names = [ksym(a, offset=True) for a in addrs]
        elif mode == "perf":
            names = [self.user_frame_perf(a, pid) for a in addrs]
        else:
            names = [self.user_frame(a, pid, offset=True) for a in addrs]
        if mode != "perf":
            return tuple(names)
        return tuple(f"{a:x} {n}" for a, n in zip(addrs, names, strict=True))

    def sym(self, kernel: bool, addr: int, pid: int) -> str:
        return ksym(addr) if kernel else self.user_frame(addr, pid, offset=False)

    # ------------------------------------------------------------ user addresses
    def snapshot(self, pid: int) -> None:
        """Read a process's mappings now (it was just seen; it may exit before its
        stacks are printed). Kept when it is gone."""
        fresh = read_maps(pid) if pid else []
        if fresh:
            self._maps[pid] = fresh

    def _mapping(self, pid: int, addr: int) -> Mapping | None:
        found = self._mapping_of(pid, addr) if pid else None
        if found is None:
            fixed = self.fixed.find(addr)
            if fixed is not None:
                return Mapping(*fixed)
        return found

    def _mapping_of(self, pid: int, addr: int) -> Mapping | None:
        for refresh in (False, True):
            if refresh or pid not in self._maps:
                fresh = read_maps(pid)
                if not fresh and pid in self._maps:
                    return None  # the process is gone: keep what we knew
                self._maps[pid] = fresh
            for m in self._maps[pid]:
                if m.start <= addr < m.end:
                    return m
            if refresh:
                break
        return None

    def resolve_user(self, addr: int, pid: int) -> tuple[str, int] | None:
        m = self._mapping(pid, addr)
        if m is None:
            return None
        syms = self._symbols_of(m.path)
        if syms is None:
            return None
        vaddr = syms.vaddr(addr - m.start + m.offset)
        return syms.find(vaddr) if vaddr is not None else None

    def user_frame_perf(self, addr: int, pid: int) -> str:
        """`sym+off (path)` as perf script prints a user frame; `0xADDR ([unknown])`."""
        m = self._mapping(pid, addr)
        found = self.resolve_user(addr, pid) if m is not None else None
        if m is None or found is None:
            return f"0x{addr:x} ([unknown])"
        return f"{found[0]}+{found[1]} ({m.path})"

    def user_frame(self, addr: int, pid: int, offset: bool) -> str:
        found = self.resolve_user(addr, pid)
        if found is None:
            return unresolved(addr)
        name, off = found
        return f"{name}+{off}" if offset else name


def stack_reader(fd: int, spec: object, key_format: str = "<I") -> StackReader:
    """Read one stack (by id) from the STACK_TRACE map `fd` (or dw_ustack's hash of
    stacks, whose keys are u64: key_format "<Q")."""
    from pytrace.resources import MapSpec
    from pytrace.runtime import maps as bpfmaps
    from pytrace.runtime.errors import RuntimeFailure

    assert isinstance(spec, MapSpec)

    def read(stack_id: int) -> bytes | None:
        try:
            vals = bpfmaps.lookup(fd, spec, struct.pack(key_format, stack_id))
        except RuntimeFailure:
            return None
        return vals[0] if vals else None

    return read


def session_symbolizer(resources: object, map_fd: Callable[[str], int]) -> Symbolizer:
    """A Symbolizer reading the program's __stacks map when it has one."""
    from pytrace.resources import Resources

    assert isinstance(resources, Resources)
    sym = Symbolizer()
    for spec in resources.maps:
        if spec.name == STACKS_MAP:
            sym.read_stack = stack_reader(map_fd(spec.name), spec)
    add_dw_readers(sym, resources, map_fd)
    return sym


def add_dw_readers(sym: Symbolizer, resources: object, map_fd: Callable[[str], int]) -> None:
    """Let `sym` read the object's dw_ustack stacks (a REPL entry's map is NAME.TAG)."""
    from pytrace.resources import Resources

    assert isinstance(resources, Resources)
    for spec in resources.maps:
        if spec.name == DW_STACKS_MAP or spec.name.startswith(DW_STACKS_MAP + "."):
            sym.dw_readers.append(stack_reader(map_fd(spec.name), spec, "<Q"))
