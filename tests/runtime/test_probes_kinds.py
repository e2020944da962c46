"""Every non-user probe kind through the CLI: raw tracepoints, software events, profile
and interval in all units, the kinds this kernel refuses (one line, exit 1, yet they
compile), and bad attach points (located errors with hints, exit 1)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pytrace.runtime.errors import FeatureUnavailable
from pytrace.runtime.features import check_probe_kind

HERE = os.path.dirname(__file__)
WORKLOAD = os.path.join(HERE, "workload.py")
ENV = dict(os.environ, PYTRACE_NO_CACHE="1")
GETPPID_NR = 110  # x86_64


def pytrace(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=timeout, env=ENV)


def workload(*ops: str) -> str:
    return " ".join([sys.executable, WORKLOAD, *ops])


def map_lines(out: str) -> dict[str, str]:
    pairs = (ln.split(": ", 1) for ln in out.splitlines() if ln.startswith("@") and ": " in ln)
    return {k: v for k, v in pairs}


def test_rawtracepoint_sys_enter_arg1_is_the_syscall_number() -> None:
    prog = "rawtracepoint:sys_enter /pid == cpid/ { @[arg1] = count(); }"
    r = pytrace("-c", workload("pt_rawtp", "getppid", "123"), "-e", prog)
    assert r.returncode == 0, r.stderr
    assert map_lines(r.stdout)[f"@[{GETPPID_NR}]"] == "123"


def test_rawtracepoint_with_its_module_is_named_so() -> None:
    prog = ("rawtracepoint:vmlinux:sys_enter /pid == cpid && arg1 == 110/ { @[probe] = count(); } "
            "rt:*:sys_exit /pid == cpid/ { @exit[probe] = count(); }")
    r = pytrace("-c", workload("pt_rawtp_mod", "getppid", "7"), "-e", prog)
    assert r.returncode == 0, r.stderr
    assert "Attached 2 probes" in r.stderr
    maps = map_lines(r.stdout)
    assert maps["@[rawtracepoint:vmlinux:sys_enter]"] == "7"
    assert int(maps["@exit[rawtracepoint:vmlinux:sys_exit]"]) >= 7


def test_software_faults_sample_the_faulting_process(tmp_path: object) -> None:
    # 2000 page-sized reads into fresh memory fault at least 2000 times; period 100
    prog = ("software:faults:100 /pid == cpid/ { @[comm] = count(); } "
            "software:page-faults:1 /pid == cpid/ { @all = count(); }")
    code = "import mmap; m = mmap.mmap(-1, 2000 * 4096); [m.__setitem__(i * 4096, 1) for i in range(2000)]"
    script = os.path.join(str(tmp_path), "faults.py")  # -c splits at spaces only
    with open(script, "w") as f:
        f.write(code)
    r = pytrace("-c", f"{sys.executable} {script}", "-e", prog)
    assert r.returncode == 0, r.stderr
    maps = map_lines(r.stdout)
    assert int(maps["@all"]) >= 2000
    sampled = sum(int(v) for k, v in maps.items() if k.startswith("@["))
    # one counter per CPU, each with its own remainder below the period
    assert 1 <= sampled <= int(maps["@all"]) // 100 + (os.cpu_count() or 1)


@pytest.mark.parametrize("point", [
    "interval:s:1", "interval:ms:120", "interval:us:120000", "interval:hz:8", "interval:120ms",
    "i:ms:50", "profile:hz:49", "profile:s:1", "profile:ms:30", "profile:us:30000", "p:hz:99",
])
def test_timer_kinds_fire_in_every_unit(point: str) -> None:
    r = pytrace("-e", f"{point} {{ @[probe] = count(); exit(); }}")
    assert r.returncode == 0, r.stderr
    (key, value), = map_lines(r.stdout).items()
    kind = "interval" if point.startswith("i") else "profile"
    assert key.startswith(f"@[{kind}:") and int(value) >= 1


def test_interval_counts_ticks_exactly() -> None:
    r = pytrace("-e", "interval:ms:50 { @n += 1; if (@n == 4) { exit(); } }")
    assert r.returncode == 0, r.stderr
    assert map_lines(r.stdout) == {"@n": "4"}


REFUSED = {
    "kprobe": "kprobe:do_nanosleep { @[func] = count(); }",
    "kretprobe": "kretprobe:do_nanosleep { @ = retval; }",
    "fentry": "fentry:do_nanosleep { @ = count(); }",
    "fexit": "fexit:vfs_read { @ = count(); }",
    "hardware": "hardware:cycles:1000000 { @[comm] = count(); }",
}


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_refused_kinds_say_why_in_one_line(kind: str) -> None:
    try:
        check_probe_kind(kind)
    except FeatureUnavailable:
        pass
    else:
        pytest.skip(f"{kind} probes are available on this kernel")
    r = pytrace("-e", REFUSED[kind])
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    family = {"kretprobe": "kprobe", "fexit": "fentry"}.get(kind, kind)
    assert lines[0].startswith("ERROR: ") and family in lines[0] and "not available" in lines[0]


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_refused_kinds_still_compile(kind: str, tmp_path: object) -> None:
    r = pytrace("--dry-run", "-e", REFUSED[kind])
    assert r.returncode == 0, r.stderr
    assert "ERROR" not in r.stderr


BAD = [
    ("tracepoint:nosuch:* { exit(); }", "tracepoint not found: nosuch:*", "no tracepoint category"),
    ("t:syscalls:sys_enter_opennat { exit(); }", "tracepoint not found", "did you mean: syscalls:sys_enter_openat"),
    ("tracepoint:sched:nosuch* { exit(); }", "tracepoint not found", "pytrace -l 'tracepoint:sched:*'"),
    ("uprobe:/no/such/binary:main { exit(); }", "does not exist", "give a path to an ELF binary"),
    ("uprobe:libnosuchlib:foo { exit(); }", "uprobe target file 'libnosuchlib' does not exist or is not executable", "a library name such as 'libc'"),
    ("uprobe:/bin/sh:no_such_function_here { exit(); }", "Could not resolve symbol", "pytrace -l 'uprobe:"),
    ("interval:5:s { exit(); }", "5 is not an accepted unit of time", "did you mean interval:s:5?"),
    ("interval:minutes:5 { exit(); }", "not an accepted unit of time", "units are s, ms, us, hz"),
    ("profile:hz:0 { exit(); }", "must be greater than 0", None),
    ("software:faults:abc { exit(); }", "'abc' is not a number", None),
    ("software:fautls:10 { exit(); }", "Unknown software event: fautls", "did you mean: faults?"),
    ("rawtracepoint:sys_entr { exit(); }", "raw tracepoint not found", "did you mean: sys_enter"),
    ("rawtracepoint:nosuchmod:sys_enter { exit(); }", "rawtracepoint module not found: nosuchmod",
     "/sys/kernel/btf"),
    ("rt:vmlinux:sys_entr { exit(); }", "raw tracepoint not found: vmlinux:sys_entr",
     "did you mean: sys_enter"),
]


@pytest.mark.parametrize(("prog", "error", "hint"), BAD)
def test_bad_attach_points_are_located_errors(prog: str, error: str, hint: str | None) -> None:
    r = pytrace("-e", prog)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines[0].startswith("stdin:1:1-") and "ERROR: " in lines[0] and error in lines[0], r.stderr
    assert lines[1] == prog and lines[2].startswith("~")
    if hint is not None:
        assert any(ln.startswith("HINT: ") and hint in ln for ln in lines[3:]), r.stderr
    assert "Traceback" not in r.stderr
