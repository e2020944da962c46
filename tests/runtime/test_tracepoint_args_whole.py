"""`args` as a whole in tracepoint probes: print(args) and $a = args hold every field of
the format (common_* left out), strings and data_loc fields included."""

from __future__ import annotations

import os
import re
import subprocess
import sys

ENV = dict(os.environ, PYTRACE_NO_CACHE="1")


def _run(program: str, cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", "-c", cmd, "-e", program],
                          capture_output=True, text=True, timeout=60, env=ENV)


def test_print_args_of_a_syscall_tracepoint() -> None:
    r = _run('tracepoint:syscalls:sys_enter_openat /pid == cpid/ { print(args); $a = args; '
             'printf("flags=%d\\n", $a.flags); exit(); }', "/bin/cat /etc/hostname")
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if x.startswith("{"))
    assert re.fullmatch(r"\{ \.__syscall_nr = 257, \.dfd = \d+, \.filename = 0x[0-9a-f]+, "
                        r"\.flags = (\d+), \.mode = \d+ \}", line), line
    flags = re.search(r"\.flags = (\d+)", line)
    assert flags is not None and f"flags={flags.group(1)}" in r.stdout


def test_print_args_with_a_data_loc_string() -> None:
    r = _run("tracepoint:sched:sched_process_exec /pid == cpid/ { print(args); }", "/bin/true")
    assert r.returncode == 0, r.stderr
    assert re.search(r"^\{ \.filename = /(usr/)?bin/true, \.pid = (\d+), \.old_pid = \2 \}$",
                     r.stdout, re.M), r.stdout
