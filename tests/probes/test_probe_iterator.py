"""iter attach points: names checked against kernel BTF, pins, the context's guard."""

from __future__ import annotations

import pytest

from pytrace.probes import ProbeError, expand
from pytrace.probes.iterator import context_struct, guard_offset, pin_path

needs_btf = pytest.mark.skipif(context_struct("task") is None, reason="no kernel BTF")


@needs_btf
def test_targets() -> None:
    (t,) = expand("iter:task")
    assert (t.kind, t.name, int(t.prog_type)) == ("iter", "iter:task", 26)
    assert t.attach == {"iter": "task", "guard": 8}
    (f,) = expand("it:task_file:files")
    assert f.name == "iter:task_file:files" and f.attach["pin"] == "/sys/fs/bpf/files"
    assert f.attach["guard"] == 24  # meta, task, fd, file: file is NULL at the end
    (v,) = expand("iter:task_vma:/sys/fs/bpf/vmas")
    assert v.attach["pin"] == "/sys/fs/bpf/vmas" and v.attach["guard"] == 16


@needs_btf
def test_context_struct_members() -> None:
    s = context_struct("task_file")
    assert s is not None and s.name == "struct bpf_iter__task_file"
    assert s.field("fd") is not None and s.field("task") is not None
    assert guard_offset(s) == 24


@pytest.mark.parametrize(("point", "message"), [
    ("iter:nosuch", "iter nosuch not available for your kernel version."),
    ("iter:task*", "iter probe type does not support wildcards"),
    ("iter:", "iter should specify a iterator's name"),
    ("iter:task:a:b", "invalid iter attach point"),
])
def test_errors(point: str, message: str) -> None:
    with pytest.raises(ProbeError) as info:
        expand(point)
    assert info.value.message == message


def test_pin_path() -> None:
    assert pin_path("x") == "/sys/fs/bpf/x" and pin_path("/sys/fs/bpf/y/z") == "/sys/fs/bpf/y/z"
