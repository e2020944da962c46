"""The `-c` child starts only after everything is attached, never after a failure, dies
with pytrace, and `-p PID` / `-c` sessions stop when the traced process exits."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pytrace.driver import compile_source
from pytrace.output import make_output
from pytrace.passes.context import Options
from pytrace.resources import BpfObject
from pytrace.runtime.child import Child, PidWatch, resolve_command
from pytrace.runtime.errors import RuntimeFailure
from pytrace.runtime.session import run_session
from pytrace.source import Source

ENV = dict(os.environ, PYTRACE_NO_CACHE="1")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _wait_dead(pid: int, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.02)
    return False


def test_held_child_never_runs_without_release(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    for _ in range(20):
        c = Child(["/bin/sh", "-c", f"touch {marker}"])
        c.kill()
        assert c.exited()
    time.sleep(0.1)
    assert not marker.exists()


def test_released_child_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    c = Child(["sh", "-c", f"touch {marker}"])
    c.release()
    while not c.exited():
        time.sleep(0.01)
    assert marker.exists() and os.WIFEXITED(c.status or 0)


def test_failed_session_never_starts_the_command(tmp_path: Path) -> None:
    obj = compile_source(Source("stdin", "tracepoint:syscalls:sys_enter_getppid { @ = count(); }"),
                         Options(has_child=True)).obj
    bad = tuple(dataclasses.replace(p, attach={"category": "syscalls", "event": "no_such_event"})
                for p in obj.resources.probes)
    broken = BpfObject(obj.elf, dataclasses.replace(obj.resources, probes=bad))
    marker = tmp_path / "ran"
    for _ in range(20):
        with pytest.raises(RuntimeFailure):
            run_session(broken, make_output("text", io.StringIO(), io.StringIO(), quiet=True),
                        ["/bin/sh", "-c", f"touch {marker}"])
    time.sleep(0.1)
    assert not marker.exists()


def test_missing_command_is_refused_before_anything() -> None:
    with pytest.raises(RuntimeFailure, match="does not exist or is not executable"):
        resolve_command(["/nonexistent"])
    with pytest.raises(RuntimeFailure, match="does not exist"):
        resolve_command(["pytrace-no-such-command-xyz"])
    assert resolve_command(["sh"]).endswith("/sh")


def test_exec_failure_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "notabinary"
    bad.write_bytes(b"\x00\x01\x02 not an executable format\n")
    bad.chmod(0o755)
    c = Child([str(bad)])
    with pytest.raises(RuntimeFailure, match="Exec format error"):
        c.release()
    assert c.exited()


@pytest.mark.parametrize("cmd", ["/nonexistent", "pytrace-no-such-command-xyz"])
def test_cli_nonexistent_command_exits_nonzero(cmd: str) -> None:
    r = subprocess.run([sys.executable, "-m", "pytrace", "-c", cmd, "-e", "BEGIN { printf(\"hi\\n\"); }"],
                       capture_output=True, text=True, timeout=60, env=ENV)
    assert r.returncode != 0
    assert "hi" not in r.stdout
    assert r.stderr.lower().startswith("error: failed to fork child: path") and "Traceback" not in r.stderr


_HOLDER = textwrap.dedent("""
    import sys, time
    from pytrace.runtime.child import Child
    c = Child(["sleep", "60"])
    if sys.argv[1] == "release":
        c.release()
    print(c.pid, flush=True)
    time.sleep(60)
""")


@pytest.mark.parametrize("state", ["held", "release"])
def test_child_dies_with_a_killed_parent(state: str) -> None:
    parent = subprocess.Popen([sys.executable, "-c", _HOLDER, state], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    assert _alive(pid)
    parent.kill()
    parent.wait()
    assert _wait_dead(pid), "the child outlived a SIGKILLed pytrace"


def test_cli_child_dies_when_pytrace_is_killed() -> None:
    env = dict(ENV, __BPFTRACE_NOTIFY_PROBES_ATTACHED="1")
    proc = subprocess.Popen([sys.executable, "-m", "pytrace", "-c", "sleep 60", "-e",
                             "tracepoint:syscalls:sys_enter_getppid { @ = count(); }"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    while "__BPFTRACE_NOTIFY_PROBES_ATTACHED" not in proc.stdout.readline():
        assert proc.poll() is None
    kids = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
    assert kids
    proc.kill()
    proc.communicate()
    assert all(_wait_dead(k) for k in kids)


def test_pid_watch() -> None:
    p = subprocess.Popen(["sleep", "60"])
    w = PidWatch(p.pid)
    try:
        assert not w.exited()
        p.kill()
        p.wait()
        assert w.exited()
    finally:
        w.close()
    assert PidWatch(2**22 + 12345).exited()  # above pid_max: no such process


def test_cli_stops_when_the_p_process_exits() -> None:
    target = subprocess.Popen(["sleep", "60"])
    env = dict(ENV, __BPFTRACE_NOTIFY_PROBES_ATTACHED="1")
    proc = subprocess.Popen([sys.executable, "-m", "pytrace", "-p", str(target.pid), "-e",
                             "tracepoint:syscalls:sys_enter_getppid { @ = count(); }"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        while "__BPFTRACE_NOTIFY_PROBES_ATTACHED" not in proc.stdout.readline():
            assert proc.poll() is None
        target.send_signal(signal.SIGTERM)
        target.wait()
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
    finally:
        for p in (proc, target):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_the_child_gets_the_argv_bpftrace_gives_it(tmp_path: Path) -> None:
    """-c is split at every space, nothing else (quotes, backslashes, globs and $VARs
    reach the child as written); argv[0] is the program found."""
    script = tmp_path / "argv.py"
    script.write_text("import sys\nprint(repr(sys.argv[1:]))\n")
    cmd = f'{sys.executable} {script} a  b "c d" e\\ f * $HOME ~ '
    r = subprocess.run([sys.executable, "-m", "pytrace", "-q", "-c", cmd, "-e",
                        "BEGIN { }"], capture_output=True, text=True, timeout=60, env=ENV,
                       cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == repr(
        ["a", "", "b", '"c', 'd"', "e\\", "f", "*", "$HOME", "~"])


def test_child_whose_first_user_stack_comes_before_exec_still_runs(tmp_path: Path) -> None:
    # a page fault of the forked child between the go-ahead and exec takes its user stack
    # (it stops there to have its mappings read): the child must go on and exec, and its
    # stacks after exec are announced again, with the command's own mappings
    prog = 'software:page-faults:1 /pid == cpid/ { @[ustack] = count(); @n = count(); }'
    script = tmp_path / "touch.py"
    script.write_text("x = bytearray(4000000)\n")
    r = subprocess.run([sys.executable, "-m", "pytrace", "-c",
                        f"{sys.executable} {script}", "-e", prog],
                       capture_output=True, text=True, timeout=60, env=ENV)
    assert r.returncode == 0, r.stderr
    n = int(r.stdout.rsplit("@n: ", 1)[1].split()[0])
    assert n > 500  # the 4 MB buffer alone is ~1000 pages: the child ran to its end
    # frames resolve by name (the loader's and libc's, from the command's own mappings)
    assert re.search(r"\n    [A-Za-z_]\w*\+\d+\n", r.stdout), r.stdout
