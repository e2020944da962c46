"""BTF ids for the kernel come from the running kernel's BTF, by name, also when
BPFTRACE_BTF names another file (which then only describes types)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from btfbuild import BtfBuilder

from pytrace.btf import format as F
from pytrace.btf import ids, kernel_btf, running_btf, use_btf_file
from pytrace.btf.kernel import KernelBtf


@pytest.fixture
def other_file(tmp_path: Path, kernel: KernelBtf) -> Iterator[str]:
    b = BtfBuilder()
    i32 = b.int_("int", 4, signed=True)
    b.func("vfs_read", b.func_proto(i32, []))
    b.var("process_counts", i32)
    path = tmp_path / "other.btf"
    path.write_bytes(b.blob())
    use_btf_file(str(path))
    yield str(path)
    use_btf_file(None)


def test_without_a_file_the_running_kernel_is_the_types_btf(kernel: KernelBtf) -> None:
    assert running_btf() is kernel_btf()
    assert ids.missing("function nope") == "function nope is not in the kernel's BTF"


def test_with_a_file_ids_are_the_running_kernel_s(other_file: str, kernel: KernelBtf) -> None:
    types = kernel_btf()
    assert types is not None and types.function("vfs_read").id == 3  # the file's (after the prototype)
    ref = ids.function("vfs_read")
    assert ref is not None and ref.id == kernel.function("vfs_read").id
    var = ids.variable("process_counts")
    assert var is not None and var == kernel.find("process_counts", (F.VAR,)).id
    assert "vfs_read" in ids.function_ids() and ids.function("pytrace_nope") is None
    assert ids.missing("function pytrace_nope") == (
        "function pytrace_nope is not in the running kernel's BTF (/sys/kernel/btf/vmlinux); "
        f"BPFTRACE_BTF={other_file} describes it, but the kernel only knows its own ids")
