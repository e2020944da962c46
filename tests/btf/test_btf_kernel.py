"""KernelBtf: names in vmlinux and module BTF, functions, tracepoint types, globs."""

from __future__ import annotations

from pathlib import Path

from btfbuild import BtfBuilder

from pytrace.btf import format as F
from pytrace.btf.kernel import KernelBtf, split_name


def _fake_sysfs(tmp_path: Path) -> Path:
    """A /sys/kernel/btf with vmlinux and one module whose split BTF adds a struct."""
    b = BtfBuilder()
    i = b.int_("int", 4, signed=True)
    task = b.struct("task_struct", 8, [("pid", i, 0, 0), ("tgid", i, 32, 0)])
    b.typedef("pid_t", i)
    b.fwd("mod_only")
    b.enum("state", 4, [("RUNNING", 0)])
    proto = b.func_proto(i, [("t", b.ptr(task))])
    b.func("wake_up", proto)
    stub = b.func_proto(0, [("__data", b.ptr(0)), ("p", b.ptr(task))])
    b.func("__probestub_sched_wake", stub)
    tp = b.func_proto(0, [("", b.ptr(0)), ("", b.ptr(task))])
    b.typedef("btf_trace_sched_fork", b.ptr(tp))
    b.struct("trace_event_raw_sched_wake", 8, [("pid", i, 0, 0)])
    root = tmp_path / "btf"
    root.mkdir()
    (root / "vmlinux").write_bytes(b.blob())
    m = BtfBuilder(base=b)
    m.struct("mod_only", 4, [("x", i, 0, 0)])
    m.struct("task_extra", 4, [("y", i, 0, 0)])
    m.func("mod_fn", m.func_proto(i, [("x", i), ("", m.ptr(task))]))
    (root / "mymod").write_bytes(m.blob())
    return root


def test_split_name() -> None:
    assert split_name("struct  task_struct") == ("task_struct", (F.STRUCT,))
    assert split_name("enum x")[1] == (F.ENUM, F.ENUM64)
    assert split_name("unsigned  int")[0] == "unsigned int"


def test_lookups_in_vmlinux_then_modules(tmp_path: Path) -> None:
    k = KernelBtf(str(_fake_sysfs(tmp_path)))
    assert k.find("struct task_struct").type.name == "task_struct"
    assert k.find("task_struct").type.kind == F.STRUCT
    assert k.find("pid_t").type.kind == F.TYPEDEF
    assert k.find("enum state").type.kind == F.ENUM
    assert k._modules is None  # vmlinux answered: module BTF never opened
    assert k.find("union task_struct") is None
    ref = k.find("struct mod_only")  # only a fwd in vmlinux; defined in the module
    assert ref is not None and ref.module == "mymod" and ref.type.members[0].name == "x"
    assert k.find("struct nothing") is None


def test_functions_and_tracepoints(tmp_path: Path) -> None:
    k = KernelBtf(str(_fake_sysfs(tmp_path)))
    proto = k.func_proto("wake_up")
    assert proto is not None and proto.type.params[0][0] == "t"
    assert k.func_proto("nope") is None
    assert k.tracepoint_struct("sched_wake").type.members[0].name == "pid"
    named = k.raw_tracepoint_proto("sched_wake")  # from the named stub
    assert [n for n, _ in named.type.params] == ["__data", "p"]
    typedef_only = k.raw_tracepoint_proto("sched_fork")  # from btf_trace_<name>
    assert typedef_only is not None and len(typedef_only.type.params) == 2
    assert k.raw_tracepoint_proto("nope") is None


def test_glob_names(tmp_path: Path) -> None:
    k = KernelBtf(str(_fake_sysfs(tmp_path)))
    assert [n for n, _ in k.names("struct task*")] == ["struct task_extra", "struct task_struct"]
    assert [n for n, _ in k.names("enum *")] == ["enum state"]
    assert [r.module for n, r in k.names("struct *") if n == "struct mod_only"] == ["mymod"]
    assert k.names("union *") == []


def test_real_kernel_lookups(kernel) -> None:  # type: ignore[no-untyped-def]
    assert kernel.find("struct task_struct").type.size > 1000
    assert kernel.find("u64").type.kind == F.TYPEDEF
    assert kernel.find("unsigned int").type.kind == F.INT
    assert kernel.func_proto("do_sys_openat2") is not None
    assert kernel.tracepoint_struct("sched_switch") is not None
    proto = kernel.raw_tracepoint_proto("sched_switch")
    assert proto is not None and [n for n, _ in proto.type.params][2:4] == ["prev", "next"]
    assert "struct task_struct" in [n for n, _ in kernel.names("struct task_*")]


def test_functions_of_a_module(tmp_path: Path) -> None:
    """fentry:MODULE:FUNC finds FUNC in that module's split BTF only."""
    k = KernelBtf(str(_fake_sysfs(tmp_path)))
    ref = k.function("mod_fn", "mymod")
    assert ref is not None and ref.module == "mymod" and ref.type.kind == F.FUNC
    assert k.function("mod_fn", "vmlinux") is None
    assert k.function("mod_fn") is not None  # unqualified: vmlinux, then modules
    assert k.function("wake_up", "mymod") is None
    assert k.function("wake_up", "vmlinux") is not None
    assert k.function("mod_fn", "othermod") is None
    assert k.has_module("mymod") and k.has_module("vmlinux") and not k.has_module("x")


def test_function_ids_are_one_walk(tmp_path: Path) -> None:
    k = KernelBtf(str(_fake_sysfs(tmp_path)))
    ids = k.function_ids("vmlinux")
    assert set(ids) == {"wake_up", "__probestub_sched_wake"}
    assert k.function_ids("mymod") == {"mod_fn": k.function("mod_fn", "mymod").id}
    assert k.function("wake_up", "vmlinux").id == ids["wake_up"]  # answered from the table


def test_kernel_function_prototype_of_a_module(tmp_path: Path) -> None:
    from pytrace.btf.types import BtfTypes
    from pytrace.types import IntT, PtrT

    fn = BtfTypes(KernelBtf(str(_fake_sysfs(tmp_path)))).kernel_function("mod_fn", "mymod")
    assert fn is not None and fn.module == "mymod" and fn.ret == IntT(32, True)
    assert [n for n, _ in fn.params] == ["x", "arg1"]  # unnamed parameters are argN
    assert isinstance(fn.params[1][1], PtrT)
