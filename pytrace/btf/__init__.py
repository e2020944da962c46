"""Kernel BTF in pure Python: vmlinux and module BTF read lazily, indexed once per build.

`have_btf()` is a stat (no parsing); `kernel_btf()` opens the blobs on first use and
returns the same object afterwards. A program that needs no kernel type never calls it.
BPFTRACE_BTF (or `use_btf_file`, from Options.btf_path) names a BTF file read instead of
/sys/kernel/btf/vmlinux (then without module BTF); `check_btf_file` says why one cannot
be used. Such a file only describes types: every BTF id handed to the kernel (attach
ids, kernel variables) comes from `running_btf()`, the running kernel's own BTF
(`pytrace/btf/ids.py` looks them up by name).
"""

from __future__ import annotations

import os

from pytrace.btf.format import BtfFormatError
from pytrace.btf.kernel import SYSFS_BTF, KernelBtf, Ref

__all__ = ["BTF_ENV", "BtfFormatError", "KernelBtf", "Ref", "btf_file", "check_btf_file",
           "have_btf", "kernel_btf", "running_btf", "use_btf_file"]

BTF_ENV = "BPFTRACE_BTF"
_KERNEL: list[KernelBtf | None] = []
_FILE: list[str | None] = []  # the BTF file chosen by use_btf_file (else the environment)
_RUNNING: list[KernelBtf | None] = []  # the running kernel's, when _KERNEL is a file's


def btf_file() -> str | None:
    """The BTF file used instead of the kernel's, None for the kernel's own."""
    return _FILE[0] if _FILE else os.environ.get(BTF_ENV) or None


def use_btf_file(path: str | None) -> None:
    """Read types from `path` (None: the kernel's, or BPFTRACE_BTF) from now on."""
    if path is None and not _FILE or _FILE and _FILE[0] == path:
        return
    _FILE[:] = [path] if path is not None else []
    _KERNEL.clear()


def check_btf_file(path: str) -> str | None:
    """Why `path` cannot be used as a BTF file (None when it can)."""
    from pytrace.btf.format import MAGIC

    try:
        with open(path, "rb") as f:
            head = f.read(2)
    except OSError as exc:
        return exc.strerror or str(exc)
    if len(head) != 2 or int.from_bytes(head, "little") != MAGIC:
        return "not a BTF file"
    return None


def have_btf(root: str = SYSFS_BTF) -> bool:
    """True when BTF is available (the kernel's vmlinux BTF, or a BPFTRACE_BTF file)."""
    path = btf_file()
    if path is not None:
        return os.path.isfile(path)
    return os.path.exists(os.path.join(root, "vmlinux"))


def kernel_btf() -> KernelBtf | None:
    """The kernel's BTF (opened once per process), None when it has none."""
    if not _KERNEL:
        try:
            path = btf_file()
            _KERNEL.append(KernelBtf(vmlinux=path) if have_btf() else None)
        except (OSError, BtfFormatError):
            _KERNEL.append(None)
    return _KERNEL[0]


def running_btf() -> KernelBtf | None:
    """The running kernel's BTF (vmlinux and its modules), whatever BPFTRACE_BTF names:
    where the ids the kernel is given come from. None when the kernel has none."""
    if btf_file() is None:
        return kernel_btf()
    if not _RUNNING:
        try:
            vmlinux = os.path.join(SYSFS_BTF, "vmlinux")
            _RUNNING.append(KernelBtf() if os.path.exists(vmlinux) else None)
        except (OSError, BtfFormatError):
            _RUNNING.append(None)
    return _RUNNING[0]
