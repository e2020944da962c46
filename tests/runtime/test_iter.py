"""iter probes for real: task, task_file and task_vma iterators over a child process of
the test's own (its pid passed as $1), the kernel-rendered printf, pinning, BEGIN/END
around an iteration, JSON records, and the errors bpftrace gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from cbuild import build_c

from pytrace.runtime import features
from pytrace.runtime.errors import FeatureUnavailable

ENV = dict(os.environ, PYTRACE_NO_CACHE="1")
HOLDER = r"""
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
/* holder N: open /dev/null N times, then wait for a byte on stdin */
int main(int argc, char **argv) {
  for (int i = 0; i < atoi(argv[1]); i++) if (open("/dev/null", O_RDONLY) < 0) return 1;
  char c;
  return read(0, &c, 1) < 0;
}
"""


def pytrace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=60, env=ENV)


@pytest.fixture(scope="module")
def holder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.Popen[bytes]]:
    path = build_c(tmp_path_factory.mktemp("iter"), "holder", HOLDER, "-O1")
    proc = subprocess.Popen([path, "5"], stdin=subprocess.PIPE)
    for _ in range(500):  # until it holds its files
        if len(os.listdir(f"/proc/{proc.pid}/fd")) >= 8:
            break
        subprocess.run(["sleep", "0.01"])
    yield proc
    proc.communicate(b"x", timeout=10)


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_task_lists_the_process(holder: subprocess.Popen[bytes]) -> None:
    r = pytrace("-e", 'iter:task /ctx.task.pid == $1/ { printf("%s:%d\\n", ctx.task.comm, '
                "ctx.task.pid); @tasks = count(); }", str(holder.pid))
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"holder:{holder.pid}\n\n\n@tasks: 1\n"
    assert r.stderr == "Attached 1 probe\n"


def test_task_file_sees_every_descriptor(holder: subprocess.Popen[bytes]) -> None:
    r = pytrace("-e", "iter:task_file /ctx.task.pid == $1/ { @[ctx.task.pid] = count(); "
                "@fd = max(ctx.fd); }", str(holder.pid))
    assert r.returncode == 0, r.stderr
    assert f"@[{holder.pid}]: {_fds(holder.pid)}\n" in r.stdout
    assert f"@fd: {max(int(f) for f in os.listdir(f'/proc/{holder.pid}/fd'))}\n" in r.stdout


def test_task_vma_sees_every_mapping(holder: subprocess.Popen[bytes]) -> None:
    r = pytrace("-e", 'iter:task_vma /ctx.task.pid == $1/ { printf("%lx-%lx\\n", '
                "ctx.vma.vm_start, ctx.vma.vm_end); }", str(holder.pid))
    assert r.returncode == 0, r.stderr
    with open(f"/proc/{holder.pid}/maps") as f:  # [vsyscall] is no vma of the process
        want = [ln.split()[0] for ln in f if "[vsyscall]" not in ln]
    assert [ln for ln in r.stdout.splitlines() if ln] == want


def test_printf_is_rendered_by_the_kernel(holder: subprocess.Popen[bytes]) -> None:
    prog = ('iter:task /ctx.task.pid == $1/ { printf("[%5d|%-5u|%x|%X|%c|%p|%s|%8s|%hhd] '
            '100%% done\\n", -42, 7, 255, 255, 65, 4096, "str", ctx.task.comm, 257); }')
    r = pytrace("-e", prog, str(holder.pid))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "[  -42|7    |ff|FF|A|0x1000|str|  holder|1] 100% done"


def test_what_the_kernel_cannot_print_is_a_located_error() -> None:
    r = pytrace("--dry-run", "-e", 'iter:task { printf("%.3d\\n", 1); }')
    assert r.returncode == 1
    assert r.stderr.startswith("stdin:1:") and "no precision" in r.stderr


def test_begin_and_end_run_around_the_iteration(holder: subprocess.Popen[bytes]) -> None:
    r = pytrace("-f", "json", "-e", 'BEGIN { printf("begin\\n"); } iter:task /ctx.task.pid '
                '== $1/ { printf("%d\\n", ctx.task.pid); } END { printf("end\\n"); }',
                str(holder.pid))
    assert r.returncode == 0, r.stderr
    lines = [json.loads(ln) for ln in r.stdout.splitlines()]
    assert lines[0] == {"type": "attached_probes", "count": 3, "data": {"probes": 3}}
    assert [ln["data"] for ln in lines[1:]] == ["begin\n", f"{holder.pid}\n", "end\n"]


def test_pinned_iterator_runs_when_read(holder: subprocess.Popen[bytes]) -> None:
    name = f"pytrace_test_{uuid.uuid4().hex[:8]}"
    r = pytrace("-e", f'iter:task:{name} /ctx.task.pid == $1/ {{ printf("pinned %d\\n", '
                "ctx.task.pid); }", str(holder.pid))
    path = f"/sys/fs/bpf/{name}"
    try:
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith(f"Program pinned to {path}\n")
        with open(path) as f:  # pytrace has exited: the pinned link runs the program
            assert f.read() == f"pinned {holder.pid}\n"
        again = pytrace("-e", f"iter:task:{path} {{ }}")
        assert again.returncode == 1 and "File exists" in again.stderr
    finally:
        if os.path.exists(path):
            os.unlink(path)


@pytest.mark.parametrize(("prog", "error"), [
    ("iter:task,iter:task_file { }", "stdin:1:1-10: ERROR: Only single iter attach point is allowed."),
    ("iter:task { } interval:s:1 { }", "ERROR: An iter probe cannot be mixed with any other probe"),
    ("iter:task { } iter:task_vma { }", "ERROR: An iter probe cannot be mixed with any other probe"),
    ("iter:nosuch { }", "ERROR: iter nosuch not available for your kernel version."),
    ("iter:task* { }", "ERROR: iter probe type does not support wildcards"),
])
def test_errors(prog: str, error: str) -> None:
    r = pytrace("--dry-run", "-e", prog)
    assert r.returncode == 1 and error in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_the_feature_probe_refuses_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(features.sc, "bpf_errno", lambda cmd, attr: (-1, 1))  # EPERM
    features._check_cached.cache_clear()
    try:
        with pytest.raises(FeatureUnavailable) as info:
            features.check_probe_kind("iter")
    finally:
        features._check_cached.cache_clear()
    assert str(info.value) == ("iter probes are not available on this kernel: loading "
                               "iterator programs (TRACING, BPF_TRACE_ITER) is refused "
                               "(EPERM, a security policy)")
    monkeypatch.undo()
    features.check_probe_kind("iter")  # this kernel loads them
