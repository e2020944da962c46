"""Running iter probes: a BPF_TRACE_ITER link per iterator program, then either an
iterator fd read to its end (the program's bpf_seq_printf output) or the link pinned
under /sys/fs/bpf, where reading the file runs the iteration again.

The program's attach BTF id (FUNC `bpf_iter_NAME`) is looked up in the running
kernel's BTF at load time, so a compiled object does not depend on one kernel build.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import struct
from collections.abc import Callable, Iterable

from pytrace.resources import ProbeSpec
from pytrace.runtime import syscalls as sc
from pytrace.runtime.errors import FeatureUnavailable, RuntimeFailure
from pytrace.runtime.mounts import ensure

BPF_FS = "/sys/fs/bpf"

BPF_OBJ_PIN = 6
BPF_ITER_CREATE = 33
BPF_TRACE_ITER = 28
READ_SIZE = 1 << 16


def btf_id(name: str) -> int:
    """The BTF id of FUNC bpf_iter_NAME in the running kernel (never a BPFTRACE_BTF
    file's: the kernel attaches by its own ids)."""
    from pytrace.btf import ids

    ref = ids.function(f"bpf_iter_{name}")
    if ref is None:
        raise FeatureUnavailable(f"iter {name} not available for your kernel version.")
    return int(ref.id)


def with_btf_ids(probes: Iterable[ProbeSpec]) -> list[ProbeSpec]:
    """The probes, each iterator program given the BTF id it attaches to."""
    out = []
    for p in probes:
        if p.kind == "iter" and "btf_id" not in p.attach:
            p = dataclasses.replace(p, attach={**p.attach, "btf_id": btf_id(str(p.attach["iter"]))},
                                    expected_attach_type=BPF_TRACE_ITER)
        out.append(p)
    return out


def link(spec: ProbeSpec, prog_fd: int) -> int:
    """A BPF_TRACE_ITER link for a loaded iterator program."""
    attr = sc.new_attr()
    struct.pack_into("<III", attr, 0, prog_fd, 0, BPF_TRACE_ITER)
    try:
        return sc.bpf(sc.LINK_CREATE, attr, "BPF_LINK_CREATE")
    except OSError as exc:
        raise RuntimeFailure(f"Error attaching probe: '{spec.name}': "
                             f"{os.strerror(exc.errno or 0)}") from None


def read_all(link_fd: int, write: Callable[[str], None]) -> None:
    """Create an iterator from the link and pass its output on until it ends."""
    attr = sc.new_attr()
    struct.pack_into("<I", attr, 0, link_fd)
    try:
        fd = sc.bpf(BPF_ITER_CREATE, attr, "BPF_ITER_CREATE")
    except OSError as exc:
        raise RuntimeFailure(f"cannot create the iterator: {os.strerror(exc.errno or 0)}") \
            from None
    try:
        while True:
            try:
                chunk = os.read(fd, READ_SIZE)
            except InterruptedError:
                continue
            except OSError as exc:
                raise RuntimeFailure(f"reading the iterator failed: {exc.strerror}") from None
            if not chunk:
                return
            write(chunk.decode("utf-8", "replace"))
    finally:
        os.close(fd)


def pin(link_fd: int, path: str) -> None:
    """Pin the iterator link at `path` (under a bpf filesystem: /sys/fs/bpf is mounted
    when it is missing, as bpftool does)."""
    if path.startswith(BPF_FS + "/"):
        why = ensure("bpf", BPF_FS)
        if why is not None:
            raise RuntimeFailure(f"Failed to pin iterator to {path}: {why}")
    name = sc.cstr(path)
    attr = sc.new_attr()
    struct.pack_into("<QI", attr, 0, name.addr, link_fd)
    try:
        sc.bpf(BPF_OBJ_PIN, attr, "BPF_OBJ_PIN")
    except OSError as exc:
        reason = os.strerror(exc.errno or 0)
        if exc.errno == errno.EEXIST:
            reason += " (remove it first)"
        elif exc.errno in (errno.EPERM, errno.ENOENT, errno.EINVAL):
            reason += f" (is a bpf filesystem mounted at {os.path.dirname(path)}?)"
        raise RuntimeFailure(f"Failed to pin iterator to {path}: {reason}") from None


def run(spec: ProbeSpec, link_fd: int, write: Callable[[str], None]) -> None:
    """Run one attached iterator: read it to its end, or pin it and say where."""
    path = spec.attach.get("pin")
    if path:
        pin(link_fd, str(path))
        write(f"Program pinned to {path}\n")
    else:
        read_all(link_fd, write)
