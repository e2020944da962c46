"""Each tool in scripts/ run through pytrace against a workload this test creates.

Workloads are small Python programs written to a tmp dir and started with `-c`, so the
script ends when the workload does. Each renames itself (prctl) so its events can be
told apart from the rest of the machine, and writes its pid to a file (never to the
stdout it shares with pytrace, where lines of the two processes could interleave).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
ENV = dict(os.environ, PYTRACE_NO_CACHE="1")
PRELUDE = """\
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(15, sys.argv[1].encode(), 0, 0, 0)
with open(sys.argv[2], "w") as _pidfile:
    _pidfile.write(str(os.getpid()))
"""


def run_script(tmp_path: Path, name: str, comm: str, body: str, *args: str) -> tuple[str, int]:
    """Run scripts/NAME.bt with -c on a workload; (stdout, the workload's pid)."""
    wl = tmp_path / f"{comm}.py"
    wl.write_text(PRELUDE + body)
    pidfile = tmp_path / f"{comm}.pid"
    r = subprocess.run([sys.executable, "-m", "pytrace", "-c",
                        f"{sys.executable} {wl} {comm} {pidfile}",
                        str(SCRIPTS / f"{name}.bt"), *args],
                       capture_output=True, text=True, timeout=120, env=ENV)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    return r.stdout, int(pidfile.read_text())


def rows(out: str, first: str) -> list[list[str]]:
    """Output lines split on whitespace whose first column is `first`."""
    return [ln.split() for ln in out.splitlines() if ln.split()[:1] == [first]]


def hist_total(out: str, header: str) -> dict[str, int]:
    """The bucket counts of the histogram printed under `header` ('@usecs[x]:')."""
    lines = out.splitlines()
    start = lines.index(header) + 1
    buckets: dict[str, int] = {}
    for ln in lines[start:]:
        if not ln.startswith("["):
            break
        label, rest = ln.split(")", 1) if ")" in ln else ln.split("]", 1)
        buckets[label + ")"] = int(rest.split("|")[0])
    return buckets


def test_every_script_is_an_executable_with_a_header() -> None:
    scripts = sorted(SCRIPTS.glob("*.bt"))
    assert len(scripts) >= 12
    for s in scripts:
        text = s.read_text()
        assert text.startswith("#!/usr/bin/env pytrace\n/*\n"), s
        assert f" * {s.stem} - " in text, s
        assert os.access(s, os.X_OK), s


def test_scripts_run_as_executables_through_the_shebang() -> None:
    if shutil.which("pytrace") is None:
        pytest.skip("pytrace is not on PATH")
    env = dict(ENV, __BPFTRACE_NOTIFY_PROBES_ATTACHED="1")
    proc = subprocess.Popen([str(SCRIPTS / "syscount.bt")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        while "__BPFTRACE_NOTIFY_PROBES_ATTACHED" not in proc.stdout.readline():
            assert proc.poll() is None, proc.stderr
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Top 10 syscalls IDs:" in out and "@process[" in out


def test_execsnoop(tmp_path: Path) -> None:
    out, pid = run_script(tmp_path, "execsnoop", "pt_exec",
                          "subprocess = __import__('subprocess')\n"
                          "subprocess.run(['/bin/true'])\nsubprocess.run(['/bin/echo', 'x'])\n")
    lines = [ln.split() for ln in out.splitlines()]
    files = [r[3] for r in lines if len(r) == 4 and r[1].isdigit() and int(r[1]) > pid]
    assert "/bin/true" in files and "/bin/echo" in files, out


def test_opensnoop(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-file"
    present = tmp_path / "present"
    present.write_text("x")
    out, pid = run_script(tmp_path, "opensnoop", "pt_open",
                          f"os.close(os.open({str(present)!r}, os.O_RDONLY))\n"
                          f"try:\n    os.open({str(missing)!r}, os.O_RDONLY)\nexcept OSError:\n    pass\n")
    mine = {r[4]: r for r in rows(out, str(pid)) if len(r) == 5}
    assert int(mine[str(present)][2]) >= 0 and mine[str(present)][3] == "0"
    assert mine[str(missing)][2:4] == ["-1", "2"]
    assert mine[str(present)][1] == "pt_open"


def test_syscount(tmp_path: Path) -> None:
    out, _ = run_script(tmp_path, "syscount", "pt_sysc", "for _ in range(20000): os.getppid()\n")
    assert "Top 10 processes:" in out
    counts = dict(ln.rsplit(": ", 1) for ln in out.splitlines() if ln.startswith("@"))
    assert int(counts["@process[pt_sysc]"]) >= 20000
    assert int(counts["@syscall[110]"]) >= 20000  # getppid on x86_64


def test_killsnoop(tmp_path: Path) -> None:
    out, pid = run_script(tmp_path, "killsnoop", "pt_kill",
                          "os.kill(os.getpid(), 0)\n"
                          "try:\n    os.kill(4194303, 0)\nexcept OSError:\n    pass\n")
    mine = [r[1:] for r in rows(out, str(pid))]
    assert ["pt_kill", "0", str(pid), "0"] in mine
    assert ["pt_kill", "0", "4194303", "-3"] in mine  # ESRCH


def test_statsnoop(tmp_path: Path) -> None:
    missing = tmp_path / "stat-missing"
    out, pid = run_script(tmp_path, "statsnoop", "pt_stat",
                          f"os.stat({str(tmp_path)!r})\n"
                          f"try:\n    os.stat({str(missing)!r})\nexcept OSError:\n    pass\n")
    mine = {r[3]: r[2] for r in rows(out, str(pid)) if len(r) == 4}
    assert mine[str(tmp_path)] == "0" and mine[str(missing)] == "2"


def test_syncsnoop(tmp_path: Path) -> None:
    f = tmp_path / "data"
    out, pid = run_script(tmp_path, "syncsnoop", "pt_sync",
                          f"fd = os.open({str(f)!r}, os.O_WRONLY | os.O_CREAT)\n"
                          "os.write(fd, b'x')\nos.fsync(fd)\nos.fdatasync(fd)\nos.close(fd)\n")
    events = [ln.split()[-1] for ln in out.splitlines() if f" {pid} " in f" {ln} " and "pt_sync" in ln]
    assert events == ["tracepoint:syscalls:sys_enter_fsync", "tracepoint:syscalls:sys_enter_fdatasync"]


def test_pidpersec(tmp_path: Path) -> None:
    out, _ = run_script(tmp_path, "pidpersec", "pt_fork",
                        "for _ in range(5):\n    p = os.fork()\n    if p == 0: os._exit(0)\n"
                        "    os.waitpid(p, 0)\ntime.sleep(1.3)\n")
    assert "Tracing new processes" in out
    counts = [int(ln.split("@forks: ")[1]) for ln in out.splitlines() if "@forks: " in ln]
    assert counts and max(counts) >= 5, out


def test_threadsnoop(tmp_path: Path) -> None:
    out, pid = run_script(tmp_path, "threadsnoop", "pt_thread",
                          "import threading\nfor _ in range(3):\n"
                          "    t = threading.Thread(target=lambda: None); t.start(); t.join()\n")
    mine = [r for r in (ln.split() for ln in out.splitlines()) if len(r) == 4 and r[1] == str(pid)]
    assert len(mine) == 3 and all(r[2] == "pt_thread" and r[3].startswith("0x") for r in mine)


def test_bashreadline(tmp_path: Path) -> None:
    out, _ = run_script(tmp_path, "bashreadline", "pt_pty",
                        "import pty\npid, fd = pty.fork()\nif pid == 0:\n"
                        "    os.execvp('bash', ['bash', '--norc', '--noprofile', '-i'])\n"
                        "os.write(fd, b'echo pt_marker_one\\nexit\\n')\n"
                        "while True:\n    try:\n        data = os.read(fd, 1024)\n"
                        "    except OSError:\n        break\n    if not data:\n        break\n"
                        "os.waitpid(pid, 0)\n")
    commands = [ln.split(None, 2)[2] for ln in out.splitlines()
                if len(ln.split(None, 2)) == 3 and ln[:2].isdigit() and ln[2] == ":"]
    assert "echo pt_marker_one" in commands and "exit" in commands, out


def test_setuids(tmp_path: Path) -> None:
    out, pid = run_script(tmp_path, "setuids", "pt_setuid", "os.setresuid(0, 0, 0)\nos.setuid(0)\n")
    mine = [" ".join(r[2:]) for r in rows(out, str(pid))]
    assert "0 setresuid ruid=0 euid=0 suid=0 (0)" in mine
    assert "0 setuid uid=0 (0)" in mine


def test_naptime(tmp_path: Path) -> None:
    out, pid = run_script(tmp_path, "naptime", "pt_nap", "time.sleep(0.05)\ntime.sleep(0.2)\n")
    naps = [int(r[-1]) for r in (ln.split() for ln in out.splitlines()) if str(pid) in r and "pt_nap" in r]
    # nanosleep never returns early without a signal: the slept time is at least the request
    assert len(naps) == 2 and naps[0] >= 50 and naps[1] >= 200, out


def test_readlatency(tmp_path: Path) -> None:
    out, _ = run_script(tmp_path, "readlatency", "pt_readlat",
                        "fd = os.open('/dev/zero', os.O_RDONLY)\nfor _ in range(50): os.read(fd, 10)\n")
    assert sum(hist_total(out, "@usecs[pt_readlat]:").values()) >= 50


def test_readsize(tmp_path: Path) -> None:
    out, _ = run_script(tmp_path, "readsize", "pt_readsz",
                        "fd = os.open('/dev/zero', os.O_RDONLY)\nfor _ in range(20): os.read(fd, 4096)\n")
    assert hist_total(out, "@bytes[pt_readsz]:") == {"[4K, 8K)": 20}


def test_sigsnoop(tmp_path: Path) -> None:
    out, pid = run_script(tmp_path, "sigsnoop", "pt_sig",
                          "import signal\nsignal.signal(signal.SIGUSR1, lambda *a: None)\n"
                          "os.kill(os.getpid(), signal.SIGUSR1)\n")
    assert ["pt_sig", "10", str(pid), "pt_sig", "0"] in [r[1:] for r in rows(out, str(pid))]


def test_mallocbytes(tmp_path: Path) -> None:
    out, _ = run_script(tmp_path, "mallocbytes", "pt_malloc",
                        "libc.malloc.restype = ctypes.c_void_p\nlibc.free(ctypes.c_void_p(libc.malloc(12345678)))\n")
    sums = dict(ln.rsplit(": ", 1) for ln in out.splitlines() if ln.startswith("@bytes["))
    assert int(sums["@bytes[pt_malloc]"]) >= 12345678
    assert "@sizes:" in out


def test_errnos(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope")
    out, _ = run_script(tmp_path, "errnos", "pt_errno",
                        f"for _ in range(3):\n    try:\n        os.open({missing!r}, 0)\n"
                        "    except OSError:\n        pass\n")
    counts = dict(ln.rsplit(": ", 1) for ln in out.splitlines() if ln.startswith("@errors["))
    assert counts["@errors[pt_errno, 257, 2]"] == "3"  # openat, ENOENT
