"""The on-disk BTF index: built once, read back, keyed by build, refused when unsafe."""

from __future__ import annotations

import os
import stat
from array import array
from pathlib import Path

from btfbuild import BtfBuilder

from pytrace.btf import index


def _blob(name: str = "thing") -> bytes:
    b = BtfBuilder()
    i = b.int_("int", 4, signed=True)
    b.struct(name, 4, [("x", i, 0, 0)])
    return b.blob()


def _write(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "vmlinux"
    path.write_bytes(data)
    return str(path)


def test_index_is_stored_private_and_reused(tmp_path: Path) -> None:
    path = _write(tmp_path, _blob())
    first = index.open_blob("vmlinux", path)
    files = os.listdir(index.index_dir())
    assert len(files) == 1 and files[0].startswith("vmlinux-")
    assert stat.S_IMODE(os.stat(index.index_dir()).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(index.index_dir(), files[0])).st_mode) == 0o600
    key = index.blob_key("vmlinux", index.read_blob(path))
    assert index.load_index("vmlinux", key) == first.offsets
    again = index.open_blob("vmlinux", path)
    assert again.ids_named("thing") == first.ids_named("thing")


def test_another_build_gets_another_key(tmp_path: Path) -> None:
    a = index.blob_key("vmlinux", _blob("thing"))
    b = index.blob_key("vmlinux", _blob("other"))
    assert a != b and index.blob_key("vmlinux", _blob("thing")) == a
    assert index.blob_key("mod", _blob(), base_key=a) != index.blob_key("mod", _blob())


def test_damaged_or_unsafe_index_is_ignored(tmp_path: Path) -> None:
    path = _write(tmp_path, _blob())
    index.open_blob("vmlinux", path)
    key = index.blob_key("vmlinux", index.read_blob(path))
    (name,) = os.listdir(index.index_dir())
    file = os.path.join(index.index_dir(), name)
    os.chmod(file, 0o666)  # writable by others: not trusted
    assert index.load_index("vmlinux", key) is None
    os.chmod(file, 0o600)
    assert index.load_index("vmlinux", key) is not None
    with open(file, "r+b") as f:
        f.truncate(40)
    assert index.load_index("vmlinux", key) is None
    assert index.load_index("vmlinux", b"\0" * 32) is None
    # a damaged file is replaced by a good one on the next open
    index.open_blob("vmlinux", path)
    assert index.load_index("vmlinux", key) is not None


def test_index_file_is_plain_data(tmp_path: Path) -> None:
    path = _write(tmp_path, _blob())
    btf = index.open_blob("vmlinux", path)
    (name,) = os.listdir(index.index_dir())
    raw = Path(index.index_dir(), name).read_bytes()
    assert raw.startswith(index.MAGIC)
    body = array("I")
    body.frombytes(raw[index._HEAD.size:])
    assert list(body) == list(btf.offsets)


def test_no_cache_env_builds_in_memory(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PYTRACE_NO_CACHE", "1")
    path = _write(tmp_path, _blob())
    assert index.open_blob("vmlinux", path).ids_named("thing")
    assert not os.path.exists(index.index_dir())


def test_vmlinux_index_round_trip(kernel) -> None:  # type: ignore[no-untyped-def]
    built = index.open_blob("vmlinux", "/sys/kernel/btf/vmlinux")
    loaded = index.load_index("vmlinux", built.index_key)
    assert loaded is not None and loaded == built.offsets
    assert len(loaded) == kernel.vmlinux.end_id - 1
