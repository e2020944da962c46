"""The compiled-object cache: `BpfObject`s stored as data that cannot execute code.

A cache file is `MAGIC`, a u64 header length, a JSON header (the Resources through
`pytrace.codec`, plus the probed binaries it depends on) and the ELF bytes. Nothing is
unpickled. The directory is created 0700 and files 0600; a directory or file that is not
ours, is a symlink, or is writable by group or others is never read (nor written into),
so another user cannot plant an object for root to load.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct

from pytrace import __version__
from pytrace.cachedir import (
    cache_dir,
    read_safe,
    safe_dir,
    write_private,
)
from pytrace.options import Options
from pytrace.resources import BpfObject, Resources
from pytrace.source import Source

MAGIC = b"PYTRACE-OBJECT 1\n"
SUFFIX = ".bpfo"
_LEN = struct.Struct("<Q")
Deps = list[list[object]]




def enabled() -> bool:
    return not os.environ.get("PYTRACE_NO_CACHE")


def _build_id() -> str:
    """Changes whenever pytrace's own code changes (a development checkout too)."""
    pkg = os.path.dirname(os.path.abspath(__file__))
    h = hashlib.sha256()
    for root, _dirs, files in os.walk(pkg):
        for name in sorted(files):
            if name.endswith((".py", ".lark")):
                st = os.stat(os.path.join(root, name))
                h.update(f"{root}/{name}:{st.st_mtime_ns}:{st.st_size};".encode())
    return h.hexdigest()


def file_deps(obj: BpfObject) -> Deps:
    """[path, inode, size, mtime] of every binary the probes attach to (uprobes, usdt)
    and of every file the program imports and every C header it included."""
    deps: Deps = []
    paths = [p.attach.get("path") for p in obj.resources.probes]
    for path in [*paths, *obj.resources.imports, *obj.resources.headers]:
        if isinstance(path, str):
            try:
                st = os.stat(path)
            except OSError:
                continue
            deps.append([path, st.st_ino, st.st_size, st.st_mtime_ns])
    return deps


def cache_key(source: Source, options: Options) -> str:
    h = hashlib.sha256()
    # every Options field may change the code (getopt values, -k checks, config variables)
    for part in (__version__, _build_id(), os.uname().release, source.text, repr(options),
                 _import_key(source), _pid_namespace()):
        h.update(part.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    return h.hexdigest()[:32]


def _pid_namespace() -> str:
    """pid/tid read the namespace pytrace runs in: an object compiled in another one
    must not be reused."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _import_key(source: Source) -> str:
    """Relative imports of `-e` programs resolve from the working directory."""
    return os.getcwd() if "import" in source.text else ""


# ------------------------------------------------------------------ format
def dumps(obj: BpfObject) -> bytes:
    """The file contents for `obj` (raises codec.CodecError for a non-data Resources)."""
    from pytrace.codec import default_codec

    header = {"resources": default_codec().encode(obj.resources), "deps": file_deps(obj)}
    text = json.dumps(header, separators=(",", ":")).encode()
    return MAGIC + _LEN.pack(len(text)) + text + bytes(obj.elf)


def loads(data: bytes) -> tuple[BpfObject, Deps]:
    """The object and its recorded deps; ValueError for anything that is not a cache file."""
    from pytrace.codec import default_codec

    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + _LEN.size:
        raise ValueError("not a pytrace cache file")
    (n,) = _LEN.unpack_from(data, len(MAGIC))
    start = len(MAGIC) + _LEN.size
    if start + n > len(data):
        raise ValueError("truncated cache file")
    header = json.loads(data[start:start + n])
    if not isinstance(header, dict):
        raise ValueError("malformed cache header")
    resources = default_codec().decode(header.get("resources"))
    deps = header.get("deps")
    if not isinstance(resources, Resources) or not isinstance(deps, list):
        raise ValueError("malformed cache header")
    return BpfObject(data[start + n:], resources), deps


# ------------------------------------------------------------------ files


def load(key: str) -> BpfObject | None:
    """The cached object for `key`, or None (missing, unsafe, stale or unreadable)."""
    if not enabled():
        return None
    d = cache_dir()
    if not safe_dir(d):
        return None
    data = read_safe(os.path.join(d, key + SUFFIX))
    if data is None:
        return None
    try:
        obj, deps = loads(data)
    except (ValueError, TypeError, RecursionError):  # a stale or damaged entry is just a miss
        return None
    if file_deps(obj) != deps:
        return None  # a probed binary changed: its symbol offsets may have moved
    return obj


def on_live_programs(obj: BpfObject) -> bool:
    """Whether `obj` attaches to running BPF programs (fentry:bpf/fexit:bpf): their ids
    and BTF ids change whenever those programs are loaded again, so the object is
    never cached."""
    return any("prog_id" in p.attach for p in obj.resources.probes)


def store(key: str, obj: BpfObject) -> None:
    """Write `obj` atomically (0600 in a 0700 directory); any failure just skips caching."""
    if not enabled() or on_live_programs(obj):
        return
    from pytrace.codec import CodecError

    try:
        data = dumps(obj)
    except (CodecError, TypeError, ValueError):
        return
    write_private(os.path.join(cache_dir(), key + SUFFIX), data)
