"""Tests for pytrace.repl.fields: `args.` fields and struct members for completion."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pytest

from pytrace.repl import fields
from pytrace.repl.fields import Fields

STRUCTS = {
    "struct task_struct": {"pid": "pid_t", "mm": "struct mm_struct *", "comm": "char[16]"},
    "struct mm_struct": {"mmap_base": "unsigned long", "owner": "struct task_struct *"},
    "struct file": {"f_path": "struct path", "f_flags": "unsigned int"},
    "struct path": {"dentry": "struct dentry *"},
}


def members(ctype: str) -> dict[str, str]:
    name = " ".join(ctype.replace("*", " ").replace("const", " ").split())
    return STRUCTS.get(name, {})


def args(points: Sequence[str]) -> dict[str, str]:
    return {"filename": "const char *", "file": "struct file *"} if points else {}


def f(text: str = "") -> Fields:
    return Fields(["t:x:y"], text, args, members)


def test_args_and_curtask_and_chains() -> None:
    assert set(f().after("args")) == {"filename", "file"}
    assert set(f().after("curtask")) == {"pid", "mm", "comm"}
    assert set(f().after("curtask->mm")) == {"mmap_base", "owner"}
    assert set(f().after("curtask->mm->owner")) == {"pid", "mm", "comm"}
    assert set(f().after("args.file->f_path")) == {"dentry"}
    assert f().after("curtask->pid") == {}  # not a struct
    assert f().after("nothing") == {}


def test_casts_parentheses_and_variables() -> None:
    assert set(f().after("((struct file *)arg0)")) == {"f_path", "f_flags"}
    assert set(f().after("(curtask->mm)")) == {"mmap_base", "owner"}
    text = "BEGIN { $t = (struct task_struct *)arg0; $m = $t->mm; $m->"
    assert set(f(text).after("$t")) == {"pid", "mm", "comm"}
    assert set(f(text).after("$m")) == {"mmap_base", "owner"}
    assert f("BEGIN { $n = 1; ").after("$n") == {}


def test_deep_recursion_is_bounded() -> None:
    assert f("BEGIN { $a = $a; ").after("$a") == {}


def _have_tracefs() -> bool:
    return os.path.exists("/sys/kernel/tracing/events/syscalls/sys_enter_openat/format")


@pytest.mark.skipif(not _have_tracefs(), reason="tracefs is not readable here")
def test_tracepoint_fields_from_the_format_files() -> None:
    got = fields.args_fields(["tracepoint:syscalls:sys_enter_openat"])
    assert {"dfd", "filename", "flags", "mode"} <= set(got)
    assert "common_pid" not in got
    assert got["filename"].endswith("*")
    # a glob and several points offer what every tracepoint has
    assert set(fields.args_fields(["t:syscalls:sys_enter_openat*"])) >= {"dfd", "filename"}
    both = fields.args_fields(["t:syscalls:sys_enter_openat", "t:syscalls:sys_enter_read"])
    assert "__syscall_nr" in both and "filename" not in both
    assert fields.args_fields(["t:syscalls:no_such_event"]) == {}
    assert fields.args_fields(["interval:s:1"]) == {}


def test_btf_members_of_the_kernel() -> None:
    pytest.importorskip("pytrace.btf")
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        pytest.skip("no kernel BTF")
    got = fields.btf_members("struct task_struct")
    assert {"pid", "tgid", "comm", "mm"} <= set(got)
    assert "mm_struct" in got["mm"]


def test_structs_the_program_defines_come_first() -> None:
    text = "struct conn { int fd; char name[16]; struct conn *next; }\nBEGIN { "
    got = Fields([], text, args, members).after("((struct conn *)arg0)")
    assert got == {"fd": "int", "name": "char[16]", "next": "struct conn *"}
    assert set(Fields([], text, args, members).after("((struct conn *)arg0)->next")) == {
        "fd", "name", "next"}
    earlier = "struct pair { long a; long b; }"
    assert set(Fields([], "BEGIN { ", args, members, earlier).after(
        "((struct pair *)arg0)")) == {"a", "b"}
    assert fields.program_structs('BEGIN { printf("struct x { int y; }"); }') == {}


def test_fentry_parameters_from_btf() -> None:
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        pytest.skip("no kernel BTF")
    got = fields.args_fields(["fentry:vfs_read"])
    assert got == {"file": "struct file *", "buf": "char *", "count": "size_t",
                   "pos": "loff_t *"}
    assert fields.args_fields(["kretfunc:vmlinux:vfs_read"]) == got
    both = fields.args_fields(["fentry:vfs_read", "fexit:fget"])
    assert both == {}  # nothing in common
    assert fields.args_fields(["fentry:nosuch_pytrace_fn"]) == {}


def test_fentry_bpf_parameters_from_the_programs_btf(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytrace.btf.program import ProgramBtf
    from pytrace.probes import bpfprog
    from pytrace.runtime.elf import SubprogInfo
    from pytrace.runtime.loader import func_btf

    blob, ids = func_btf([SubprogInfo(0, "prog_0", True), SubprogInfo(9, "prog_0_for", False)],
                         "interval_s_1")
    funcs = [bpfprog.BpfFunction(12, 7, "interval_s_1", ids[0], True),
             bpfprog.BpfFunction(12, 7, "prog_0_for", ids[1], False)]
    monkeypatch.setattr(bpfprog, "bpf_functions", lambda: funcs)
    monkeypatch.setattr(bpfprog, "program_btf", lambda btf_id: ProgramBtf("p", blob))
    assert fields.args_fields(["fentry:bpf:interval_s_1"]) == {"ctx": "void *"}
    assert fields.args_fields(["fexit:bpf:12:prog_0_for"]) == {
        "map": "void *", "key": "void *", "value": "void *", "data": "void *"}
    assert fields.args_fields(["fentry:bpf:nosuch"]) == {}
    assert fields.args_fields(["fentry:bpf:*"]) == {}
