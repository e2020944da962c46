"""Wide syscall tracepoint globs compile into one raw_syscalls dispatcher per direction;
it must count exactly what one program per tracepoint counts."""

from __future__ import annotations

import os
import subprocess
import sys

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


def stable(out: str) -> list[str]:
    return sorted(ln for ln in out.splitlines() if ln.startswith("@"))


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
