"""The dynamic linker's cache, read from its file (and through ldconfig -p)."""

from __future__ import annotations

import os
import struct

from pytrace.probes import ldcache


def _cache(entries: list[tuple[int, str, str]]) -> bytes:
    """A glibc-ld.so.cache1.1 file with these (flags, soname, path) entries."""
    strings = b""
    table = b""
    start = ldcache.HEADER + len(entries) * ldcache.ENTRY.size
    for flags, name, path in entries:
        key = start + len(strings)
        strings += name.encode() + b"\0"
        value = start + len(strings)
        strings += path.encode() + b"\0"
        table += ldcache.ENTRY.pack(flags, key, value, 0, 0)
    header = ldcache.MAGIC + struct.pack("<II", len(entries), len(strings))
    header += bytes(ldcache.HEADER - len(header))
    return header + table + strings


def test_parse_keeps_this_machines_entries_in_order() -> None:
    data = _cache([(0x0303, "libfoo.so.2", "/opt/libfoo.so.2"),
                   (0x0003, "libfoo.so.2", "/opt/lib32/libfoo.so.2"),  # i386: not ours
                   (0x0303, "libbar.so", "/opt/libbar.so")])
    found = ldcache.parse(data)
    if os.uname().machine == "x86_64":
        assert found == [("libfoo.so.2", "/opt/libfoo.so.2"), ("libbar.so", "/opt/libbar.so")]
    else:
        assert len(found) == 3


def test_an_old_format_or_garbage_gives_nothing() -> None:
    assert ldcache.parse(b"ld.so-1.7.0" + bytes(64)) == []
    assert ldcache.parse(b"") == []


def test_the_real_cache_knows_libc() -> None:
    found = dict(ldcache.entries())
    assert "libc.so.6" in found and os.path.exists(found["libc.so.6"])


def test_ldconfig_is_the_fallback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bogus = tmp_path / "ld.so.cache"
    bogus.write_bytes(b"not a cache")
    ldcache.entries.cache_clear()
    try:
        assert "libc.so.6" in dict(ldcache.entries(str(bogus)))
    finally:
        ldcache.entries.cache_clear()
