"""BPFTRACE_BTF: types come from another BTF file instead of /sys/kernel/btf/vmlinux
(a hand-built one here: a task_struct with only `pid`, at the kernel's offset, and a
struct the kernel does not have); a file that cannot be used is one clear error."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import begin, run

from pytrace.btf import use_btf_file

sys.path.insert(0, str(Path(__file__).parent.parent / "btf"))
from btfbuild import BtfBuilder  # noqa: E402


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
