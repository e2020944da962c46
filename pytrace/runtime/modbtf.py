"""The kernel's BTF objects by name: an fentry/fexit program attached to a module's
function is loaded with that module's BTF object fd (attach_btf_obj_fd)."""

from __future__ import annotations

import struct

from pytrace.runtime import syscalls as sc
from pytrace.runtime.errors import FeatureUnavailable

BTF_GET_FD_BY_ID = 19
BTF_GET_NEXT_ID = 23
NAME_LEN = 64


def _next_id(start: int) -> int | None:
    attr = sc.new_attr()
    struct.pack_into("<I", attr, 0, start)
    rc, _err = sc.bpf_errno(BTF_GET_NEXT_ID, attr)
    return struct.unpack_from("<I", attr, 4)[0] if rc == 0 else None


def _fd_by_id(btf_id: int) -> int:
    attr = sc.new_attr()
    struct.pack_into("<I", attr, 0, btf_id)
    fd, _err = sc.bpf_errno(BTF_GET_FD_BY_ID, attr)
    return fd


def _kernel_name(fd: int) -> str | None:
    """The name of a kernel BTF object ('vmlinux', a module), None for a program's."""
    name = sc.Buffer(NAME_LEN)
    info = sc.Buffer(32)
    struct.pack_into("<QI", info.raw, 16, name.addr, NAME_LEN)
    attr = sc.new_attr()
    struct.pack_into("<IIQ", attr, 0, fd, 32, info.addr)
    rc, _err = sc.bpf_errno(sc.OBJ_GET_INFO_BY_FD, attr)
    if rc != 0 or not struct.unpack_from("<I", info.raw, 28)[0]:
        return None
    return name.raw.value.decode("utf-8", "replace")


def module_btf_fd(module: str) -> int:
    """An fd of the BTF object of kernel module `module` (the caller closes it)."""
    current: int | None = 0
    while (current := _next_id(current or 0)) is not None:
        fd = _fd_by_id(current)
        if fd < 0:
            continue  # unloaded meanwhile
        if _kernel_name(fd) == module:
            return fd
        sc.close_fd(fd)
    raise FeatureUnavailable(f"kernel module {module} has no BTF object loaded "
                             "(unloaded since the program was compiled?)")
