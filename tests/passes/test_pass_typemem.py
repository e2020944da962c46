"""Address spaces of pointers made by casts (passes/typemem.py): a cast keeps the space
of the pointer its operand was computed from; with none, tracepoint code reads kernel
memory while uprobes keep their user default."""

from __future__ import annotations

from pytrace.passes.context import CheckedProgram
from pytrace.types import PtrT


def var(cp: CheckedProgram, name: str) -> PtrT:
    (t,) = [t for (_, n), t in cp.variables.items() if n == name]
    assert isinstance(t, PtrT), t
    return t


def space(t: PtrT) -> str:
    return "user" if t.user else "kernel" if t.kernel else "probe"


SYSCALL = "tracepoint:syscalls:sys_enter_openat"


def test_pointer_cast_keeps_the_kernel_mark(checked):
    cp = checked(f"{SYSCALL} {{ $t = (struct task_struct *)curtask; $p = $t->real_parent; }}")
    assert space(var(cp, "t")) == "kernel" and space(var(cp, "p")) == "kernel"


def test_pointer_cast_keeps_the_user_mark(checked):
    cp = checked(f"{SYSCALL} {{ $f = (uint8 *)args.filename; }}")
    assert space(var(cp, "f")) == "user"


def test_integer_computed_from_a_kernel_pointer(checked):
    cp = checked(f"{SYSCALL} {{ $m = curtask.fs.pwd.mnt;"
                 " $v = (uint64)$m - offsetof(struct mount, mnt);"
                 " $a = (struct mount *)$v;"
                 " $b = (struct mount *)(((uint64)$m) - 16); }")
    assert space(var(cp, "a")) == "kernel" and space(var(cp, "b")) == "kernel"


def test_integer_computed_from_a_user_pointer(checked):
    cp = checked(f"{SYSCALL} {{ $x = (uint64)args.filename + 1; $p = (uint8 *)$x; }}")
    assert space(var(cp, "p")) == "user"


def test_unmarked_integer_in_tracepoints_is_kernel(checked):
    cp = checked(f"{SYSCALL} {{ $p = (struct mount *)4096; }}"
                 " tracepoint:sched:sched_switch { $q = (struct task_struct *)args.prev_pid; }")
    assert space(var(cp, "p")) == "kernel" and space(var(cp, "q")) == "kernel"


def test_unmarked_integer_in_uprobes_keeps_the_probe_default(checked):
    cp = checked("uprobe:/bin/bash:readline { $p = (uint8 *)arg0; }")
    assert space(var(cp, "p")) == "probe"


def test_reassigning_a_pointer_of_another_space_keeps_its_type(checked):
    cp = checked(f"{SYSCALL} {{ $m = (struct mount *)4096; $p = (struct mount *)$m.mnt_parent;"
                 " $m = $p; $r = $m.mnt.mnt_root; }")
    assert var(cp, "m").pointee == var(cp, "p").pointee
    assert isinstance(var(cp, "r"), PtrT)
