"""Read ELF files with `struct` only (no pyelftools on the start-up path).

Two jobs: parse the compiler's relocatable 64-bit little-endian BPF object (program
sections, symbols, R_BPF_64_64 relocations, R_BPF_64_32 calls into subprograms) and link
one program with the static subprograms it uses (callbacks, BPF-to-BPF calls); and find
a function's file offset in an executable or shared library for uprobes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from pytrace.frozen import frozen
from pytrace.runtime.errors import RuntimeFailure

SHT_SYMTAB = 2
SHT_STRTAB = 3
SHT_REL = 9
SHT_DYNSYM = 11
SHT_NOBITS = 8
SHF_EXECINSTR = 0x4
STT_FUNC = 2
STT_SECTION = 3
BPF_LD_IMM64 = 0x18
BPF_CALL = 0x85
BPF_PSEUDO_CALL = 1
BPF_PSEUDO_FUNC = 4
PT_LOAD = 1
EM_BPF = 247

R_BPF_NONE = 0
R_BPF_64_64 = 1
R_BPF_64_ABS64 = 2
R_BPF_64_ABS32 = 3
R_BPF_64_NODYLD32 = 4
R_BPF_64_32 = 10
_DEBUG_ONLY_TYPES = (R_BPF_NONE, R_BPF_64_ABS64, R_BPF_64_ABS32, R_BPF_64_NODYLD32)


class ElfError(RuntimeFailure):
    """A malformed ELF file or one this loader cannot handle."""


@frozen
class Symbol:
    name: str
    value: int
    size: int
    shndx: int
    type: int
    bind: int
    section: str  # name of the section the symbol lives in ('' when undefined/special)


@frozen
class Relocation:
    """An ld_imm64 to patch: byte offset into the program section, and the target."""

    offset: int
    type: int
    symbol: Symbol

    @property
    def target(self) -> str:
        """The symbol name, or the section name for a section symbol."""
        return self.symbol.section if self.symbol.type == STT_SECTION else self.symbol.name


@dataclass(slots=True)
class BpfElf:
    """A parsed relocatable BPF object."""

    programs: dict[str, bytes] = field(default_factory=dict)  # executable sections
    data_sections: dict[str, bytes] = field(default_factory=dict)  # .rodata*, .data*
    symbols: list[Symbol] = field(default_factory=list)
    relocations: dict[str, list[Relocation]] = field(default_factory=dict)

    def symbol(self, name: str) -> Symbol | None:
        for s in self.symbols:
            if s.name == name:
                return s
        return None


@frozen
class _Section:
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    entsize: int


def _sections(data: bytes, what: str) -> list[_Section]:
    if len(data) < 64 or data[:4] != b"\x7fELF":
        raise ElfError(f"{what} is not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise ElfError(f"{what} is not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    if shoff == 0 or shoff + shnum * shentsize > len(data):
        raise ElfError(f"{what}: truncated ELF section table")
    raw = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = raw[shstrndx]
    base, end = strtab[4], strtab[4] + strtab[5]
    out = []
    for name, typ, flags, addr, off, size, link, info, _align, ent in raw:
        out.append(_Section(_cstr(data, base + name, end), typ, flags, addr, off, size,
                            link, info, ent))
    return out


def _cstr(data: bytes, start: int, end: int) -> str:
    stop = data.find(b"\0", start, end)
    return data[start: stop if stop >= 0 else end].decode("utf-8", "replace")


def _body(data: bytes, s: _Section) -> bytes:
    return b"" if s.type == SHT_NOBITS else data[s.offset: s.offset + s.size]


def _symbols(data: bytes, secs: list[_Section], symtab: _Section) -> list[Symbol]:
    strs = secs[symtab.link]
    sbase, send = strs.offset, strs.offset + strs.size
    out = []
    for off in range(symtab.offset, symtab.offset + symtab.size, 24):
        name, info, _other, shndx, value, size = struct.unpack_from("<IBBHQQ", data, off)
        sec = secs[shndx].name if 0 < shndx < len(secs) else ""
        out.append(Symbol(_cstr(data, sbase + name, send), value, size, shndx,
                          info & 0xF, info >> 4, sec))
    return out


def parse_bpf_elf(data: bytes) -> BpfElf:
    """Parse the compiler's object; refuse relocations the loader cannot apply."""
    secs = _sections(data, "the BPF object")
    if struct.unpack_from("<H", data, 0x12)[0] != EM_BPF:
        raise ElfError("the BPF object is not an eBPF ELF file (e_machine != EM_BPF)")
    out = BpfElf()
    symtab = next((s for s in secs if s.type == SHT_SYMTAB), None)
    if symtab is not None:
        out.symbols = _symbols(data, secs, symtab)
    for s in secs:
        if s.flags & SHF_EXECINSTR and s.size:
            out.programs[s.name] = _body(data, s)
        elif s.name.startswith((".rodata", ".data", ".bss")):
            out.data_sections[s.name] = _body(data, s) if s.type != SHT_NOBITS else bytes(s.size)
    for s in secs:
        if s.type == SHT_REL:
            _relocs_for(data, secs, s, out)
        elif s.type == 4:  # SHT_RELA
            target = secs[s.info].name
            if target in out.programs:
                raise ElfError(f"unsupported RELA relocations for BPF section {target}")
    return out


def _relocs_for(data: bytes, secs: list[_Section], rel: _Section, out: BpfElf) -> None:
    target = secs[rel.info].name
    if target not in out.programs:
        return  # debug info (.BTF.ext, .debug_*): not loaded
    relocs: list[Relocation] = []
    prog = out.programs[target]
    for off in range(rel.offset, rel.offset + rel.size, 16):
        r_offset, r_info = struct.unpack_from("<QQ", data, off)
        rtype, symi = r_info & 0xFFFFFFFF, r_info >> 32
        if symi >= len(out.symbols):
            raise ElfError(f"relocation in {target} refers to a missing symbol #{symi}")
        sym = out.symbols[symi]
        if rtype == R_BPF_NONE:
            continue
        if rtype == R_BPF_64_32 and _is_subprog_call(prog, r_offset, sym, out):
            relocs.append(Relocation(r_offset, rtype, sym))
            continue
        if rtype != R_BPF_64_64:
            name = sym.name or sym.section
            raise ElfError(f"unsupported relocation type {rtype} against '{name}' in "
                           f"section {target} at offset {r_offset}")
        if r_offset % 8 or r_offset + 16 > len(prog) or prog[r_offset] != BPF_LD_IMM64:
            raise ElfError(f"relocation in {target} at offset {r_offset} is not on an "
                           "ld_imm64 instruction")
        relocs.append(Relocation(r_offset, rtype, sym))
    out.relocations[target] = relocs


def _is_subprog_call(prog: bytes, off: int, sym: Symbol, elf: BpfElf) -> bool:
    """A `call` with src_reg BPF_PSEUDO_CALL against code in an executable section."""
    return (off % 8 == 0 and off + 8 <= len(prog) and prog[off] == BPF_CALL
            and prog[off + 1] >> 4 == BPF_PSEUDO_CALL and sym.section in elf.programs)


# ---- linking a program with its static subprograms ----------------------------------


@frozen
class SubprogInfo:
    """One function of a linked program: its first instruction and its name."""

    insn: int
    name: str
    main: bool


@frozen
class LinkedProgram:
    """A program's code followed by the subprograms it reaches; map and data relocations
    (offsets into `code`) still to be patched; subprogram references already resolved."""

    code: bytes
    relocations: list[Relocation]
    functions: list[SubprogInfo]


@dataclass(slots=True)
class _Unit:
    section: str
    start: int  # byte offset in the section
    size: int
    base: int  # instruction index in the linked code
    name: str


def _imm(code: bytes | bytearray, off: int) -> int:
    return int(struct.unpack_from("<i", code, off + 4)[0])


class _Linker:
    """Lays out a program and every subprogram it references, then fixes the references."""

    def __init__(self, elf: BpfElf, section: str) -> None:
        self.elf = elf
        code = elf.programs[section]
        main = next((s.name for s in elf.symbols if s.section == section and s.type == STT_FUNC
                     and s.value == 0), section)
        self.units: list[_Unit] = [_Unit(section, 0, len(code), 0, main)]
        self.by_start: dict[tuple[str, int], _Unit] = {(section, 0): self.units[0]}
        self.fixups: list[tuple[int, int, _Unit]] = []  # (insn index, src_reg, target)
        self.relocs: list[Relocation] = []

    def unit_at(self, section: str, start: int, where: str) -> _Unit:
        found = self.by_start.get((section, start))
        if found is not None:
            return found
        sym = next((s for s in self.elf.symbols if s.section == section
                    and s.type == STT_FUNC and s.value == start), None)
        body = self.elf.programs.get(section, b"")
        if sym is None or start % 8 or start >= len(body):
            raise ElfError(f"{where} refers to offset {start} of section {section}, which is "
                           "not the start of a function")
        size = sym.size or len(body) - start
        last = self.units[-1]
        unit = _Unit(section, start, size, last.base + last.size // 8, sym.name)
        self.units.append(unit)
        self.by_start[(section, start)] = unit
        return unit

    def scan(self, unit: _Unit) -> None:
        code = self.elf.programs[unit.section]
        relocs = {r.offset: r for r in self.elf.relocations.get(unit.section, [])
                  if unit.start <= r.offset < unit.start + unit.size}
        off = unit.start
        while off < unit.start + unit.size:
            idx = unit.base + (off - unit.start) // 8
            where = f"the instruction at offset {off} of {unit.section}"
            r = relocs.get(off)
            if r is not None and r.symbol.section in self.elf.programs:
                if r.type == R_BPF_64_32:  # call: imm counts instructions
                    target = r.symbol.value + (_imm(code, off) + 1) * 8
                    src = BPF_PSEUDO_CALL
                else:  # ld_imm64 of a function's address: imm counts bytes
                    target = r.symbol.value + _imm(code, off)
                    src = BPF_PSEUDO_FUNC
                self.fixups.append((idx, src, self.unit_at(r.symbol.section, target, where)))
            elif r is not None:
                self.relocs.append(Relocation((idx * 8), r.type, r.symbol))
            elif code[off] == BPF_CALL and code[off + 1] >> 4 == BPF_PSEUDO_CALL:
                target = off + (_imm(code, off) + 1) * 8  # a call inside this section
                self.fixups.append((idx, BPF_PSEUDO_CALL,
                                    self.unit_at(unit.section, target, where)))
            off += 16 if code[off] == BPF_LD_IMM64 else 8

    def link(self) -> LinkedProgram:
        i = 0
        while i < len(self.units):  # units found while scanning are appended to the list
            self.scan(self.units[i])
            i += 1
        out = bytearray()
        for u in self.units:
            out += self.elf.programs[u.section][u.start: u.start + u.size]
        for idx, src, target in self.fixups:
            out[idx * 8 + 1] = (out[idx * 8 + 1] & 0x0F) | (src << 4)
            struct.pack_into("<i", out, idx * 8 + 4, target.base - idx - 1)
        functions = [SubprogInfo(u.base, u.name, k == 0) for k, u in enumerate(self.units)]
        return LinkedProgram(bytes(out), self.relocs, functions)


def link_program(elf: BpfElf, section: str) -> LinkedProgram:
    """The program in `section` followed by the subprograms it reaches (transitively).

    ld_imm64 of a function gets src_reg BPF_PSEUDO_FUNC, calls keep BPF_PSEUDO_CALL; both
    get imm = target instruction - own instruction - 1. Other relocations are returned
    with offsets into the linked code.
    """
    if section not in elf.programs:
        raise ElfError(f"the BPF object has no section '{section}'")
    return _Linker(elf, section).link()


# ---- uprobe support: symbol -> file offset in an executable or shared object --------


def _segments(data: bytes) -> list[tuple[int, int, int, int]]:
    """PT_LOAD segments as (vaddr, memsz, offset, flags)."""
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    out = []
    for i in range(phnum):
        ptype, pflags, poff, pvaddr, _pa, _fsz, memsz, _al = struct.unpack_from(
            "<IIQQQQQQ", data, phoff + i * phentsize)
        if ptype == PT_LOAD:
            out.append((pvaddr, memsz, poff, pflags))
    return out


def function_symbols(path: str) -> dict[str, int]:
    """Function names → st_value from .symtab, then .dynsym (for stripped binaries)."""
    with open(path, "rb") as f:
        data = f.read()
    secs = _sections(data, path)
    found: dict[str, int] = {}
    for kind in (SHT_SYMTAB, SHT_DYNSYM):
        for s in (x for x in secs if x.type == kind):
            for sym in _symbols(data, secs, s):
                if sym.type == 2 and sym.value and sym.name:  # STT_FUNC
                    found.setdefault(sym.name.split("@", 1)[0], sym.value)
    return found


def vaddr_to_offset(path: str, vaddr: int) -> int:
    """File offset of a virtual address: vaddr - p_vaddr + p_offset of its PT_LOAD."""
    with open(path, "rb") as f:
        data = f.read()
    _sections(data, path)
    for pvaddr, memsz, poff, _flags in _segments(data):
        if pvaddr <= vaddr < pvaddr + memsz:
            return vaddr - pvaddr + poff
    raise ElfError(f"{path}: address {vaddr:#x} is not in a loadable segment")


def symbol_file_offset(path: str, name: str) -> int:
    """The file offset a uprobe on function `name` in `path` needs."""
    try:
        syms = function_symbols(path)
    except OSError as exc:
        raise ElfError(f"cannot read {path}: {exc.strerror}") from None
    if name not in syms:
        raise ElfError(f"function '{name}' not found in {path}")
    return vaddr_to_offset(path, syms[name])
