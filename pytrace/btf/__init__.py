"""Kernel BTF in pure Python: vmlinux and module BTF read lazily, indexed once per build.

`have_btf()` is a stat (no parsing); `kernel_btf()` opens the blobs on first use and
returns the same object afterwards. A program that needs no kernel type never calls it.
"""

from __future__ import annotations

import os

from pytrace.btf.format import BtfFormatError
from pytrace.btf.kernel import SYSFS_BTF, KernelBtf, Ref

__all__ = ["BtfFormatError", "KernelBtf", "Ref", "have_btf", "kernel_btf"]

_KERNEL: list[KernelBtf | None] = []


def have_btf(root: str = SYSFS_BTF) -> bool:
    """True when the running kernel exposes vmlinux BTF."""
    return os.path.exists(os.path.join(root, "vmlinux"))


def kernel_btf() -> KernelBtf | None:
    """The running kernel's BTF (opened once per process), None when it has none."""
    if not _KERNEL:
        try:
            _KERNEL.append(KernelBtf() if have_btf() else None)
        except (OSError, BtfFormatError):
            _KERNEL.append(None)
    return _KERNEL[0]
