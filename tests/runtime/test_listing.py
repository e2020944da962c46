"""`pytrace -l` / `-lv` through the CLI for every listable kind, against the live
tracefs, BTF and binaries built here (the expected names come from tracefs, readelf
and /proc); tracefs unmounted (a private mount namespace) and a non-root user too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cbuild import build_c
from test_probes_uprobe import C_PROG, C_USDT, build

ENV = dict(os.environ, PYTRACE_NO_CACHE="1")
TRACEFS = "/sys/kernel/tracing"


def pytrace(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=60, env=ENV, **kw)  # type: ignore[call-overload]


def tracefs_events() -> list[str]:
    with open(f"{TRACEFS}/available_events") as f:
        return [ln.strip() for ln in f if ":" in ln]


@pytest.fixture(scope="module")
def bins(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("listing")
    return build(tmp, "lprog", C_PROG), build(tmp, "lusdt", C_USDT)


@pytest.fixture(scope="module")
def dwarf_prog(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_c(tmp_path_factory.mktemp("dwarf"), "dprog", C_PROG, "-g", "-O0")


@pytest.fixture()
def waiting(bins: tuple[Path, Path]) -> Iterator[subprocess.Popen[bytes]]:
    """Our own lprog, blocked reading stdin until the test lets it finish."""
    prog, _ = bins
    child = subprocess.Popen([str(prog), "1", "bob", "wait"], stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL)
    try:
        yield child
    finally:
        child.communicate(b"x", timeout=10)


# ------------------------------------------------------------------ tracepoints
def test_tracepoint_glob_matches_tracefs() -> None:
    r = pytrace("-l", "tracepoint:syscalls:sys_enter_open*")
    assert r.returncode == 0, r.stderr
    want = sorted(f"tracepoint:{e}" for e in tracefs_events()
                  if e.startswith("syscalls:sys_enter_open"))
    assert r.stdout.splitlines() == want


@pytest.mark.parametrize("pattern", ["tracepoint:*", "t:*:*"])
def test_every_tracepoint(pattern: str) -> None:
    r = pytrace("-l", pattern)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == sorted(f"tracepoint:{e}" for e in tracefs_events())


def test_tracepoint_alias_and_category() -> None:
    r = pytrace("-l", "t:sched:*")
    want = sorted(f"tracepoint:{e}" for e in tracefs_events() if e.startswith("sched:"))
    assert r.returncode == 0 and r.stdout.splitlines() == want


def test_tracepoint_verbose_shows_fields() -> None:
    r = pytrace("-lv", "t:syscalls:sys_enter_openat")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "tracepoint:syscalls:sys_enter_openat", "    int __syscall_nr", "    int dfd",
        "    const char * filename", "    int flags", "    umode_t mode"]


def test_tracepoint_verbose_array_and_data_loc_fields() -> None:
    assert "    char prev_comm[16]" in pytrace("-lv", "tracepoint:sched:sched_switch").stdout
    lines = pytrace("-lv", "tracepoint:sched:sched_process_exec").stdout.splitlines()
    assert lines[:2] == ["tracepoint:sched:sched_process_exec", "    __data_loc char[] filename"]


def test_a_bare_pattern_searches_every_kernel_kind() -> None:
    r = pytrace("-l", "*sched_switch*")
    assert r.stdout.splitlines() == ["rawtracepoint:vmlinux:sched_switch",
                                     "tracepoint:sched:sched_switch"]


def test_comma_separated_patterns() -> None:
    r = pytrace("-l", "t:sched:sched_switch, s:cpu-clock:")
    assert r.stdout.splitlines() == ["tracepoint:sched:sched_switch", "software:cpu-clock:"]


# ------------------------------------------------------------------ raw tracepoints
def test_rawtracepoints_exclude_syscall_events() -> None:
    r = pytrace("-l", "rawtracepoint:sys_e*")
    assert r.stdout.splitlines() == ["rawtracepoint:vmlinux:sys_enter",
                                     "rawtracepoint:vmlinux:sys_exit"]
    every = pytrace("-l", "rt:*").stdout.splitlines()
    events = {e.split(":", 1)[1] for e in tracefs_events() if not e.startswith("syscalls:")}
    assert every == sorted(f"rawtracepoint:vmlinux:{e}" for e in events)


def test_rawtracepoint_arguments_come_from_btf() -> None:
    from pytrace.listing.btfinfo import have_reader

    r = pytrace("-lv", "rawtracepoint:vmlinux:sched_switch")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "rawtracepoint:vmlinux:sched_switch"
    if not have_reader():
        pytest.skip("the BTF reader (pytrace.btf) is not merged: no arguments to show")
    assert "    struct task_struct * prev" in lines and "    struct task_struct * next" in lines
    assert not any("__data" in ln for ln in lines)


# ------------------------------------------------------------------ perf events, timers
def test_software_events_with_their_aliases() -> None:
    r = pytrace("-l", "software:*faults*")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"software:{n}:" for n in (
        "alignment-faults", "emulation-faults", "faults", "major-faults", "minor-faults",
        "page-faults")]
    assert pytrace("-l", "s:cs").stdout == "software:cs:\n"
    assert pytrace("-l", "software:cpu-clock:").stdout == "software:cpu-clock:\n"
    assert "hardware:cpu-cycles:\n" in pytrace("-l", "hardware:*").stdout


@pytest.mark.parametrize("kind", ["interval", "profile"])
def test_interval_and_profile_units(kind: str) -> None:
    r = pytrace("-l", f"{kind}:*")
    assert r.stdout.splitlines() == [f"{kind}:{u}:" for u in ("hz", "ms", "s", "us")]
    assert pytrace("-l", f"{kind[0]}:m*").stdout == f"{kind}:ms:\n"


# ------------------------------------------------------------------ iterators
def test_iterators_this_kernel_has() -> None:
    r = pytrace("-l", "iter:*")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert {"iter:task", "iter:task_file", "iter:task_vma"} <= set(lines)
    assert lines == sorted(lines) and all(ln.startswith("iter:") for ln in lines)
    assert pytrace("-l", "it:task_*").stdout.splitlines() == ["iter:task_file", "iter:task_vma"]


def test_iterator_fields() -> None:
    r = pytrace("-lv", "iter:task_file")
    assert r.stdout.splitlines() == ["iter:task_file", "    struct task_struct * task",
                                     "    u32 fd", "    struct file * file"]
    lines = pytrace("-lv", "iter:task_vma").stdout.splitlines()
    assert lines == ["iter:task_vma", "    struct task_struct * task",
                     "    struct vm_area_struct * vma"]


# ------------------------------------------------------------------ everything
def test_everything_without_a_pattern() -> None:
    lines = pytrace("-l").stdout.splitlines()
    assert "tracepoint:sched:sched_switch" in lines and "software:page-faults:" in lines
    assert "rawtracepoint:vmlinux:sched_switch" in lines and "iter:task" in lines
    kinds = [ln.split(":", 1)[0] for ln in lines]
    assert kinds == sorted(kinds)  # kinds in name order, as bpftrace lists them
    assert not any(k in ("BEGIN", "END", "uprobe", "usdt") for k in kinds)


def test_a_missing_file_name_is_searched_with_a_warning() -> None:
    r = pytrace("-l", "nosuch.bt")
    assert r.returncode == 0 and r.stdout == ""
    assert r.stderr == ("WARNING: It appears that 'nosuch.bt' is a filename but the file does "
                        "not exist. Treating 'nosuch.bt' as a search pattern.\n")


# ------------------------------------------------------------------ user space
def test_uprobe_functions_of_a_binary(bins: tuple[Path, Path]) -> None:
    prog, _ = bins
    r = pytrace("-l", f"uprobe:{prog}:func_*")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"uprobe:{prog}:func_a", f"uprobe:{prog}:func_b"]
    every = pytrace("-l", f"uprobe:{prog}").stdout.splitlines()
    assert {f"uprobe:{prog}:{f}" for f in ("main", "work", "greet")} <= set(every)
    assert pytrace("-l", f"uretprobe:{prog}:work").stdout == f"uretprobe:{prog}:work\n"


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


def test_uprobe_listing_of_a_path_glob(bins: tuple[Path, Path]) -> None:
    prog, usdt = bins
    r = pytrace("-l", f"uprobe:{prog.parent}/l*:main")
    assert r.stdout.splitlines() == [f"uprobe:{prog}:main", f"uprobe:{usdt}:main"]


def test_uprobe_arguments_from_dwarf(dwarf_prog: str) -> None:
    r = pytrace("-lv", f"uprobe:{dwarf_prog}:greet")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"uprobe:{dwarf_prog}:greet", "    const char* who"]
    r = pytrace("-lv", f"uprobe:{dwarf_prog}:func_a")
    assert r.stdout.splitlines() == [f"uprobe:{dwarf_prog}:func_a", "    int x"]


def test_uprobe_without_dwarf_warns_once(bins: tuple[Path, Path]) -> None:
    prog, _ = bins
    r = pytrace("-lv", f"uprobe:{prog}:func_*")
    assert r.stdout.splitlines() == [f"uprobe:{prog}:func_a", f"uprobe:{prog}:func_b"]
    assert r.stderr == f'WARNING: No DWARF found for "{prog}", cannot show parameter info\n'


def test_usdt_probes_of_a_binary(bins: tuple[Path, Path]) -> None:
    _, usdt = bins
    r = pytrace("-l", f"usdt:{usdt}:*")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"usdt:{usdt}:myprov:gated", f"usdt:{usdt}:myprov:tick"]
    assert pytrace("-l", f"usdt:{usdt}:myprov:t*").stdout.splitlines() == [
        f"usdt:{usdt}:myprov:tick"]
    assert pytrace("-l", f"U:{usdt}:gated").stdout.splitlines() == [f"usdt:{usdt}:myprov:gated"]


def test_uprobes_of_a_running_process(waiting: subprocess.Popen[bytes],
                                      bins: tuple[Path, Path]) -> None:
    prog, _ = bins
    r = pytrace("-l", "uprobe:*:func_*", "-p", str(waiting.pid))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"uprobe:{prog}:func_a", f"uprobe:{prog}:func_b"]
    r = pytrace("-l", "uprobe:malloc", "-p", str(waiting.pid))
    libc = [ln for ln in r.stdout.splitlines() if "libc.so" in ln]
    assert len(libc) == 1 and libc[0].endswith(":malloc")
    with open(f"/proc/{waiting.pid}/maps") as f:
        assert libc[0].split(":")[1] in f.read()  # the path as the process maps it


def test_everything_of_a_running_process(waiting: subprocess.Popen[bytes],
                                         bins: tuple[Path, Path]) -> None:
    prog, _ = bins
    lines = pytrace("-l", "-p", str(waiting.pid)).stdout.splitlines()
    assert f"uprobe:{prog}:work" in lines and "tracepoint:sched:sched_switch" in lines


C_USDT_WAIT = r"""
#include <sys/sdt.h>
#include <unistd.h>
int main(void) {
  char c;
  if (read(0, &c, 1) < 0) return 2;
  DTRACE_PROBE1(waiter, woke, c);
  return 0;
}
"""


def test_usdt_of_a_running_process(tmp_path: Path) -> None:
    prog = build_c(tmp_path, "uwait", C_USDT_WAIT)
    child = subprocess.Popen([prog], stdin=subprocess.PIPE)
    try:
        r = pytrace("-l", "usdt:*:*", "-p", str(child.pid))
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines() == [f"usdt:{prog}:waiter:woke"]
        assert pytrace("-l", "usdt:woke", "-p", str(child.pid)).stdout == \
            f"usdt:{prog}:waiter:woke\n"
    finally:
        child.communicate(b"x", timeout=10)


def test_uprobes_of_a_process_in_another_mount_namespace(tmp_path: Path) -> None:
    """The binary's path exists only in the process's own mount namespace: its file is
    read through /proc/PID/root and listed under the path the process sees."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    build_c(src, "nsprog", C_USDT_WAIT)
    inner = mnt / "nsprog"
    child = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c",
                              f"mount --bind {src} {mnt} && exec {inner}"],
                             stdin=subprocess.PIPE)
    try:
        for _ in range(200):
            try:
                if os.readlink(f"/proc/{child.pid}/exe").endswith("nsprog"):
                    break
            except OSError:
                pass
            time.sleep(0.01)
        assert not inner.exists()  # not in our namespace
        r = pytrace("-l", "uprobe:*:main", "-p", str(child.pid))
        assert r.returncode == 0, r.stderr
        assert f"uprobe:{inner}:main" in r.stdout.splitlines()
        assert pytrace("-l", "usdt:*:*", "-p", str(child.pid)).stdout == \
            f"usdt:{inner}:waiter:woke\n"
    finally:
        child.communicate(b"x", timeout=10)


# ------------------------------------------------------------------ programs
def test_the_probes_of_a_program() -> None:
    prog = ("tracepoint:sched:sched_sw* , software:faults:100, i:s:1, interval:5ms, "
            "profile:hz:99, iter:task:pin, BEGIN { exit(); } rt:sched_switch { } END { }")
    r = pytrace("-l", "-e", prog)
    assert r.returncode == 0, r.stderr
    want = sorted(f"tracepoint:{e}" for e in tracefs_events() if e.startswith("sched:sched_sw"))
    assert r.stdout.splitlines() == [*want, "software:faults:", "interval:s:", "interval:ms:",
                                     "profile:hz:", "iter:task",
                                     "rawtracepoint:vmlinux:sched_switch"]


def test_the_probes_of_a_script_file_verbose(tmp_path: Path) -> None:
    script = tmp_path / "opens.bt"
    script.write_text("tracepoint:syscalls:sys_enter_openat { printf(\"%s\\n\", comm); }\n")
    r = pytrace("-lv", str(script))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[:3] == ["tracepoint:syscalls:sys_enter_openat",
                                         "    int __syscall_nr", "    int dfd"]


def test_a_program_that_does_not_parse() -> None:
    r = pytrace("-l", "-e", "BEGIN {")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("stdin:1:") and "ERROR: syntax error" in r.stderr
    r = pytrace("-l", "-e", "nosuch:foo { }")
    assert r.returncode == 1 and r.stderr.startswith("stdin:1:1-11: ERROR: Invalid probe type")


# ------------------------------------------------------------------ types
def test_type_listing() -> None:
    from pytrace.listing.btfinfo import have_reader

    r = pytrace("-l", "struct task_struct")
    if not have_reader():  # the hook for the types developer's pytrace.btf
        assert r.returncode == 1
        assert r.stderr == ("ERROR: type listings are not available: this pytrace has no BTF "
                            "reader (pytrace.btf)\n")
        return
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["struct task_struct"]
    v = pytrace("-lv", "struct task_struct")
    assert v.stdout.startswith("vmlinux: struct task_struct {") and "\tpid_t pid;" in v.stdout


# ------------------------------------------------------------------ failures
@pytest.mark.parametrize(("pattern", "error"), [
    ("uprobe:/no/such/file:*", "does not exist"),
    ("kprobe:vfs_*", "kprobe probes are not available on this kernel"),
    ("usdt:", "usdt listing needs a binary or -p PID"),
    ("nosuch:foo", "Invalid probe type: nosuch"),
    ("watchpoint:*", "watchpoint probes cannot be listed"),
])
def test_bad_listing_is_one_error(pattern: str, error: str) -> None:
    from pytrace.runtime.features import _check_cached

    kind = pattern.split(":")[0]
    if kind == "kprobe" and _check_cached(kind) is None:
        pytest.skip(f"{kind} probes are available on this kernel")
    r = pytrace("-l", pattern)
    assert r.returncode == 1
    assert r.stderr.startswith("ERROR: ") and error in r.stderr.splitlines()[0]
    assert r.stdout == "" and "Traceback" not in r.stderr


def test_tracefs_is_mounted_when_missing() -> None:
    """In a private mount namespace without tracefs, -l mounts it (we are root)."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    script = ("umount /sys/kernel/debug/tracing 2>/dev/null; umount /sys/kernel/tracing && "
              "test ! -e /sys/kernel/tracing/events && "
              f"exec {sys.executable} -m pytrace -l t:sched:sched_switch")
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, timeout=60, env=ENV)
    assert (r.returncode, r.stdout) == (0, "tracepoint:sched:sched_switch\n"), r.stderr


def _as_nobody(*args: str) -> subprocess.CompletedProcess[str] | None:
    """Run pytrace as uid 65534 through /usr/bin/python3 (None when that cannot import
    pytrace's dependencies: this venv's interpreter sits under root's home)."""
    site = next((p for p in sys.path if p.endswith("site-packages")), None)
    if site is None or not os.path.exists("/usr/bin/python3"):
        return None
    root = str(Path(__file__).resolve().parents[2])
    env = dict(ENV, PYTHONPATH=f"{root}:{site}", HOME="/tmp", XDG_CACHE_HOME="/tmp")
    cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3"]
    probe = subprocess.run([*cmd, "-c", "import lark, llvmlite, elftools, pytrace"],
                           capture_output=True, env=env, timeout=30)
    if probe.returncode != 0:
        return None
    return subprocess.run([*cmd, "-m", "pytrace", *args], capture_output=True, text=True,
                          timeout=60, env=env)


def test_non_root_listing_is_one_error_not_an_empty_list() -> None:
    r = _as_nobody("-l", "t:sched:*")
    if r is None:
        pytest.skip("no interpreter that a non-root user can run pytrace with")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("ERROR: ") and len(r.stderr.splitlines()) == 1
    assert "tracefs" in r.stderr
    everything = _as_nobody("-l")
    assert everything is not None and everything.returncode == 1
