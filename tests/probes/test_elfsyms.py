"""Function symbols with sizes, address lookup and file offsets of built ELF files."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from pytrace.probes import archive
from pytrace.probes.base import ProbeError
from pytrace.probes.elfsyms import image

SRC = r"""
__asm__(".text\n.globl bare\n.type bare,@function\nbare:\n ret\n");
__attribute__((noinline)) int add7(int x) { return x + 7; }
int main(void) { return add7(1) == 8 ? 0 : 1; }
"""

Build = Callable[..., str]  # the `cc` fixture (tests/probes/conftest.py)


def _readelf(path: str, name: str) -> tuple[int, int]:
    with open(path, "rb") as f:
        sym = ELFFile(f).get_section_by_name(".symtab").get_symbol_by_name(name)[0]
        return int(sym["st_value"]), int(sym["st_size"])


def test_sizes_addresses_and_offsets(cc: Build) -> None:
    path = cc("syms", SRC)
    img = image(path)
    addr, size = _readelf(path, "add7")
    assert (img.functions["add7"].addr, img.functions["add7"].size) == (addr, size) and size
    assert img.functions["bare"].size == 0 and img.has_symtab
    assert img.containing(addr + size - 1) == img.functions["add7"]
    assert img.containing(img.functions["bare"].addr) is None  # unsized: no bounds
    with open(path, "rb") as f:
        seg = next(s for s in ELFFile(f).iter_segments()
                   if s["p_type"] == "PT_LOAD" and s["p_vaddr"] <= addr < s["p_vaddr"] + s["p_memsz"])
    assert img.file_offset(addr) == addr - seg["p_vaddr"] + seg["p_offset"]
    assert img.file_offset(1 << 40) is None


def test_stripped_keeps_dynamic_symbols(cc: Build) -> None:
    img = image(cc("dyn", SRC, "-rdynamic", "-s"))
    assert not img.has_symtab and "add7" in img.functions


def test_an_elf_inside_an_archive(tmp_path: Path, cc: Build) -> None:
    lib = cc("libz.so", "int zf(int x) { return 3 * x; }\n", "-shared", "-fPIC")
    z = tmp_path / "a.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("pad", "p" * 1000)
        zf.write(lib, "libz.so", compress_type=zipfile.ZIP_STORED)
    base = archive.member_offset(str(z), "libz.so")
    assert image(str(z), base).functions["zf"] == image(lib).functions["zf"]


def test_not_elf(tmp_path: Path) -> None:
    p = tmp_path / "x"
    p.write_bytes(b"hello")
    with pytest.raises(ProbeError, match="cannot read ELF symbols"):
        image(str(p))
    with pytest.raises(ProbeError):
        image(str(tmp_path / "missing"))


def test_one_name_is_looked_up_without_reading_every_symbol() -> None:
    from pytrace.probes import ldcache
    from pytrace.probes.elfsyms import lookup

    libc = dict(ldcache.entries())["libc.so.6"]
    full = image(libc)
    for name in ("malloc", "free", "getpid", "memcpy"):  # tails of longer names too
        assert lookup(libc, 0, name).functions == {name: full.functions[name]}
    assert lookup(libc, 0, "no_such_function").functions == {}
    assert lookup(libc, 0, "malloc").loads == full.loads
