"""Read only what user-space probe scans need from an ELF file, with `struct`.

pyelftools builds objects for every header it touches (its section name map alone cost
~3 ms a file, so scanning the ~2,000 executables of $PATH took seconds). Here a 64-bit
little-endian ELF is mapped (only the pages read are loaded) and its section headers,
PT_LOAD segments, named sections and notes are read straight from the bytes. Anything
else (32-bit, big-endian, not ELF: `open_elf` gives None) is left to pyelftools, so
its diagnostics stay as they were.
"""

from __future__ import annotations

import mmap
import os
import struct
from typing import Any

from pytrace.runtime import elf

ELF_MAGIC = b"\x7fELF"
SHT_NOTE = 7
NT_GNU_BUILD_ID = 3
_PHDR = struct.Struct("<IIQQQQQQ")
_NOTE = struct.Struct("<III")
_SHDR = struct.Struct("<IIQQQQIIQQ")

Section = elf._Section
Loads = list[tuple[int, int, int]]  # (p_vaddr, p_memsz, p_offset) of each PT_LOAD


class ElfFile:
    """A mapped 64-bit little-endian ELF (or an archive member's bytes) and its sections."""

    def __init__(self, data: Any, what: str) -> None:
        self.data = data
        self.sections: list[Section] = _section_table(data, what)
        self._by_name: dict[str, Section] = {}
        for sec in self.sections:
            self._by_name.setdefault(sec.name, sec)

    def close(self) -> None:
        if isinstance(self.data, mmap.mmap):
            self.data.close()

    def __enter__(self) -> ElfFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def section(self, name: str) -> Section | None:
        """The first section of that name (as pyelftools finds it)."""
        return self._by_name.get(name)

    def body(self, sec: Section) -> bytes:
        if sec.type == elf.SHT_NOBITS:
            return b""
        if sec.offset + sec.size > len(self.data):
            raise ValueError(f"section {sec.name} lies outside the file")
        return bytes(self.data[sec.offset: sec.offset + sec.size])

    def linked(self, sec: Section) -> Section:
        """The section `sec.sh_link` names (a symbol table's strings)."""
        if not 0 <= sec.link < len(self.sections):
            raise ValueError(f"section {sec.name} links to no section")
        return self.sections[sec.link]

    def loads(self) -> Loads:
        phoff, = struct.unpack_from("<Q", self.data, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", self.data, 0x36)
        if phnum and (phentsize < _PHDR.size or phoff + phnum * phentsize > len(self.data)):
            raise ValueError("the program header table lies outside the file")
        out = []
        for i in range(phnum):
            ptype, _fl, off, vaddr, _pa, _filesz, memsz, _al = _PHDR.unpack_from(
                self.data, phoff + i * phentsize)
            if ptype == elf.PT_LOAD:
                out.append((vaddr, memsz, off))
        return out

    def notes(self, sec: Section) -> list[tuple[int, bytes, bytes]]:
        """(type, name without its NUL, descriptor) of each note in a SHT_NOTE section."""
        data = self.body(sec)
        out, pos = [], 0
        while pos + _NOTE.size <= len(data):
            namesz, descsz, ntype = _NOTE.unpack_from(data, pos)
            name_at = pos + _NOTE.size
            desc_at = name_at + ((namesz + 3) & ~3)
            if desc_at + descsz > len(data):
                break
            out.append((ntype, data[name_at: name_at + namesz].rstrip(b"\0"),
                        data[desc_at: desc_at + descsz]))
            pos = desc_at + ((descsz + 3) & ~3)
        return out

    def build_id(self) -> str | None:
        """The GNU build id (hex) from the first note that has one."""
        for sec in self.sections:
            if sec.type == SHT_NOTE:
                for ntype, name, desc in self.notes(sec):
                    if ntype == NT_GNU_BUILD_ID and name == b"GNU":
                        return desc.hex()
        return None

    def debuglink(self) -> tuple[str, int] | None:
        """(file name, CRC32) from `.gnu_debuglink`."""
        sec = self.section(".gnu_debuglink")
        if sec is None:
            return None
        data = self.body(sec)
        end = data.find(b"\0")
        crc_at = (end + 4) & ~3
        if end <= 0 or len(data) < crc_at + 4:
            return None
        return data[:end].decode(errors="replace"), int.from_bytes(data[crc_at:crc_at + 4],
                                                                     "little")


def _section_table(data: Any, what: str) -> list[Section]:
    """The section headers with their names (none when the file has no table)."""
    if len(data) < 64:
        raise ValueError(f"{what}: truncated ELF header")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    if shoff == 0 or shnum == 0:
        return []
    if shentsize != _SHDR.size or shoff + shnum * _SHDR.size > len(data):
        raise ValueError(f"{what}: truncated ELF section table")
    raw = list(_SHDR.iter_unpack(data[shoff: shoff + shnum * _SHDR.size]))
    strs = b""
    if shstrndx < len(raw):
        str_off, str_size = raw[shstrndx][4], raw[shstrndx][5]
        strs = bytes(data[str_off: str_off + str_size])
    out = []
    for name, typ, flags, addr, off, size, link, info, _align, ent in raw:
        end = strs.find(b"\0", name)
        out.append(Section(strs[name: end if end >= 0 else len(strs)].decode("utf-8", "replace"),
                           typ, flags, addr, off, size, link, info, ent))
    return out


def _elf64le(head: bytes) -> bool:
    return len(head) >= 6 and head[:4] == ELF_MAGIC and head[4] == 2 and head[5] == 1


def section_names(path: str, base: int = 0) -> bytes | None:
    """The raw section-name string table of a well-formed 64-bit little-endian ELF, read
    with three small preads (b"": it has no sections); None when it is not one or the
    table cannot be trusted (the caller then reads the file fully)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        head = os.pread(fd, 64, base)
        if len(head) < 64 or not _elf64le(head):
            return None
        size = os.fstat(fd).st_size - base
        shoff, = struct.unpack_from("<Q", head, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", head, 0x3A)
        if not shoff or not shnum:
            return b""
        if shentsize != _SHDR.size or shstrndx >= shnum or shoff + shnum * _SHDR.size > size:
            return None
        entry = _SHDR.unpack(os.pread(fd, _SHDR.size, base + shoff + shstrndx * _SHDR.size))
        str_off, str_size = entry[4], entry[5]
        if str_off + str_size > size or str_size > 1 << 20:
            return None
        return os.pread(fd, str_size, base + str_off)
    finally:
        os.close(fd)


def open_elf(path: str, base: int = 0) -> ElfFile | None:
    """The ELF at byte `base` of `path`; None when it is not a 64-bit little-endian ELF
    (callers then read it with pyelftools). OSError when it cannot be read; ValueError
    when it is malformed."""
    with open(path, "rb") as f:
        if base:
            f.seek(base)
            data: Any = f.read()
            if not _elf64le(data[:6]):
                return None
        else:
            if not _elf64le(f.read(6)):
                return None
            try:
                data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError:
                return None
    try:
        return ElfFile(data, path)
    except (struct.error, ValueError, OverflowError, IndexError) as e:
        if isinstance(data, mmap.mmap):
            data.close()
        raise ValueError(str(e)) from None
