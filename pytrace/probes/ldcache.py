"""The dynamic linker's library cache (/etc/ld.so.cache): soname -> path, in cache order.

The cache file is read directly (glibc's "glibc-ld.so.cache1.1" format, 24-byte
entries whose name and path are offsets into the file); `ldconfig -p` is the fallback
for any other format. Only entries for this machine's ABI are kept (on x86_64 the
libc6 x86-64 ones), as the dynamic linker itself would use.
"""

from __future__ import annotations

import os
import struct
import subprocess
from functools import lru_cache

LD_SO_CACHE = "/etc/ld.so.cache"
MAGIC = b"glibc-ld.so.cache1.1"
HEADER = 48  # magic(20) nlibs len_strings flags_type(+3) extension_offset unused[3]
ENTRY = struct.Struct("<iIIIQ")  # flags, key, value, osversion, hwcap
ARCH_MASK = 0xFF00
X86_64_LIB64 = 0x0300  # FLAG_X8664_LIB64


def _wanted(flags: int) -> bool:
    if os.uname().machine == "x86_64":
        return flags & ARCH_MASK == X86_64_LIB64
    return True


def _cstring(data: bytes, off: int) -> str:
    end = data.find(b"\0", off)
    return data[off:end if end >= 0 else len(data)].decode("utf-8", "replace")


def parse(data: bytes) -> list[tuple[str, str]]:
    """(soname, path) pairs of a cache file's bytes, in file order ([] if unknown)."""
    start = data.find(MAGIC)
    if start < 0 or len(data) < start + HEADER:
        return []
    (nlibs,) = struct.unpack_from("<I", data, start + len(MAGIC))
    out = []
    for i in range(nlibs):
        pos = start + HEADER + i * ENTRY.size
        if pos + ENTRY.size > len(data):
            break
        flags, key, value, _os, _hw = ENTRY.unpack_from(data, pos)
        if _wanted(flags) and key < len(data) and value < len(data):
            out.append((_cstring(data, key), _cstring(data, value)))
    return out


def _from_ldconfig() -> list[tuple[str, str]]:
    try:
        text = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=5,
                              check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    out = []
    for line in text.splitlines()[1:]:
        left, sep, right = line.partition("=>")
        if sep and (os.uname().machine != "x86_64" or "x86-64" in left):
            out.append((left.split()[0], right.strip()))
    return out


@lru_cache(maxsize=1)
def entries(path: str = LD_SO_CACHE) -> tuple[tuple[str, str], ...]:
    """The cache's (soname, path) entries for this machine, in cache order."""
    try:
        with open(path, "rb") as f:
            found = parse(f.read())
    except OSError:
        found = []
    return tuple(found or _from_ldconfig())
