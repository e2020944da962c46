"""The iter probe kind: `iter:NAME` and `iter:NAME:PIN` (`it:`), BPF iterators over
kernel objects (task, task_file, task_vma, and every other one the kernel's BTF has).

An iterator program is a BPF_PROG_TYPE_TRACING program (expected attach type
BPF_TRACE_ITER) attached to the BTF function `bpf_iter_NAME`; its context is `struct
bpf_iter__NAME` (`ctx.task`, `ctx.file`, `ctx.meta`...). The kernel runs it once per
object and once more at the end with the object pointers NULL: the target records the
offset of the context's last pointer (`guard`) so that codegen skips that last call.
PIN is a file under /sys/fs/bpf (relative to it unless absolute).
"""

from __future__ import annotations

from functools import lru_cache

from pytrace.probes.base import ProbeContext, ProbeError, has_wildcard
from pytrace.probes.target import ProbeTarget
from pytrace.resources import ProgType
from pytrace.types import PtrT, StructT, Type

ITER_STRUCT = "struct bpf_iter__"
BPF_FS = "/sys/fs/bpf"


def _flat(s: StructT, base: int = 0) -> list[tuple[str, Type, int]]:
    """Named members with their offsets, anonymous struct/union members opened."""
    out: list[tuple[str, Type, int]] = []
    for name, t, off in s.fields:
        if not name and isinstance(t, StructT):
            out.extend(_flat(t, base + off))
        else:
            out.append((name, t, base + off))
    return out


@lru_cache(maxsize=32)
def context_struct(name: str) -> StructT | None:
    """`struct bpf_iter__NAME` from kernel BTF (None when the kernel has no such
    iterator, or no BTF)."""
    from pytrace.btf import kernel_btf
    from pytrace.btf.types import BtfTypes

    kernel = kernel_btf()
    if kernel is None or kernel.func(f"bpf_iter_{name}") is None:
        return None
    t = BtfTypes(kernel).lookup(ITER_STRUCT + name)
    return t if isinstance(t, StructT) else None


def guard_offset(ctx_type: StructT) -> int:
    """Where the context's last object pointer is (NULL on the final call)."""
    pointers = [off for name, t, off in _flat(ctx_type) if isinstance(t, PtrT) and name != "meta"]
    return pointers[-1] if pointers else 8


def pin_path(pin: str) -> str:
    return pin if pin.startswith("/") else f"{BPF_FS}/{pin}"


def parse_iter(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    if not parts or not parts[0]:
        raise ProbeError("iter should specify a iterator's name", "e.g. iter:task")
    if len(parts) > 2 or (len(parts) == 2 and not parts[1]):
        raise ProbeError("invalid iter attach point", "expected iter:NAME[:PIN]")
    name = parts[0]
    if has_wildcard(name):
        raise ProbeError("iter probe type does not support wildcards",
                         "list the iterators with: pytrace -l 'iter:*'")
    ctx_type = context_struct(name)
    if ctx_type is None:
        raise ProbeError(f"iter {name} not available for your kernel version.",
                         "list the iterators with: pytrace -l 'iter:*'")
    attach: dict[str, str | int] = {"iter": name, "guard": guard_offset(ctx_type)}
    if len(parts) == 2:
        attach["pin"] = pin_path(parts[1])
    full = f"iter:{name}" + (f":{parts[1]}" if len(parts) == 2 else "")
    return [ProbeTarget("iter", full, ProgType.TRACING, attach)]
