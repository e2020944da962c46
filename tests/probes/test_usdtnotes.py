"""USDT notes of a built binary: locations, semaphores and operand strings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import Symbol

from pytrace.probes.elfsyms import image
from pytrace.probes.usdtnotes import notes

SRC = r"""
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
unsigned short p_gated_semaphore __attribute__((section(".probes")));
unsigned short p_twice_semaphore __attribute__((section(".probes")));
volatile int v;
__attribute__((noinline)) void a(int x) { DTRACE_PROBE1(p, twice, x); }
__attribute__((noinline)) void b(int x) { DTRACE_PROBE1(p, twice, x); }
int main(void) { a(1); b(2); if (p_gated_semaphore) DTRACE_PROBE(p, gated); return v; }
"""

Build = Callable[..., str]  # the `cc` fixture (tests/probes/conftest.py)


def _symtab(path: str) -> list[Symbol]:
    with open(path, "rb") as f:
        return list(ELFFile(f).get_section_by_name(".symtab").iter_symbols())


def test_notes(cc: Build) -> None:
    path = cc("notes", SRC)
    found = notes(path)
    twice = [n for n in found if n.name == "twice"]
    assert len(twice) == 2 and len({n.offset for n in twice}) == 2
    assert all(n.provider == "p" and n.args for n in twice)
    assert twice[0].semaphore == twice[1].semaphore != 0  # one counter for both places
    (gated,) = [n for n in found if n.name == "gated"]
    sym = next(s for s in _symtab(path) if s.name == "p_gated_semaphore")
    assert gated.semaphore == image(path).file_offset(sym["st_value"])
    with open(path, "rb") as f:
        data = f.read()
    assert data[gated.semaphore:gated.semaphore + 2] == b"\0\0"


def test_no_notes(cc: Build) -> None:
    assert notes(cc("plain", "int main(void) { return 0; }\n")) == ()


def test_notes_are_cached_by_file_identity(cc: Build, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from pytrace.probes import scancache, usdtnotes

    monkeypatch.delenv("PYTRACE_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(scancache, "STORE", scancache.ScanCache())
    usdtnotes._notes.cache_clear()
    path = cc("cachednotes", SRC)
    found = notes(path)
    scancache.STORE.flush()

    def refuse(path: str, base: int) -> tuple[usdtnotes.UsdtNote, ...]:
        raise AssertionError(f"{path} read again")

    real = usdtnotes._read
    monkeypatch.setattr(usdtnotes, "_read", refuse)
    monkeypatch.setattr(scancache, "STORE", scancache.ScanCache())  # a new process
    usdtnotes._notes.cache_clear()
    assert notes(path) == found and len(found) == 3
    extra = ('unsigned short p_third_semaphore __attribute__((section(".probes")));\n'
             "volatile int v;\n__attribute__((noinline)) void c(void) { DTRACE_PROBE(p, third); }")
    cc("cachednotes", SRC.replace("volatile int v;", extra))  # rebuilt: a new identity
    monkeypatch.setattr(usdtnotes, "_read", real)
    assert "third" in [n.name for n in notes(path)]
