"""BPFTRACE_BTF: types come from another BTF file instead of /sys/kernel/btf/vmlinux
(a hand-built one here: a task_struct with only `pid`, at the kernel's offset, and a
struct the kernel does not have); a file that cannot be used is one clear error.

The BTF ids the kernel is given (fentry/fexit and iterator attach ids, kernel
variables) still come from the running kernel's BTF, by name: the file's functions
and variables have other ids (its first types), and a name only the file has is one
clear error."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import begin, run

from pytrace.btf import use_btf_file
from pytrace.btf.kernel import KernelBtf

sys.path.insert(0, str(Path(__file__).parent.parent / "btf"))
from btfbuild import BtfBuilder  # noqa: E402

ONLY_IN_FILE = "pytrace_only_in_this_btf"


@pytest.fixture
def btf_file(tmp_path: Path) -> Iterator[str]:
    pid_offset, size = (int(x) for x in begin(
        'printf("%d %d\\n", offsetof(struct task_struct, pid), '
        'sizeof(struct task_struct))').split()[:2])
    b = BtfBuilder()
    i32 = b.int_("int", 4, signed=True)
    ch = b.int_("char", 1, signed=True)
    b.struct("task_struct", size, [("pid", i32, pid_offset * 8, 0)])
    b.struct("only_here", 8, [("c", ch, 0, 0), ("x", i32, 32, 0)])
    # functions and a variable the kernel has, at ids unlike the kernel's, an iterator's
    # context struct, and a function only this file has
    proto = b.func_proto(i32, [])
    for name in ("vfs_read", "bpf_iter_task", ONLY_IN_FILE):
        b.func(name, proto)
    b.var("process_counts", i32)
    task_ptr = b.ptr(1 + 2)  # task_struct (the third type)
    meta = b.ptr(b.struct("bpf_iter_meta", 8, [("seq_num", i32, 0, 0)]))
    b.struct("bpf_iter__task", 16, [("meta", meta, 0, 0), ("task", task_ptr, 64, 0)])
    path = tmp_path / "custom.btf"
    path.write_bytes(b.blob())
    yield str(path)
    use_btf_file(None)


def test_types_come_from_the_file(btf_file: str) -> None:
    r = run('BEGIN { printf("%d %d %d\\n", curtask->pid, sizeof(struct only_here), '
            'offsetof(struct only_here, x)); exit(); }', btf_path=btf_file)
    assert r.code == 0, r.err
    assert r.out.startswith(f"{os.getpid()} 8 4\n")


def test_kernel_types_missing_from_the_file_are_unknown(btf_file: str) -> None:
    from pytrace.diagnostics import CompileError

    with pytest.raises(CompileError) as info:
        run("BEGIN { print(sizeof(struct mm_struct)); exit(); }", btf_path=btf_file)
    assert "Unknown struct/union: 'struct mm_struct'" in str(info.value)


def test_the_environment_variable_on_the_command_line(btf_file: str) -> None:
    env = dict(os.environ, BPFTRACE_BTF=btf_file, PYTRACE_NO_CACHE="1")
    r = subprocess.run([sys.executable, "-m", "pytrace", "-q", "-e",
                        "BEGIN { print(sizeof(struct only_here)); exit(); }"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("8\n"), r.stderr
    env["BPFTRACE_BTF"] = "/nonexistent.btf"
    r = subprocess.run([sys.executable, "-m", "pytrace", "-e", "BEGIN { exit(); }"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 1
    assert r.stderr == ("ERROR: BPFTRACE_BTF: cannot use '/nonexistent.btf': "
                        "No such file or directory\n")


def _file_ids(path: str) -> KernelBtf:
    return KernelBtf(vmlinux=path)


def test_attach_ids_come_from_the_running_kernel(btf_file: str) -> None:
    from pytrace.btf import format as F
    from pytrace.driver import compile_source
    from pytrace.passes.context import Options
    from pytrace.source import Source

    running, own = KernelBtf(), _file_ids(btf_file)
    fentry = compile_source(Source("stdin", "fentry:vfs_read { @ = count(); }"),
                            Options(btf_path=btf_file)).obj.resources
    ids = [p.attach.get("btf_id") for p in fentry.probes if p.kind == "fentry"]
    kernel_id, file_id = running.function("vfs_read").id, own.function("vfs_read").id
    assert ids == [kernel_id] and kernel_id != file_id
    var = compile_source(Source("stdin", 'BEGIN { $p = percpu_kaddr("process_counts"); '
                                'print($p != 0); exit(); }'), Options(btf_path=btf_file))
    var_ids = dict(var.obj.resources.ksyms).values()
    kernel_var = running.find("process_counts", (F.VAR,))
    assert kernel_var is not None and list(var_ids) == [kernel_var.id]
    assert own.find("process_counts", (F.VAR,)).id != kernel_var.id


def test_an_iterator_loads_with_the_running_kernel_s_id(btf_file: str) -> None:
    # with the file's id for bpf_iter_task the kernel would refuse to load the program
    assert _file_ids(btf_file).func("bpf_iter_task").id != KernelBtf().func("bpf_iter_task").id
    r = run(f"iter:task /ctx.task.pid == {os.getpid()}/ {{ printf(\"%d\\n\", ctx.task.pid); }}",
            btf_path=btf_file)
    assert r.code == 0, r.err
    assert r.out.split("\n")[0] == str(os.getpid())


def test_a_function_only_the_file_has_is_one_clear_error(btf_file: str) -> None:
    env = dict(os.environ, BPFTRACE_BTF=btf_file, PYTRACE_NO_CACHE="1")
    r = subprocess.run([sys.executable, "-m", "pytrace", "--dry-run", "-e",
                        f"fentry:{ONLY_IN_FILE} {{ @ = count(); }}"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 1
    first = r.stderr.splitlines()[0]
    assert first.endswith(f"ERROR: function {ONLY_IN_FILE} is not in the running kernel's BTF "
                          f"(/sys/kernel/btf/vmlinux); BPFTRACE_BTF={btf_file} describes it, "
                          "but the kernel only knows its own ids"), r.stderr
