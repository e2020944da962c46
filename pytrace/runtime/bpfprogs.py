"""The BPF programs running on the machine, seen through bpf(2): what `fentry:bpf:...`
and `fexit:bpf:...` probes attach to and what `-l 'fentry:bpf:*'` lists.

Programs are walked with BPF_PROG_GET_NEXT_ID; each is opened by id
(BPF_PROG_GET_FD_BY_ID), asked for its `bpf_prog_info` (name, id, btf_id and the
func_info records: one (instruction, FUNC type id) per function, the main one first)
and closed again. A program's BTF is fetched the same way (BPF_BTF_GET_FD_BY_ID, then
BPF_OBJ_GET_INFO_BY_FD with a buffer of the blob's size). Every fd opened here is
closed before the function returns, whatever happens; a program that goes away
while it is being read is skipped.
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Iterator

from pytrace.frozen import frozen
from pytrace.runtime import syscalls as sc
from pytrace.runtime.errors import RuntimeFailure

PROG_GET_NEXT_ID = 11
BTF_GET_FD_BY_ID = 19
PROG_INFO_SIZE = 232  # struct bpf_prog_info up to attach_btf_id (Linux 5.x+)
BTF_INFO_SIZE = 32
FUNC_INFO_REC = 8  # struct bpf_func_info: insn_off, type_id
_NAME_OFF, _BTF_ID_OFF, _FUNC_REC_OFF, _FUNC_PTR_OFF, _NR_FUNC_OFF = 64, 128, 132, 136, 144


@frozen
class RunningProg:
    """One loaded BPF program: `name` is the kernel's (at most 15 characters),
    `btf_id` its BTF object (0: none), `func_types` the FUNC type id of each of its
    functions in that BTF (the main program first, then its sub-programs)."""

    id: int
    type: int
    name: str
    btf_id: int
    func_types: tuple[int, ...]


DENIED = ("cannot list running BPF programs: permission denied (needs root or "
          "CAP_SYS_ADMIN)")


def _next_id(start: int) -> int | None:
    attr = sc.new_attr()
    struct.pack_into("<I", attr, 0, start)
    rc, err = sc.bpf_errno(PROG_GET_NEXT_ID, attr)
    if rc != 0 and err == errno.EPERM:
        raise RuntimeFailure(DENIED)
    return struct.unpack_from("<I", attr, 4)[0] if rc == 0 else None


def prog_ids() -> Iterator[int]:
    """The id of every loaded program, in increasing order (RuntimeFailure without the
    privilege to walk them)."""
    current = 0
    while (found := _next_id(current)) is not None:
        yield found
        current = found


def prog_fd(prog_id: int) -> int:
    """An fd of program `prog_id` (the caller closes it); -errno when it cannot be had."""
    attr = sc.new_attr()
    struct.pack_into("<I", attr, 0, prog_id)
    fd, err = sc.bpf_errno(sc.PROG_GET_FD_BY_ID, attr)
    return fd if fd >= 0 else -err


def _info(fd: int, func_buf: sc.Buffer | None = None, nr_funcs: int = 0) -> bytes | None:
    info = sc.Buffer(PROG_INFO_SIZE)
    if func_buf is not None:
        struct.pack_into("<IQI", info.raw, _FUNC_REC_OFF, FUNC_INFO_REC, func_buf.addr, nr_funcs)
    attr = sc.new_attr()
    struct.pack_into("<IIQ", attr, 0, fd, PROG_INFO_SIZE, info.addr)
    rc, _err = sc.bpf_errno(sc.OBJ_GET_INFO_BY_FD, attr)
    return info.bytes() if rc == 0 else None


def prog_info(fd: int) -> RunningProg | None:
    """The program behind `fd` with its functions' FUNC ids (None: not a program)."""
    first = _info(fd)
    if first is None:
        return None
    ptype, pid = struct.unpack_from("<II", first, 0)
    name = first[_NAME_OFF:_NAME_OFF + 16].split(b"\0", 1)[0].decode("utf-8", "replace")
    btf_id = struct.unpack_from("<I", first, _BTF_ID_OFF)[0]
    count = struct.unpack_from("<I", first, _NR_FUNC_OFF)[0]
    types: tuple[int, ...] = ()
    if btf_id and count:
        buf = sc.Buffer(FUNC_INFO_REC * count)
        second = _info(fd, buf, count)
        if second is not None:
            rec = struct.unpack_from("<I", second, _FUNC_REC_OFF)[0] or FUNC_INFO_REC
            got = min(count, struct.unpack_from("<I", second, _NR_FUNC_OFF)[0])
            raw = buf.bytes()
            types = tuple(struct.unpack_from("<I", raw, i * rec + 4)[0] for i in range(got)
                          if (i + 1) * rec <= len(raw))
    return RunningProg(pid, ptype, name, btf_id, types)


def running_programs() -> list[RunningProg]:
    """Every loaded program that can still be opened, by id. EPERM (no CAP_SYS_ADMIN)
    is one clear error; programs unloaded meanwhile are skipped."""
    out = []
    for pid in prog_ids():
        fd = prog_fd(pid)
        if fd == -errno.EPERM:
            raise RuntimeFailure(DENIED)
        if fd < 0:
            continue
        try:
            found = prog_info(fd)
        finally:
            sc.close_fd(fd)
        if found is not None:
            out.append(found)
    return out


def _btf_info(fd: int, data: sc.Buffer | None = None, size: int = 0) -> tuple[int, int] | None:
    info = sc.Buffer(BTF_INFO_SIZE)
    if data is not None:
        struct.pack_into("<QI", info.raw, 0, data.addr, size)
    attr = sc.new_attr()
    struct.pack_into("<IIQ", attr, 0, fd, BTF_INFO_SIZE, info.addr)
    rc, _err = sc.bpf_errno(sc.OBJ_GET_INFO_BY_FD, attr)
    if rc != 0:
        return None
    btf_size, _id = struct.unpack_from("<II", info.raw, 8)
    kernel = struct.unpack_from("<I", info.raw, 28)[0]
    return btf_size, kernel


def btf_blob(btf_id: int) -> bytes | None:
    """The raw BTF of BTF object `btf_id` (a program's), None when it is gone."""
    attr = sc.new_attr()
    struct.pack_into("<I", attr, 0, btf_id)
    fd, _err = sc.bpf_errno(BTF_GET_FD_BY_ID, attr)
    if fd < 0:
        return None
    try:
        first = _btf_info(fd)
        if first is None or not first[0]:
            return None
        data = sc.Buffer(first[0])
        second = _btf_info(fd, data, first[0])
        return data.bytes(min(first[0], second[0])) if second is not None else None
    finally:
        sc.close_fd(fd)


def target_prog_fd(prog_id: int, btf_id: int, probe_name: str) -> int:
    """An fd of the program an fentry:bpf/fexit:bpf probe attaches to (BPF_PROG_LOAD's
    attach_prog_fd; the caller closes it). The program must still be the one the probe
    was compiled against (same id, same BTF object): else one clear error."""
    fd = prog_fd(prog_id)
    if fd < 0:
        raise RuntimeFailure(f"cannot attach {probe_name}: BPF program {prog_id} is no longer "
                             "loaded")
    found = prog_info(fd)
    if found is None or found.btf_id != btf_id:
        sc.close_fd(fd)
        raise RuntimeFailure(f"cannot attach {probe_name}: BPF program {prog_id} is not the "
                             "program it was compiled for (its BTF changed)")
    return fd
