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


@pytest.fixture
def fresh_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty scan cache in a private cache directory, and no in-process results."""
    from pytrace.probes import elfsyms, scancache

    monkeypatch.delenv("PYTRACE_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(scancache, "STORE", scancache.ScanCache())
    elfsyms._lookup.cache_clear()
    return tmp_path / "cache"


def _forget(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A new process: the cache re-read from disk; returns the files read for lookups."""
    from pytrace.probes import elfsyms, scancache

    scancache.STORE.flush()
    monkeypatch.setattr(scancache, "STORE", scancache.ScanCache())
    elfsyms._lookup.cache_clear()
    reads: list[str] = []
    real = elfsyms._lookup_file

    def counting(path: str, base: int, name: str):  # type: ignore[no-untyped-def]
        reads.append(path)
        return real(path, base, name)

    monkeypatch.setattr(elfsyms, "_lookup_file", counting)
    return reads


def test_lookups_are_cached_by_file_identity(cc: Build, fresh_store: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from pytrace.probes.elfsyms import lookup, segments

    path = cc("cached", SRC)
    first = lookup(path, 0, "add7")
    missing = lookup(path, 0, "nothing_here")
    loads = segments(path)
    reads = _forget(monkeypatch)
    again = lookup(path, 0, "add7")
    assert reads == []  # answered from the cache file
    assert again.functions == first.functions and again.loads == first.loads == loads
    assert again.has_symtab == first.has_symtab
    assert lookup(path, 0, "nothing_here").functions == missing.functions == {}
    assert segments(path) == loads and reads == []
    cc("cached", SRC.replace("x + 7", "x * 7 + 1"))  # rebuilt: a new identity
    reads = _forget(monkeypatch)
    assert lookup(path, 0, "add7").functions["add7"].addr == image(path).functions["add7"].addr
    assert reads == [path]


def test_a_cached_miss_follows_the_debug_file(cc: Build, fresh_store: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A stripped file's answer depends on its debug file: installing, changing or
    removing one invalidates it."""
    import shutil
    import subprocess

    from pytrace.probes.elfsyms import lookup

    if shutil.which("objcopy") is None:
        pytest.skip("binutils (objcopy) is not installed")
    path = cc("split", SRC, "-g", "-Wl,--build-id")
    debug = path + ".debug"
    subprocess.run(["objcopy", "--only-keep-debug", path, debug], check=True)
    subprocess.run(["objcopy", "--strip-all", f"--add-gnu-debuglink={debug}", path], check=True)
    assert "add7" in lookup(path, 0, "add7").functions  # from the debug file
    with open(debug, "ab") as f:
        f.write(b"changed")  # its CRC no longer matches
    reads = _forget(monkeypatch)
    assert lookup(path, 0, "add7").functions == {} and reads == [path]
    reads = _forget(monkeypatch)
    assert lookup(path, 0, "add7").functions == {} and reads == []
