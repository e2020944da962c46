"""The on-disk index of a BTF blob: where each type's record starts.

Building it walks every type record (~30 ms for vmlinux's 126k types in pure Python),
so it is stored once per BTF build under `$XDG_CACHE_HOME/pytrace/btf/` and read back
in about a millisecond. The file is plain data (a header and a u32 array), never pickle; it is
created 0600 in a 0700 directory and ignored unless owned by the current user and not
writable by others. The key is a hash of the blob's size, header and a sample of its
bytes (and of the base's key for split BTF), so another kernel build gets its own file.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import struct
import sys
from array import array

from pytrace.btf import format as F
from pytrace.btf.reader import BtfData
from pytrace.cachedir import cache_dir, read_private, write_private

MAGIC = b"PYTBTFX1"
VERSION = 2
_HEAD = struct.Struct("<8sII32s")  # magic, version, n_offsets, key
_SAMPLE_STEP = 256 * 1024
_SAMPLE_LEN = 4096


def read_blob(path: str) -> bytes:
    """The blob's bytes: mmapped when the file allows it (sysfs BTF does on new
    kernels, read-only and private), else read whole."""
    with open(path, "rb") as f:
        try:
            return mmap.mmap(f.fileno(), 0, flags=mmap.MAP_PRIVATE,  # type: ignore[return-value]
                             prot=mmap.PROT_READ)
        except (OSError, ValueError):
            return f.read()


def blob_key(name: str, data: bytes, base_key: bytes = b"") -> bytes:
    """Identifies one BTF build without hashing all of it."""
    h = hashlib.sha256()
    h.update(f"{VERSION}:{name}:{len(data)}:".encode())
    h.update(base_key)
    n = len(data)
    h.update(data[:F.HEADER.size])
    for off in range(0, n, _SAMPLE_STEP):
        h.update(data[off:off + _SAMPLE_LEN])
    h.update(data[max(0, n - _SAMPLE_LEN):n])
    return h.digest()


def index_dir() -> str:
    return os.path.join(cache_dir(), "btf")


def _path(name: str, key: bytes) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return os.path.join(index_dir(), f"{safe}-{key.hex()[:24]}.idx")


def load_index(name: str, key: bytes) -> array | None:
    """The type offsets from the cache, or None when absent, foreign or damaged."""
    if os.environ.get("PYTRACE_NO_CACHE"):
        return None
    raw = read_private(_path(name, key))
    if raw is None:
        return None
    return _parse(raw, key)


def _parse(raw: bytes, key: bytes) -> array | None:
    if len(raw) < _HEAD.size:
        return None
    magic, version, n_off, file_key = _HEAD.unpack_from(raw, 0)
    if magic != MAGIC or version != VERSION or file_key != key:
        return None
    if len(raw) != _HEAD.size + 4 * n_off:
        return None
    offsets = array("I")
    offsets.frombytes(memoryview(raw)[_HEAD.size:])
    if sys.byteorder != "little":
        offsets.byteswap()
    return offsets


def store_index(name: str, key: bytes, offsets: array) -> None:
    """Write the index atomically; a failure (read-only home, full disk) is ignored."""
    if os.environ.get("PYTRACE_NO_CACHE"):
        return
    o = array("I", offsets)
    if sys.byteorder != "little":
        o.byteswap()
    data = _HEAD.pack(MAGIC, VERSION, len(o), key) + o.tobytes()
    write_private(_path(name, key), data)


def open_blob(name: str, path: str, base: BtfData | None = None) -> BtfData:
    """A BtfData for `path`, its index read from the cache or built and stored."""
    data = read_blob(path)
    key = blob_key(name, data, getattr(base, "index_key", b""))
    cached = load_index(name, key)
    if cached is not None:
        btf = BtfData(name, data, base, offsets=cached)
    else:
        btf = BtfData(name, data, base)
        store_index(name, key, btf.offsets)
    btf.index_key = key
    return btf
