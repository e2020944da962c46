"""`-l 'struct ...'` / `-lv` listings, in bpftrace's format."""

from __future__ import annotations

from pytrace.btf.listing import is_type_pattern, type_listing


def test_type_patterns() -> None:
    assert is_type_pattern("struct task_*") and is_type_pattern("enum x")
    assert not is_type_pattern("tracepoint:sched:*") and not is_type_pattern("struct")


def test_names_only(kernel) -> None:  # type: ignore[no-untyped-def]
    lines = type_listing("struct task_*", False)
    assert "struct task_struct" in lines and lines == sorted(lines)
    assert all(x.startswith("struct task_") for x in lines)
    assert type_listing("struct task_struct", False) == ["struct task_struct"]
    assert type_listing("struct no_such_type_anywhere", False) == []
    assert "union" not in " ".join(type_listing("struct *", False)[:50])


def test_verbose_definition(kernel) -> None:  # type: ignore[no-untyped-def]
    lines = type_listing("struct list_head", True)
    assert lines == ["vmlinux: struct list_head {", "\tstruct list_head *next;",
                     "\tstruct list_head *prev;", "};", ""]
    task = type_listing("struct task_struct", True)
    assert task[0] == "vmlinux: struct task_struct {" and "\tchar comm[16];" in task
    assert task[-2:] == ["};", ""]
    enum = type_listing("enum cpu_usage_stat", True)
    assert enum[0] == "vmlinux: enum cpu_usage_stat {" and "\tCPUTIME_USER = 0," in enum
