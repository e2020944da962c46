"""Wide syscall tracepoint globs compile into one raw_syscalls dispatcher per direction;
it must count exactly what one program per tracepoint counts."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

WORKLOAD = [sys.executable, os.path.join(os.path.dirname(__file__), "workload.py"),
            "pt_disp", "getppid", "25", "write", "3", "100", "read", "4", "10", "open", "/nonexistent"]
PROG = ("tracepoint:syscalls:sys_enter_* /pid == cpid/ { @e[probe] = count(); } "
        "tracepoint:syscalls:sys_exit_* /pid == cpid/ { @x[probe] = count(); @fail[probe] = sum(args.ret < 0); }")


def run(dispatch: bool) -> tuple[str, str]:
    env = dict(os.environ, PYTRACE_NO_CACHE="1")
    if not dispatch:
        env["PYTRACE_NO_DISPATCH"] = "1"
    r = subprocess.run([sys.executable, "-m", "pytrace", "-c", " ".join(WORKLOAD), "-e", PROG],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout, r.stderr


# How often the interpreter manages its memory differs from run to run.
VARYING = ("brk]", "mmap]", "munmap]", "mprotect]", "madvise]", "mremap]")


def stable(out: str) -> list[str]:
    return sorted(ln for ln in out.splitlines()
                  if ln.startswith("@") and not ln.split(":")[-2].endswith(VARYING))


def test_dispatcher_matches_one_program_per_tracepoint() -> None:
    fast_out, fast_err = run(True)
    slow_out, slow_err = run(False)
    assert stable(fast_out) == stable(slow_out)
    assert "@e[tracepoint:syscalls:sys_enter_getppid]: 25" in fast_out
    assert "@x[tracepoint:syscalls:sys_exit_write]: 3" in fast_out
    assert "@fail[tracepoint:syscalls:sys_exit_openat]: " in fast_out  # /nonexistent: -ENOENT
    n_enter = len([e for e in os.listdir("/sys/kernel/tracing/events/syscalls") if e.startswith("sys_enter_")])
    n_exit = len([e for e in os.listdir("/sys/kernel/tracing/events/syscalls") if e.startswith("sys_exit_")])
    expected = f"Attached {n_enter + n_exit} probes"
    assert expected in fast_err and expected in slow_err


FILE_PROBES = ", ".join(f"tracepoint:syscalls:sys_enter_{n}" for n in (
    "newstat", "newlstat", "newfstatat", "statx", "open", "openat", "openat2", "chdir",
    "access", "faccessat", "faccessat2"))
FILE_WORKLOAD = ("import os\nos.stat('/etc/hostname')\nos.lstat('/etc/passwd')\n"
                 "os.close(os.open('/etc/hosts', os.O_RDONLY))\nos.access('/etc/group', os.R_OK)\n")


def run_prog(prog: str, workload: str, dispatch: bool) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTRACE_NO_CACHE="1")
    if not dispatch:
        env["PYTRACE_NO_DISPATCH"] = "1"
    # -c splits at spaces only (as bpftrace does): the workload goes in a script file
    with tempfile.NamedTemporaryFile("w", suffix=".py", prefix="pt_disp_", delete=False) as f:
        f.write(workload)
    try:
        return subprocess.run([sys.executable, "-m", "pytrace", "-c", f"{sys.executable} {f.name}",
                               "-e", prog], capture_output=True, text=True, timeout=300, env=env)
    finally:
        os.unlink(f.name)


def test_fields_at_different_offsets_share_a_dispatcher() -> None:
    prog = FILE_PROBES + ' /pid == cpid/ { printf("%s %s\\n", probe, str(args.filename)); }'
    fast = run_prog(prog, FILE_WORKLOAD, True)
    slow = run_prog(prog, FILE_WORKLOAD, False)
    assert fast.returncode == 0 and slow.returncode == 0, fast.stderr + slow.stderr
    def mine(out: str) -> list[str]:
        # the workload's own paths: a string the interpreter itself reads may sit in a
        # page not yet faulted in, which reads as "" in one run and not in the other
        return [ln for ln in out.splitlines() if ln.startswith("tracepoint:") and " /etc/" in ln]

    lines = mine(fast.stdout)
    assert lines == mine(slow.stdout)
    paths = {ln.split(" ", 1)[1] for ln in lines}
    assert {"/etc/hostname", "/etc/passwd", "/etc/hosts", "/etc/group"} <= paths


def test_a_branchy_body_over_every_syscall_compiles_once() -> None:
    # Copied once per syscall, this body overflowed BPF jump offsets (an LLVM abort).
    body = " ".join(f'if (comm == "x{i}") {{ printf("%s %s %d\\n", comm, probe, pid); }}'
                    for i in range(1, 9))
    r = run_prog("tracepoint:syscalls:sys_enter_* { " + body + " } "
                 'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { printf("seen\\n"); }',
                 "import os\nos.getppid()", True)
    assert r.returncode == 0, r.stderr
    assert "seen" in r.stdout


def test_overlapping_globs_attach_the_shared_tracepoint_twice() -> None:
    prog = ("tracepoint:syscalls:sys_enter_get*, tracepoint:syscalls:sys_enter_getppid "
            "/pid == cpid/ { @[probe] = count(); }")
    r = run_prog(prog, "import os\nfor _ in range(10): os.getppid()", True)
    assert r.returncode == 0, r.stderr
    assert "@[tracepoint:syscalls:sys_enter_getppid]: 20" in r.stdout  # as bpftrace: twice
    n = len([e for e in os.listdir("/sys/kernel/tracing/events/syscalls")
             if e.startswith("sys_enter_get")])
    assert f"Attached {n + 1} probes" in r.stderr
