"""What the listings take from kernel BTF: types (`-l 'struct x'`), raw tracepoint and
iterator parameters (`-lv`), and the iterators the kernel has.

HOOK: the BTF reader is the types developer's `pytrace.btf` package. Every use of it
goes through this module and degrades when it is absent: types cannot be listed (one
clear error), raw tracepoints and iterators are listed without their parameters, and
the iterators are found by name in the BTF string table.
"""

from __future__ import annotations

import importlib.util
import re
import struct
from functools import lru_cache
from typing import Any

from pytrace.probes.base import ProbeError

VMLINUX_BTF = "/sys/kernel/btf/vmlinux"
ITER_STRUCT = "bpf_iter__"  # struct bpf_iter__task: the context of iterator `task`
ITER_FUNC = "bpf_iter_"  # int bpf_iter_task(struct bpf_iter_meta *, struct task_struct *)
# Known iterator arguments, for when BTF cannot be read (name -> `-lv` lines).
KNOWN_ITER_ARGS = {
    "task": ("struct task_struct * task",),
    "task_file": ("struct task_struct * task", "u32 fd", "struct file * file"),
    "task_vma": ("struct task_struct * task", "struct vm_area_struct * vma"),
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package is missing
        return False


def have_reader() -> bool:
    """Whether the types developer's BTF reader (pytrace.btf) is installed."""
    return _installed("pytrace.btf")


def btf_kernel() -> Any:
    """The kernel BTF (None without the reader or without BTF)."""
    if not have_reader():
        return None
    from pytrace.btf import kernel_btf

    return kernel_btf()


def type_lines(pattern: str, verbose: bool) -> list[str]:
    """`-l 'struct task_*'` / `-lv 'struct task_struct'` through pytrace.btf.listing."""
    if not _installed("pytrace.btf.listing"):
        raise ProbeError("type listings are not available: this pytrace has no BTF reader "
                         "(pytrace.btf)")
    from pytrace.btf.listing import type_listing

    return list(type_listing(pattern, verbose))


def _param_lines(ref: Any, skip_first: bool) -> list[str]:
    from pytrace.btf.cdecl import type_name

    params = list(ref.type.params)[1 if skip_first else 0:]
    out = []
    for name, type_id in params:
        text = type_name(ref.btf, type_id)
        out.append(f"{text} {name}" if name else text)
    return out


def rawtracepoint_params(event: str) -> list[str]:
    """The arguments of raw tracepoint `event` (its BTF prototype without the leading
    `void *` context); empty when BTF cannot tell."""
    kernel = btf_kernel()
    if kernel is None:
        return []
    proto = kernel.raw_tracepoint_proto(event)
    return _param_lines(proto, skip_first=True) if proto is not None else []


def function_params(func: str, module: str = "") -> list[str] | None:
    """`-lv` lines of a kernel function: each parameter, then `TYPE retval` when it
    returns a value (as bpftrace lists them); None when BTF does not have it."""
    from pytrace.btf.cdecl import type_name

    kernel = btf_kernel()
    ref = kernel.function(func, module) if kernel is not None else None
    if ref is None:
        return None
    proto = ref.btf.type(ref.type.ref)
    lines = _param_lines(type(ref)(ref.btf, proto.id), skip_first=False)
    if proto.ref:
        lines.append(f"{type_name(ref.btf, proto.ref)} retval")
    return lines


def iter_params(name: str) -> list[str]:
    """The context fields of iterator `name` (bpf_iter_NAME's parameters after meta)."""
    kernel = btf_kernel()
    proto = kernel.func_proto(ITER_FUNC + name) if kernel is not None else None
    if proto is None:
        return list(KNOWN_ITER_ARGS.get(name, ()))
    return _param_lines(proto, skip_first=True)


def iter_func_id(name: str) -> int | None:
    """The running kernel's BTF id of FUNC bpf_iter_NAME (what an iterator program
    attaches to; never a BPFTRACE_BTF file's)."""
    if not have_reader():
        return None
    from pytrace.btf import ids

    ref = ids.function(ITER_FUNC + name)
    return int(ref.id) if ref is not None else None


@lru_cache(maxsize=8)
def btf_strings(path: str = VMLINUX_BTF) -> bytes:
    """A BTF blob's string section (NUL-separated names of types and functions),
    framed by NULs so every name can be searched as b"\\0NAME\\0"."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        magic, _ver, _flags, hdr_len, _toff, _tlen, soff, slen = struct.unpack_from(
            "<HBBIIIII", data)
    except (OSError, struct.error):
        return b""
    if magic != 0xEB9F:
        return b""
    start = hdr_len + soff
    return b"\0" + data[start:start + slen] + b"\0"


def iterators() -> list[str]:
    """Iterator names this kernel's BTF defines (both the context struct and the
    bpf_iter_NAME function exist), sorted."""
    strings = btf_strings()
    names = {m.group(1).decode("ascii") for m in
             re.finditer(rb"\0" + ITER_STRUCT.encode() + rb"([A-Za-z0-9_]+)(?=\0)", strings)}
    return sorted(n for n in names if b"\0" + (ITER_FUNC + n).encode() + b"\0" in strings)
