"""`comm == "lit"` reads current->comm through bpf_get_current_task_btf() (kernel BTF):
the verifier accepts it in every program type of codegen's TASK_BTF_PROG_TYPES on
this kernel, and it matches exactly what bpf_get_current_comm would."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

WORKLOAD = os.path.join(os.path.dirname(__file__), "workload.py")
COMM = "pt_commbtf_15ch"  # 15 characters: the longest comm


def run(prog: str, calls: int = 2000) -> str:
    child = f"{sys.executable} {WORKLOAD} {COMM} getppid {calls}"
    r = subprocess.run([sys.executable, "-m", "pytrace", "-c", child, "-e", prog],
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTRACE_NO_CACHE="1"))
    assert r.returncode == 0, r.stderr
    return r.stdout


def counts(out: str) -> dict[str, int]:
    return {k: int(v) for k, v in (ln.split(": ") for ln in out.splitlines() if ln.startswith("@"))}


@pytest.mark.parametrize("probe", [
    "tracepoint:syscalls:sys_enter_getppid",  # TRACEPOINT
    "rawtracepoint:sys_enter",  # RAW_TRACEPOINT
    "uprobe:libc:getppid",  # KPROBE (uprobes load as kprobe programs)
])
def test_comm_filter_matches_in_each_program_type(probe: str) -> None:
    out = run(f'{probe} /comm == "{COMM}"/ {{ @hit = count(); }} '
              f'{probe} /comm == "{COMM[:-1]}"/ {{ @prefix = count(); }} '
              f'{probe} /comm == "{COMM}x"/ {{ @longer = count(); }}')
    got = counts(out)
    assert got.get("@hit", 0) >= 2000
    assert "@prefix" not in got and "@longer" not in got


def test_comm_filter_in_a_perf_event_program() -> None:
    out = run(f'software:cpu-clock:1000000 /comm == "{COMM}"/ {{ @hit = count(); }} '
              f'software:cpu-clock:1000000 /comm == "no{COMM[2:]}"/ {{ @miss = count(); }}',
              calls=300_000)
    got = counts(out)
    assert got.get("@hit", 0) > 0 and "@miss" not in got


def test_comm_filter_in_begin() -> None:
    own = os.path.basename(sys.executable)[:15]  # the comm of the pytrace process
    r = subprocess.run([sys.executable, "-m", "pytrace", "-e",
                        f'BEGIN {{ @m = (comm == "{own}"); @n = (comm == "nosuchcomm"); exit(); }}'],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PYTRACE_NO_CACHE="1"))
    assert r.returncode == 0, r.stderr
    assert counts(r.stdout) == {"@m": 1, "@n": 0}
