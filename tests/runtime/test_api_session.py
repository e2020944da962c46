"""pytrace.trace / Session against the kernel: attach on entry, events with typed
values and probes, run(), wait(), cmd and pid, and every fd released after a normal
exit, an exception in the block, KeyboardInterrupt, Ctrl-C during run() and a failed
start (missing privileges or kernel feature)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable

import pytest

import pytrace

WORKLOAD = os.path.join(os.path.dirname(__file__), "workload.py")
GETPPID = "tracepoint:syscalls:sys_enter_getppid"


def workload(comm: str, *ops: str) -> list[str]:
    return [sys.executable, WORKLOAD, comm, *ops]


@pytest.fixture(autouse=True)
def _warm() -> None:
    """Lazily created process-wide state (feature probes, symbol caches) first."""
    pytrace.run("BEGIN { exit(); }")


def test_events_carry_values_probe_and_text(open_fds: Callable[[], int]) -> None:
    before = open_fds()
    prog = (f'BEGIN {{ printf("start %s\\n", "x"); }} {GETPPID} /pid == cpid/ '
            '{ printf("%d %s %d\\n", pid, comm, args.__syscall_nr); }')
    with pytrace.trace(prog, cmd=workload("pt_api_ev", "getppid", "3")) as s:
        assert s.attached == 2 and s.running  # BEGIN counts, as in bpftrace
        events = list(s.events(timeout=30))
        assert not s.running and s.exit_code == 0
    assert open_fds() == before
    assert events[0] == pytrace.Event("printf", "BEGIN", ("x",), "start x\n")
    calls = [e for e in events if e.probe == GETPPID]
    assert len(calls) == 3 and len(events) == 4
    for e in calls:
        pid, comm, nr = e.values
        assert e.kind == "printf" and comm == "pt_api_ev" and pid == s.child_pid
        assert e.text == f"{pid} pt_api_ev {nr}\n"


def test_wide_syscall_globs_name_each_tracepoint() -> None:
    """One compiled body serves many tracepoints: the record carries its probe."""
    prog = 'tracepoint:syscalls:sys_enter_* /pid == cpid/ { printf("%s\\n", probe); }'
    with pytrace.trace(prog, cmd=workload("pt_api_wide", "getppid", "2")) as s:
        events = list(s.events(timeout=60))
    assert events and all(e.probe == e.values[0] for e in events)
    assert sum(e.probe == GETPPID for e in events) == 2


def test_exit_print_and_time_events() -> None:
    prog = ('BEGIN { @c[1] = count(); @c[2] = count(); @c[2] = count(); print(@c); '
            'print(7); time("%Y"); exit(3); printf("never\\n"); } END { printf("end\\n"); }')
    with pytrace.trace(prog) as s:
        events = list(s.events(timeout=30))
        assert s.exit_code == 3
    kinds = [e.kind for e in events]
    assert kinds == ["print_map", "print_value", "time", "exit", "printf"]
    assert events[0].values == ({1: 1, 2: 2},) and events[0].text == "@c[1]: 1\n@c[2]: 2\n"
    assert events[1].values == (7,) and events[1].text == "7\n"
    assert events[2].text.isdigit()
    assert events[3].values == (3,) and events[4].probe == "END"


def test_events_timeout_leaves_the_session_running(open_fds: Callable[[], int]) -> None:
    before = open_fds()
    with pytrace.trace(f"{GETPPID} /pid == {os.getpid()}/ {{ printf(\"x\\n\"); }}") as s:
        assert list(s.events(timeout=0)) == []
        os.getppid()
        assert s.wait(0.2)
        got = list(s.events(timeout=0))
        assert [e.text for e in got] == ["x\n"] and s.running
        assert s.stop() == 0 and not s.running
        assert list(s.events()) == []
    assert open_fds() == before


def test_run_until_exit_duration_or_child() -> None:
    with pytrace.trace("interval:ms:100 { @n = count(); if (@n == 3) { exit(5); } }") as s:
        assert s.run() == 5
        assert s.maps["@n"][()] == 3
    with pytrace.trace("interval:ms:50 { @n = count(); }") as s:
        assert s.run(duration=0.3) == 0 and s.maps["@n"][()] >= 1
    with pytrace.trace(f"{GETPPID} /pid == cpid/ {{ @n = count(); }}",
                       cmd=workload("pt_api_run", "getppid", "4")) as s:
        assert s.run() == 0 and s.maps["@n"][()] == 4


def test_pid_option_filters() -> None:
    child = subprocess.Popen(workload("pt_api_pid", "wait", "getppid", "6"), stdin=subprocess.PIPE)
    assert child.stdin is not None
    try:
        with pytrace.trace(f"{GETPPID} {{ @n[pid] = count(); }}", pid=child.pid) as s:
            child.stdin.close()  # attached: the child may make its calls now
            child.wait(timeout=60)
            s.wait(0.1)
            assert dict(s.maps["@n"]) == {child.pid: 6}
    finally:
        child.kill()
        child.wait()


def test_exception_in_block_releases_everything(open_fds: Callable[[], int]) -> None:
    before = open_fds()
    with pytest.raises(ZeroDivisionError), pytrace.trace(f"{GETPPID} {{ @n = count(); }}") as s:
        assert "@n" in s.maps
        1 / 0  # noqa: B018
    assert open_fds() == before
    with pytest.raises(RuntimeError):
        s.maps  # noqa: B018 - closed


def test_keyboard_interrupt_in_block_releases_everything(open_fds: Callable[[], int]) -> None:
    before = open_fds()
    with pytest.raises(KeyboardInterrupt), pytrace.trace(f"{GETPPID} {{ @n = count(); }}"):
        raise KeyboardInterrupt
    assert open_fds() == before


def _sigint_soon() -> threading.Timer:
    t = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    t.start()
    return t


def test_ctrl_c_stops_run(open_fds: Callable[[], int]) -> None:
    before = open_fds()
    with pytrace.trace('interval:ms:50 { @n = count(); } END { printf("end\\n"); }') as s:
        timer = _sigint_soon()
        assert s.run() == 0  # the SIGINT arrives while run() waits: it stops, no raise
        timer.join()
        assert [e.text for e in s.events()][-1] == "end\n"
    assert open_fds() == before


def test_ctrl_c_while_reading_events_raises_and_releases(open_fds: Callable[[], int]) -> None:
    before = open_fds()
    with pytest.raises(KeyboardInterrupt), pytrace.trace("interval:ms:50 { @n = count(); }") as s:
        timer = _sigint_soon()
        for _ in s.events():
            pass
    timer.join()
    assert open_fds() == before


def test_missing_kernel_feature_is_a_trace_error(open_fds: Callable[[], int]) -> None:
    before = open_fds()
    with pytest.raises(pytrace.FeatureUnavailable, match="kprobe"), \
            pytrace.trace("kprobe:vfs_read { @ = count(); }"):
        pass
    assert open_fds() == before


def test_missing_privileges_is_a_trace_error() -> None:
    code = ("import pytrace\n"
            "try:\n"
            "    with pytrace.trace('BEGIN { exit(); }'):\n"
            "        pass\n"
            "except pytrace.PrivilegeError as e:\n"
            "    print('refused:', e)\n")
    r = subprocess.run(["setpriv", "--bounding-set", "-all", "--inh-caps", "-all",
                        sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("refused: ") and "CAP_BPF" in r.stdout
    assert "Traceback" not in r.stderr


def test_a_session_is_not_reused() -> None:
    s = pytrace.trace("BEGIN { exit(); }")
    with pytest.raises(RuntimeError):
        s.maps  # noqa: B018 - not started
    with s:
        pass
    with pytest.raises(RuntimeError):
        s.start()


def test_a_program_runs_twice() -> None:
    prog = pytrace.compile("BEGIN { @x = 1; exit(); }")
    for _ in range(2):
        assert pytrace.run(prog).maps == {"@x": {(): 1}}


def test_serve_prometheus_until_the_session_ends(open_fds: Callable[[], int]) -> None:
    import urllib.request

    before = open_fds()
    prog = f"{GETPPID} /pid == {os.getpid()}/ {{ @calls[comm] = count(); }}"
    with pytrace.trace(prog) as s:
        server = s.serve_prometheus()
        os.getppid()
        os.getppid()
        s.wait(0.05)
        with urllib.request.urlopen(server.url, timeout=30) as page:
            body = page.read().decode()
        comm = open("/proc/self/comm").read().strip()
        assert f'pytrace_calls_total{{comm="{comm}"}} 2.0' in body
    assert open_fds() == before  # the server closed before the maps did


def test_lost_records_are_counted_not_raised() -> None:
    n = 100_000  # far more records than a 64 KiB ring buffer holds while nobody reads
    prog = (f'config = {{ perf_rb_pages = 16 }} {GETPPID} /pid == {os.getpid()}/ '
            f'{{ printf("%s %d %d\\n", comm, pid, tid); }}')
    with pytrace.trace(prog, max_events=n) as s:
        for _ in range(n):
            os.getppid()
        events = list(s.events(timeout=1))
        assert s.lost > 0
        assert len(events) + s.lost == n and s.dropped == 0
