"""The ELF scan cache: entries round-trip, merge with another writer, and a cache file
or directory another user could have written is never read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pytrace.probes import scancache
from pytrace.probes.scancache import ScanCache


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("PYTRACE_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "pytrace" / "userscan"


def _written(ident: str = "1:2:3:4:0") -> ScanCache:
    store = ScanCache()
    store.put(ident, "usdt", [["prov", "name", 16, 0, "-4@%eax"]])
    store.flush()
    return store


def test_round_trip(home: Path) -> None:
    _written()
    assert ScanCache().get("1:2:3:4:0", "usdt") == [["prov", "name", 16, 0, "-4@%eax"]]
    assert ScanCache().get("1:2:3:4:0", "syms") is None
    assert ScanCache().get("9:9:9:9:0", "usdt") is None
    mode = os.stat(home / "files.json").st_mode & 0o777
    assert mode == 0o600 and os.stat(home).st_mode & 0o777 == 0o700


def test_flush_merges_another_writers_entries(home: Path) -> None:
    mine, theirs = ScanCache(), ScanCache()
    mine.get("a", "usdt")  # loaded before the other process wrote
    theirs.put("b:0", "usdt", [])
    theirs.flush()
    mine.put("a:0", "usdt", [])
    mine.flush()
    fresh = ScanCache()
    assert fresh.get("a:0", "usdt") == [] and fresh.get("b:0", "usdt") == []


def test_a_file_others_can_write_is_ignored(home: Path) -> None:
    _written()
    os.chmod(home / "files.json", 0o666)
    assert ScanCache().get("1:2:3:4:0", "usdt") is None


def test_an_unsafe_directory_is_ignored(home: Path) -> None:
    _written()
    os.chmod(home, 0o777)
    assert ScanCache().get("1:2:3:4:0", "usdt") is None


def test_a_symlinked_cache_file_is_ignored(home: Path, tmp_path: Path) -> None:
    _written()
    planted = tmp_path / "planted.json"
    os.rename(home / "files.json", planted)
    os.symlink(planted, home / "files.json")
    assert ScanCache().get("1:2:3:4:0", "usdt") is None


@pytest.mark.parametrize("content", [b"not json", b"[]", b'{"version": 999, "files": {}}',
                                     b'{"version": 1, "files": []}'])
def test_malformed_files_are_ignored(home: Path, content: bytes) -> None:
    _written()
    (home / "files.json").write_bytes(content)
    assert ScanCache().get("1:2:3:4:0", "usdt") is None
    _written("5:6:7:8:0")  # and a later write replaces it
    assert json.loads((home / "files.json").read_bytes())["version"] == scancache.VERSION


def test_no_cache_environment(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _written()
    monkeypatch.setenv("PYTRACE_NO_CACHE", "1")
    assert ScanCache().get("1:2:3:4:0", "usdt") is None
    store = ScanCache()
    store.put("x:0", "usdt", [])
    assert store.get("x:0", "usdt") == []  # kept in memory only
    store.flush()
    monkeypatch.delenv("PYTRACE_NO_CACHE")
    assert ScanCache().get("x:0", "usdt") is None


def test_identity_and_deps(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"one")
    deps = scancache.deps_of([str(f), str(tmp_path / "absent")])
    assert scancache.valid_deps(deps)
    assert deps[1][1] is None
    f.write_bytes(b"longer")  # size (and mtime) change: a new identity
    assert not scancache.valid_deps(deps)
    (tmp_path / "absent").write_bytes(b"")
    assert not scancache.valid_deps(scancache.deps_of([str(f)]) + [deps[1]])
    assert not scancache.valid_deps("junk") and not scancache.valid_deps([["p"]])
