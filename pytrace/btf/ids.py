"""BTF ids for the kernel: looked up by name in the running kernel's BTF.

The kernel knows its types by the ids of its own BTF (/sys/kernel/btf/vmlinux and the
modules'). When BPFTRACE_BTF names another BTF file, that file only describes types:
an fentry/fexit attach id, an iterator's `bpf_iter_NAME`, a kernel variable's id are
taken from the running kernel's BTF by name, and a name the running kernel does not
have is one clear error (`missing`).
"""

from __future__ import annotations

from pytrace.btf import btf_file, running_btf
from pytrace.btf import format as F
from pytrace.btf.kernel import Ref

NO_KERNEL_BTF = "the running kernel has no BTF (/sys/kernel/btf/vmlinux is missing)"


def function(name: str, module: str = "") -> Ref | None:
    """FUNC `name` of the running kernel (in `module`'s BTF when named), None if absent."""
    kernel = running_btf()
    return kernel.function(name, module) if kernel is not None else None


def function_ids(module: str = "vmlinux") -> dict[str, int]:
    """name -> FUNC id of every function of one of the running kernel's BTF blobs."""
    kernel = running_btf()
    return kernel.function_ids(module) if kernel is not None else {}


def variable(name: str) -> int | None:
    """The vmlinux BTF id of kernel variable `name` in the running kernel, or None."""
    kernel = running_btf()
    ref = kernel.find(name, (F.VAR,)) if kernel is not None else None
    return ref.id if ref is not None and kernel is not None and ref.btf is kernel.vmlinux \
        else None


def missing(what: str) -> str:
    """Why `what` (e.g. "function vfs_read") has no id: one line naming the BTF file
    when types come from one."""
    if running_btf() is None:
        return f"{what}: {NO_KERNEL_BTF}"
    path = btf_file()
    if path is None:
        return f"{what} is not in the kernel's BTF"
    return (f"{what} is not in the running kernel's BTF (/sys/kernel/btf/vmlinux); "
            f"BPFTRACE_BTF={path} describes it, but the kernel only knows its own ids")
