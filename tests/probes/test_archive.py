"""Members of zip archives: where a stored member's bytes start."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from pytrace.probes import archive
from pytrace.probes.base import ProbeError


def _zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("first.txt", "x" * 300, compress_type=zipfile.ZIP_DEFLATED)
        info = zipfile.ZipInfo("lib/x86_64/libfoo.so")
        info.extra = b"\xfe\xca\x04\x00\x00\x00\x00\x00"  # a local extra field (as zipalign)
        z.writestr(info, b"\x7fELF" + bytes(60), compress_type=zipfile.ZIP_STORED)
        z.writestr("packed.so", b"\x7fELF" + bytes(600), compress_type=zipfile.ZIP_DEFLATED)


def test_split() -> None:
    assert archive.split("/a/app.apk!/lib/libfoo.so") == ("/a/app.apk", "lib/libfoo.so")
    assert archive.split("/a/app.apk") is None
    assert archive.split("!/x") is None and archive.split("/a!/") is None


def test_member_offset_points_at_the_member(tmp_path: Path) -> None:
    z = tmp_path / "app.zip"
    _zip(z)
    off = archive.member_offset(str(z), "lib/x86_64/libfoo.so")
    data = z.read_bytes()
    assert data[off:off + 64] == b"\x7fELF" + bytes(60)


def test_compressed_missing_and_broken(tmp_path: Path) -> None:
    z = tmp_path / "app.zip"
    _zip(z)
    with pytest.raises(ProbeError, match="compressed"):
        archive.member_offset(str(z), "packed.so")
    with pytest.raises(ProbeError, match="is not in the archive"):
        archive.member_offset(str(z), "nope.so")
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK nonsense")
    with pytest.raises(ProbeError, match="cannot read the archive"):
        archive.member_offset(str(bad), "x")
