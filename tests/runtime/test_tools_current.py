"""Tools written the way bpftrace's current tools are (tests/runtime/tools/*.bt: config
blocks, map declarations, macros, `if` without parentheses, block-scoped variables),
each run unchanged by the CLI on a workload this test starts with -c."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TOOLS = Path(__file__).with_name("tools")
ENV = dict(os.environ, PYTRACE_NO_CACHE="1")
WORKLOAD = """\
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(15, sys.argv[1].encode(), 0, 0, 0)
with open(sys.argv[2], "w") as f:
    f.write(str(os.getpid()))
os.close(os.open({present!r}, os.O_RDONLY))
try:
    os.open({missing!r}, os.O_RDONLY)
except OSError:
    pass
os.kill(os.getpid(), 0)
try:
    os.kill(4194303, 0)
except OSError:
    pass
for _ in range(300):
    os.getppid()
for _ in range(20):
    time.sleep(0.001)
"""


def run_tool(tmp_path: Path, name: str) -> tuple[str, int]:
    comm = "pt_" + name.split("_")[0][:8]
    present, missing = tmp_path / "present", tmp_path / "missing"
    present.write_text("x")
    wl, pidfile = tmp_path / "wl.py", tmp_path / "wl.pid"
    wl.write_text(WORKLOAD.format(present=str(present), missing=str(missing)))
    r = subprocess.run([sys.executable, "-m", "pytrace", "-c",
                        f"{sys.executable} {wl} {comm} {pidfile}",
                        str(TOOLS / f"{name}.bt"), comm],
                       capture_output=True, text=True, timeout=120, env=ENV)
    assert r.returncode == 0, r.stderr
    assert "ERROR" not in r.stderr and "WARNING" not in r.stderr, r.stderr
    return r.stdout, int(pidfile.read_text())


def mine(out: str, pid: int) -> list[list[str]]:
    return [ln.split() for ln in out.splitlines() if ln.split()[:1] == [str(pid)]]


def test_opensnoop(tmp_path: Path) -> None:
    out, pid = run_tool(tmp_path, "opensnoop_current")
    rows = {r[4]: r for r in mine(out, pid)}
    assert int(rows[str(tmp_path / "present")][2]) >= 0
    assert rows[str(tmp_path / "present")][3] == "0"
    assert rows[str(tmp_path / "missing")][2:4] == ["-1", "2"]
    assert out.splitlines()[0].split() == ["PID", "COMM", "FD", "ERR", "PATH"]


def test_killsnoop(tmp_path: Path) -> None:
    out, pid = run_tool(tmp_path, "killsnoop_current")
    rows = [r[1:] for r in mine(out, pid)]
    assert ["pt_killsnoo", "0", str(pid), "0"] in rows
    assert ["pt_killsnoo", "0", "4194303", "-3"] in rows


def test_syscount(tmp_path: Path) -> None:
    out, _ = run_tool(tmp_path, "syscount_current")
    assert out.startswith("Counting syscalls...\n\nTop 10 syscalls IDs:\n")
    counts = dict(ln.rsplit(": ", 1) for ln in out.splitlines() if ln.startswith("@"))
    assert int(counts["@syscall[110]"]) >= 300  # getppid
    assert int(counts["@process[pt_syscount]"]) >= 300
    assert "@ticks" not in out  # print_maps_on_exit = false
    assert sum(1 for k in counts if k.startswith("@syscall[")) <= 10


def test_runqlat(tmp_path: Path) -> None:
    out, _ = run_tool(tmp_path, "runqlat_current")
    assert out.startswith("Tracing CPU scheduler... Hit Ctrl-C to end.\n")
    switches = int(out.split("@switches: ")[1].split()[0])
    assert switches >= 20  # every sleep ends with a wakeup and a switch back in
    assert "@usecs:\n" in out and "@qtime" not in out
