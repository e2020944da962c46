"""The struct-based symbol index agrees with pyelftools, is cached on disk as safe
data, and a damaged or unsafe cache file is never trusted."""

from __future__ import annotations

import os
import random
import stat
from pathlib import Path

import pytest

from pytrace.runtime import symindex
from pytrace.runtime.symbols import Symbolizer, SymbolTable

FILES = ["/bin/bash", "/usr/lib/x86_64-linux-gnu/libc.so.6"]


def _reference(path: str) -> SymbolTable:
    """What the pyelftools reader found (the previous implementation)."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    entries = []
    with open(path, "rb") as f:
        for sec in ELFFile(f).iter_sections():
            if isinstance(sec, SymbolTableSection):
                for sym in sec.iter_symbols():
                    if sym["st_info"]["type"] in ("STT_FUNC", "STT_LOOS") and sym["st_value"] and sym.name:
                        entries.append((sym["st_value"], sym["st_size"], sym.name.split("@", 1)[0]))
    return SymbolTable.build(list(dict.fromkeys(entries)))


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("PYTRACE_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "pytrace" / "symbols"


@pytest.mark.parametrize("path", FILES)
def test_agrees_with_pyelftools(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTRACE_NO_CACHE", "1")
    monkeypatch.setattr(symindex, "DEBUG_ROOT", "/nonexistent")  # the reference reads no debug file
    ref = _reference(path)
    idx = symindex.load_index(path)
    assert idx is not None and len(idx) == len(ref.addrs)
    rng = random.Random(7)
    probes = [a + d for a in rng.sample(ref.addrs, min(3000, len(ref.addrs))) for d in (0, 1, 7)]
    probes += [min(ref.addrs) - 1, max(ref.addrs) + (1 << 20)]
    for addr in probes:
        assert idx.find(addr) == ref.find(addr), hex(addr)


def test_cached_index_is_identical_and_private(cache_home: Path) -> None:
    built = symindex.load_index("/bin/bash")
    (entry,) = list(cache_home.iterdir())
    assert stat.S_IMODE(cache_home.stat().st_mode) == 0o700
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert entry.read_bytes().startswith(symindex.MAGIC)
    loaded = symindex.load_index("/bin/bash")
    assert loaded == built


@pytest.mark.parametrize("damage", ["truncate", "garbage", "unsorted", "chmod", "chown"])
def test_damaged_or_unsafe_index_is_rebuilt(cache_home: Path, damage: str) -> None:
    good = symindex.load_index("/bin/bash")
    assert good is not None
    (entry,) = list(cache_home.iterdir())
    data = entry.read_bytes()
    if damage == "truncate":
        entry.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        entry.write_bytes(b"\x80\x04junk" * 100)
    elif damage == "chmod":
        planted = symindex.build_index([(0x1, 0, b"planted")], good.segments)
        entry.write_bytes(planted.dumps())
        entry.chmod(0o666)
    elif damage == "chown":
        planted = symindex.build_index([(0x1, 0, b"planted")], good.segments)
        entry.write_bytes(planted.dumps())
        os.chown(entry, 65534, 65534)
    else:
        bad = symindex.SymbolIndex(good.addrs[::-1], good.sizes, good.name_offs, good.names, good.segments)
        entry.write_bytes(bad.dumps())
    assert symindex.load_index("/bin/bash") == good


def test_round_trip_of_the_data_format() -> None:
    idx = symindex.build_index([(0x30, 4, b"c"), (0x10, 0, b"a"), (0x10, 0, b"alias"), (0x20, 8, b"b")],
                               [(0, 0x100, 0x1000)])
    assert symindex.SymbolIndex.loads(idx.dumps()) == idx
    assert idx.find(0x15) == ("a", 5)  # the first alias in file order
    assert idx.find(0x27) == ("b", 7) and idx.find(0x28) is None  # past b's size
    assert idx.find(0x0F) is None
    assert idx.vaddr(0x10) == 0x1010


def test_second_signal_stops_reading_new_files(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Symbolizer()
    s.give_up = lambda: True
    assert s._symbols_of("/bin/bash") is None  # not read at all
    s.give_up = lambda: False
    assert s._symbols_of("/bin/bash") is not None
    s.give_up = lambda: True
    assert s._symbols_of("/bin/bash") is not None  # already read files still resolve


def test_not_an_elf_file(tmp_path: Path) -> None:
    f = tmp_path / "x"
    f.write_bytes(b"#!/bin/sh\necho hi\n")
    assert symindex.load_index(str(f)) is None
    assert symindex.load_index(str(tmp_path / "missing")) is None
