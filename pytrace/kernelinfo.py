"""Facts about the running kernel that some builtins compile in: kernel symbol
addresses (/proc/kallsyms), task_struct member offsets, enumerator values, kernel
function and per-CPU variable names (kernel BTF, through pytrace.btf, opened only when
a program needs it)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytrace.btf.types import BtfTypes

KALLSYMS = "/proc/kallsyms"


class KernelInfoError(Exception):
    """A kernel fact cannot be found (the message says which)."""


@cache
def kernel_symbols() -> dict[str, int]:
    """Name -> address of every symbol /proc/kallsyms shows (the first wins)."""
    out: dict[str, int] = {}
    try:
        with open(KALLSYMS) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[2] not in out:
                    out[parts[2]] = int(parts[0], 16)
    except OSError:
        pass
    return out


def kernel_symbol(name: str) -> int | None:
    """The address of kernel symbol `name`, or None (unknown, or addresses hidden)."""
    addr = kernel_symbols().get(name)
    return addr if addr else None


@cache
def _btf() -> BtfTypes | None:
    from pytrace.btf import kernel_btf
    from pytrace.btf.types import BtfTypes

    kernel = kernel_btf()
    return BtfTypes(kernel) if kernel is not None else None


def struct_offset(struct_name: str, member: str) -> int:
    """The byte offset of `member` in kernel struct `struct_name` (KernelInfoError if
    the kernel's BTF does not describe it)."""
    from pytrace.types import StructT

    btf = _btf()
    s = btf.lookup(f"struct {struct_name}") if btf is not None else None
    if isinstance(s, StructT):
        for name, _t, offset in s.fields:
            if name == member:
                return offset
    raise KernelInfoError(f"kernel BTF has no member '{member}' in struct {struct_name}")


def enumerator(name: str) -> int | None:
    btf = _btf()
    found = btf.enumerator(name) if btf is not None else None
    return found[1] if found is not None else None


def kernel_function_exists(name: str) -> bool:
    btf = _btf()
    return btf is not None and btf.func(name) is not None


def percpu_variable(name: str) -> int | None:
    """The running kernel's vmlinux BTF id of kernel variable `name` (vmlinux BTF
    describes the per-CPU variables; the id is what the kernel is given, so never a
    BPFTRACE_BTF file's), or None."""
    from pytrace.btf import ids

    return ids.variable(name)
