"""`pytrace -l` / `-lv` through the CLI for every listable kind, against the live
tracefs and binaries built here (the expected names come from tracefs / readelf)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_probes_uprobe import C_PROG, C_USDT, build

ENV = dict(os.environ, PYTRACE_NO_CACHE="1")
TRACEFS = "/sys/kernel/tracing/events"


def pytrace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=60, env=ENV)


@pytest.fixture(scope="module")
def bins(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("listing")
    return build(tmp, "lprog", C_PROG), build(tmp, "lusdt", C_USDT)


def test_tracepoint_glob_matches_tracefs() -> None:
    r = pytrace("-l", "tracepoint:syscalls:sys_enter_open*")
    assert r.returncode == 0, r.stderr
    want = sorted(f"tracepoint:syscalls:{e}" for e in os.listdir(f"{TRACEFS}/syscalls")
                  if e.startswith("sys_enter_open"))
    assert r.stdout.splitlines() == want


def test_tracepoint_verbose_shows_fields() -> None:
    r = pytrace("-lv", "t:syscalls:sys_enter_openat")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "tracepoint:syscalls:sys_enter_openat", "    int __syscall_nr", "    int dfd",
        "    const char * filename", "    int flags", "    umode_t mode"]


def test_tracepoint_verbose_array_field() -> None:
    r = pytrace("-lv", "tracepoint:sched:sched_switch")
    assert "    char prev_comm[16]" in r.stdout.splitlines()


def test_bare_pattern_means_tracepoints() -> None:
    r = pytrace("-l", "*sched_switch*")
    assert r.stdout.splitlines() == ["tracepoint:sched:sched_switch"]


def test_uprobe_functions_of_a_binary(bins: tuple[Path, Path]) -> None:
    prog, _ = bins
    r = pytrace("-l", f"uprobe:{prog}:func_*")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"uprobe:{prog}:func_a", f"uprobe:{prog}:func_b"]
    every = pytrace("-l", f"uprobe:{prog}").stdout.splitlines()
    assert {f"uprobe:{prog}:{f}" for f in ("main", "work", "greet")} <= set(every)


def test_uprobe_listing_of_bash_read_functions() -> None:
    r = pytrace("-l", "uprobe:/bin/bash:*read*")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "uprobe:/bin/bash:readline" in lines
    assert all(ln.startswith("uprobe:/bin/bash:") and "read" in ln.split(":")[2] for ln in lines)


def test_uprobe_listing_of_a_library_name() -> None:
    r = pytrace("-l", "uprobe:libc:malloc")
    assert r.returncode == 0, r.stderr
    (line,) = r.stdout.splitlines()
    assert line.startswith("uprobe:/") and "libc.so" in line and line.endswith(":malloc")


def test_usdt_probes_of_a_binary(bins: tuple[Path, Path]) -> None:
    _, usdt = bins
    r = pytrace("-l", f"usdt:{usdt}:*")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"usdt:{usdt}:myprov:gated", f"usdt:{usdt}:myprov:tick"]
    r = pytrace("-l", f"usdt:{usdt}:myprov:t*")
    assert r.stdout.splitlines() == [f"usdt:{usdt}:myprov:tick"]


def test_software_and_hardware_events() -> None:
    r = pytrace("-l", "software:*faults*")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"software:{n}:" for n in (
        "alignment-faults", "emulation-faults", "major-faults", "minor-faults", "page-faults")]
    assert pytrace("-l", "s:cs").stdout == "software:context-switches:\n"
    assert "hardware:cpu-cycles:\n" in pytrace("-l", "hardware:*").stdout


def test_rawtracepoints_exclude_syscall_events() -> None:
    r = pytrace("-l", "rawtracepoint:sys_e*")
    assert r.stdout.splitlines() == ["rawtracepoint:sys_enter", "rawtracepoint:sys_exit"]


def test_everything_without_a_pattern() -> None:
    lines = pytrace("-l").stdout.splitlines()
    assert "tracepoint:sched:sched_switch" in lines and "software:page-faults:" in lines
    assert lines[-2:] == ["BEGIN", "END"]


@pytest.mark.parametrize(("pattern", "error"), [
    ("uprobe:/no/such/file:*", "does not exist"),
    ("kprobe:vfs_*", "kprobe probes cannot be listed"),
    ("usdt:", "usdt listing needs a binary"),
])
def test_bad_listing_is_one_error(pattern: str, error: str) -> None:
    r = pytrace("-l", pattern)
    assert r.returncode == 1
    assert r.stderr.startswith("ERROR: ") and error in r.stderr.splitlines()[0]
    assert r.stdout == "" and "Traceback" not in r.stderr
