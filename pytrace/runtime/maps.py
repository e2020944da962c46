"""Read and modify BPF maps from userspace: whole-map reads, lookup/update/delete,
clear and zero, and the `__lost` counter. Values come back per CPU (one element for
non-per-CPU maps); decoding them is someone else's job.
"""

from __future__ import annotations

import errno
import os
import struct
from functools import lru_cache

from pytrace.resources import MapKind, MapSpec
from pytrace.runtime import syscalls as sc
from pytrace.runtime.errors import RuntimeFailure
from pytrace.runtime.loader import possible_cpus

MAP_LOOKUP_BATCH = sc.MAP_LOOKUP_BATCH
BATCH_MIN = 64
BATCH_MAX = 4096
ENOTSUPP = 524  # the kernel's internal "not supported" errno
Entry = tuple[bytes, list[bytes]]


@lru_cache(maxsize=1)
def ncpus() -> int:
    """Possible CPUs, cached (per-CPU values come back for each)."""
    return possible_cpus()


def _stride(spec: MapSpec) -> int:
    return (spec.value_size + 7) & ~7


def value_buffer_size(spec: MapSpec) -> int:
    """Bytes the kernel writes for one value of this map."""
    return ncpus() * _stride(spec) if spec.kind.percpu else spec.value_size


def _split(spec: MapSpec, raw: bytes) -> list[bytes]:
    if not spec.kind.percpu:
        return [raw[: spec.value_size]]
    s, n = _stride(spec), spec.value_size
    return [raw[i * s: i * s + n] for i in range(ncpus())]


def _elem_attr(fd: int, key: sc.Buffer | None, value: sc.Buffer | None,
               flags: int = 0) -> bytearray:
    attr = sc.new_attr()
    struct.pack_into("<IIQQQ", attr, 0, fd, 0, key.addr if key else 0,
                     value.addr if value else 0, flags)
    return attr


def _fail(spec: MapSpec | None, what: str, err: int) -> RuntimeFailure:
    name = spec.name if spec else "map"
    return RuntimeFailure(f"cannot {what} {name}: {os.strerror(err)}")


def lookup(fd: int, spec: MapSpec, key: bytes) -> list[bytes] | None:
    """The per-CPU values of `key`, or None when absent."""
    kb, vb = sc.Buffer(key), sc.Buffer(value_buffer_size(spec))
    ret, err = sc.bpf_errno(sc.MAP_LOOKUP_ELEM, _elem_attr(fd, kb, vb))
    if ret < 0:
        if err == errno.ENOENT:
            return None
        raise _fail(spec, "read", err)
    return _split(spec, vb.bytes())


def update(fd: int, spec: MapSpec, key: bytes, value: bytes | list[bytes],
           flags: int = sc.BPF_ANY) -> None:
    """Write `value` (one value for every CPU, or a list of per-CPU values)."""
    if spec.kind.percpu:
        vals = value if isinstance(value, list) else [value] * ncpus()
        raw = b"".join(v.ljust(_stride(spec), b"\0") for v in vals)
    else:
        raw = value[0] if isinstance(value, list) else value
    kb, vb = sc.Buffer(key), sc.Buffer(raw)  # keep alive during the call
    ret, err = sc.bpf_errno(sc.MAP_UPDATE_ELEM, _elem_attr(fd, kb, vb, flags))
    if ret < 0:
        raise _fail(spec, "update", err)


def update_many(fd: int, spec: MapSpec, keys: bytes, values: bytes) -> None:
    """Write many entries of a non-per-CPU map at once (`keys`/`values` concatenated):
    BPF_MAP_UPDATE_BATCH, or one update per entry where the kernel cannot batch."""
    count = len(keys) // spec.key_size
    if count == 0:
        return
    kb, vb = sc.Buffer(keys), sc.Buffer(values)
    attr = sc.new_attr()
    struct.pack_into("<QQQQII", attr, 0, 0, 0, kb.addr, vb.addr, count, fd)
    ret, err = sc.bpf_errno(sc.MAP_UPDATE_BATCH, attr)
    if ret == 0:
        return
    if err not in (errno.EINVAL, ENOTSUPP, errno.EOPNOTSUPP):
        raise _fail(spec, "write", err)
    ks, vs = spec.key_size, spec.value_size
    for i in range(count):
        update(fd, spec, keys[i * ks:(i + 1) * ks], values[i * vs:(i + 1) * vs])


def delete(fd: int, key: bytes, spec: MapSpec | None = None) -> bool:
    """Delete `key`; False when it was absent."""
    kb = sc.Buffer(key)  # keep alive during the call
    ret, err = sc.bpf_errno(sc.MAP_DELETE_ELEM, _elem_attr(fd, kb, None))
    if ret < 0:
        if err == errno.ENOENT:
            return False
        raise _fail(spec, "delete from", err)
    return True


def keys(fd: int, spec: MapSpec) -> list[bytes]:
    """Every key, by BPF_MAP_GET_NEXT_KEY."""
    out: list[bytes] = []
    nxt = sc.Buffer(spec.key_size)
    cur: sc.Buffer | None = None
    while True:
        ret, err = sc.bpf_errno(sc.MAP_GET_NEXT_KEY, _elem_attr(fd, cur, nxt))
        if ret < 0:
            if err == errno.ENOENT:
                return out
            raise _fail(spec, "list the keys of", err)
        k = nxt.bytes(spec.key_size)
        out.append(k)
        cur = sc.Buffer(k)


def _read_by_keys(fd: int, spec: MapSpec) -> list[Entry]:
    out = []
    for k in keys(fd, spec):
        vals = lookup(fd, spec, k)
        if vals is not None:  # deleted meanwhile
            out.append((k, vals))
    return out


def _batch_attr(fd: int, in_b: int, out_b: int, kbuf: sc.Buffer, vbuf: sc.Buffer,
                count: int) -> bytearray:
    attr = sc.new_attr()
    struct.pack_into("<QQQQII", attr, 0, in_b, out_b, kbuf.addr, vbuf.addr, count, fd)
    return attr


def _read_batched(fd: int, spec: MapSpec) -> list[Entry] | None:
    """All entries via LOOKUP_BATCH; None when the kernel cannot batch this map."""
    count = max(BATCH_MIN, min(spec.max_entries, BATCH_MAX))
    vsize, ksize = value_buffer_size(spec), spec.key_size
    token = [sc.Buffer(max(ksize, 8)), sc.Buffer(max(ksize, 8))]
    out: list[Entry] = []
    first = True
    while True:
        kbuf, vbuf = sc.Buffer(count * ksize), sc.Buffer(count * vsize)
        attr = _batch_attr(fd, 0 if first else token[0].addr, token[1].addr, kbuf, vbuf, count)
        ret, err = sc.bpf_errno(MAP_LOOKUP_BATCH, attr)
        if ret < 0 and err == errno.ENOSPC and count < (1 << 20):
            count *= 4
            continue
        if ret < 0 and err not in (errno.ENOENT,):
            if first and err in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
                return None
            raise _fail(spec, "read", err)
        got = struct.unpack_from("<I", attr, 32)[0]
        kraw, vraw = kbuf.bytes(), vbuf.bytes()
        for i in range(got):
            out.append((kraw[i * ksize:(i + 1) * ksize],
                        _split(spec, vraw[i * vsize:(i + 1) * vsize])))
        if ret < 0:  # ENOENT: that was the last batch
            return out
        token.reverse()
        first = False


def read_all(fd: int, spec: MapSpec) -> list[Entry]:
    """Every (key bytes, per-CPU value bytes) of the map."""
    if spec.kind in (MapKind.RINGBUF, MapKind.PERF_EVENT_ARRAY):
        raise RuntimeFailure(f"map {spec.name} ({spec.kind.name}) cannot be read as a table")
    if spec.kind != MapKind.STACK_TRACE:
        batched = _read_batched(fd, spec)
        if batched is not None:
            return batched
    return _read_by_keys(fd, spec)


def clear(fd: int, spec: MapSpec) -> None:
    """Remove every key (array maps cannot delete: their values are zeroed)."""
    if spec.kind.is_array:
        zero(fd, spec)
        return
    for k in keys(fd, spec):
        delete(fd, k, spec)


def zero(fd: int, spec: MapSpec) -> None:
    """Write a zero value for every existing key."""
    blank = bytes(spec.value_size)
    ks = ([struct.pack("<I", i) for i in range(spec.max_entries)] if spec.kind.is_array
          else keys(fd, spec))
    for k in ks:
        try:
            update(fd, spec, k, blank, flags=sc.BPF_ANY if spec.kind.is_array else 2)
        except RuntimeFailure:
            if spec.kind.is_array:
                raise  # hash keys may vanish meanwhile (BPF_EXIST fails): ignore those


def read_lost(fd: int) -> int:
    """The PERCPU_ARRAY `__lost` counter (u64 at index 0), summed over CPUs."""
    spec = MapSpec("__lost", "__lost", MapKind.PERCPU_ARRAY, 4, 8, 1)
    vals = lookup(fd, spec, b"\0\0\0\0") or []
    return sum(struct.unpack("<Q", v)[0] for v in vals)
