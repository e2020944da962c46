"""The compiled-object cache stores data only, with safe permissions, and never reads a
file or directory another user could have written."""

from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

import pytest

from pytrace import cache
from pytrace.driver import compile_source
from pytrace.options import Options
from pytrace.source import Source

PROG = 'tracepoint:syscalls:sys_enter_openat /comm == "x"/ { @[str(args.filename)] = hist(pid); printf("%s\\n", comm); }'
NOBODY = 65534


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("PYTRACE_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "pytrace"


def _compile() -> bool:
    return compile_source(Source("stdin", PROG), Options()).cached


def _entry(d: Path) -> Path:
    (entry,) = [p for p in d.iterdir() if p.name.endswith(cache.SUFFIX)]
    return entry


def test_round_trip_is_exact(cache_home: Path) -> None:
    fresh = compile_source(Source("stdin", PROG), Options())
    cached = compile_source(Source("stdin", PROG), Options())
    assert cached.cached and not fresh.cached
    assert cached.obj == fresh.obj


def test_created_with_private_permissions(cache_home: Path) -> None:
    os.umask(old := os.umask(0))  # read the umask without changing it
    try:
        _compile()
    finally:
        os.umask(old)
    assert stat.S_IMODE(cache_home.stat().st_mode) == 0o700
    assert stat.S_IMODE(_entry(cache_home).stat().st_mode) == 0o600


def test_file_is_not_a_pickle(cache_home: Path) -> None:
    _compile()
    data = _entry(cache_home).read_bytes()
    assert data.startswith(cache.MAGIC)
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(data)


def test_a_planted_pickle_never_runs(cache_home: Path, tmp_path: Path) -> None:
    _compile()
    entry = _entry(cache_home)
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.system, (f"touch {marker}",))

    entry.write_bytes(pickle.dumps(Payload()))
    assert not _compile()  # a miss, then rewritten
    assert not marker.exists()
    assert _compile()


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702])
def test_directory_writable_by_others_is_ignored(cache_home: Path, mode: int) -> None:
    _compile()
    cache_home.chmod(mode)
    assert not _compile()
    assert len([p for p in cache_home.iterdir() if p.name.endswith(cache.SUFFIX)]) == 1  # not written either
    cache_home.chmod(0o700)
    assert _compile()


def test_directory_of_another_user_is_ignored(cache_home: Path) -> None:
    _compile()
    os.chown(cache_home, NOBODY, NOBODY)
    assert not _compile()


@pytest.mark.parametrize("change", ["chmod-g", "chmod-o", "chown", "symlink"])
def test_unsafe_file_is_ignored(cache_home: Path, tmp_path: Path, change: str) -> None:
    _compile()
    entry = _entry(cache_home)
    if change == "chmod-g":
        entry.chmod(0o620)
    elif change == "chmod-o":
        entry.chmod(0o602)
    elif change == "chown":
        os.chown(entry, NOBODY, NOBODY)
    else:
        real = tmp_path / "elsewhere"
        entry.rename(real)
        entry.symlink_to(real)
    assert cache.load(entry.name.removesuffix(cache.SUFFIX)) is None


def test_symlinked_cache_dir_is_ignored(cache_home: Path, tmp_path: Path) -> None:
    _compile()
    real = tmp_path / "real"
    cache_home.rename(real)
    cache_home.symlink_to(real)
    assert not _compile()


@pytest.mark.parametrize("damage", [b"", b"PYTRACE-OBJECT 1\n", b"PYTRACE-OBJECT 1\n\xff\xff\xff\xff\xff\xff\xff\x7f",
                                    b'PYTRACE-OBJECT 1\n\x0b\x00\x00\x00\x00\x00\x00\x00{"deps":[]}',
                                    b'PYTRACE-OBJECT 1\n\x10\x00\x00\x00\x00\x00\x00\x00not json at all!'])
def test_damaged_file_is_a_miss(cache_home: Path, damage: bytes) -> None:
    _compile()
    entry = _entry(cache_home)
    entry.write_bytes(damage)
    assert cache.load(entry.name.removesuffix(cache.SUFFIX)) is None


def test_objects_on_running_programs_are_never_cached(cache_home: Path) -> None:
    """fentry:bpf targets name programs by id: a reload changes them, so no entry."""
    from pytrace.resources import BpfObject, ProbeSpec, ProgType, Resources

    spec = ProbeSpec(0, "fentry:bpf:12:f", "fentry", "probe_0", ProgType.TRACING,
                     {"func": "f", "btf_id": 5, "prog_id": 12, "prog_btf_id": 7}, 24)
    obj = BpfObject(b"\x7fELF", Resources(probes=(spec,)))
    assert cache.on_live_programs(obj)
    cache.store("k" * 64, obj)
    assert not cache_home.exists() or not list(cache_home.iterdir())
    fresh = compile_source(Source("stdin", PROG), Options()).obj
    assert not cache.on_live_programs(fresh)
