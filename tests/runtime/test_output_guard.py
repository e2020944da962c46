"""exit(), SIGINT and SIGTERM stop pytrace promptly even when its stdout is a pipe that
nobody reads; a reader that keeps up still gets exactly bpftrace's output."""

from __future__ import annotations

import array
import fcntl
import mmap
import os
import signal
import subprocess
import sys
import termios
import time

import pytest

ENV = dict(os.environ, PYTRACE_NO_CACHE="1")
FLOOD = 'interval:us:100 { printf("%s %d\\n", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", nsecs); }'


def _run_unread(program: str, sig: int | None, settle: float = 2.0) -> tuple[float, int, str]:
    """(seconds from the signal (or from `settle`) to exit, exit code, stderr)."""
    r, w = os.pipe()
    p = subprocess.Popen([sys.executable, "-m", "pytrace", "-e", program], stdout=w,
                         stderr=subprocess.PIPE, text=True,
                         env=dict(ENV, __BPFTRACE_NOTIFY_PROBES_ATTACHED="1"))
    os.close(w)
    try:
        seen = b""
        while b"__BPFTRACE_NOTIFY_PROBES_ATTACHED\n" not in seen:  # attached: stop reading
            chunk = os.read(r, 1)
            assert chunk, p.communicate()[1]
            seen += chunk
        time.sleep(settle)  # the pipe is full long before this
        start = time.monotonic()
        if sig is not None:
            p.send_signal(sig)
        try:
            _, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            pytest.fail("pytrace did not stop with its stdout blocked")
        return time.monotonic() - start, p.returncode, err
    finally:
        os.close(r)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_with_blocked_stdout(sig: int) -> None:
    seconds, code, err = _run_unread(FLOOD, sig)
    assert code == 0 and "Traceback" not in err
    assert seconds < 15


def test_exit_stops_with_blocked_stdout() -> None:
    seconds, code, err = _run_unread(FLOOD + " interval:s:1 { exit(); }", None)
    assert code == 0 and "Traceback" not in err
    assert seconds < 15


def test_exit_stops_with_blocked_stdout_when_its_record_was_lost() -> None:
    # a 64 KiB ring buffer filled exactly by 16-byte records: exit()'s own record does
    # not fit, so only its flag says the program wants to stop while the write is stuck
    prog = ('config = { perf_rb_pages = 16 } BEGIN { $i = 0; while ($i < 5000) { printf("'
            + "y" * 60 + '\\n"); $i++; } exit(); }')
    _, code, err = _run_unread(prog, None, settle=0.0)
    assert code == 0 and "Traceback" not in err
    assert "Lost " in err  # the ring buffer did overflow


def _wait_full(p: subprocess.Popen[bytes]) -> None:
    """Wait until p's stdout pipe is full (its writer blocks) or p has exited. A reader
    that starts any later than this would be a stuck one: once exit() is pending, the
    guard gives such a reader STOP_GRACE_S seconds, then drops the rest."""
    assert p.stdout is not None
    fd = p.stdout.fileno()
    size = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
    deadline = time.monotonic() + 60
    while p.poll() is None and time.monotonic() < deadline:
        queued = array.array("i", [0])
        fcntl.ioctl(fd, termios.FIONREAD, queued)
        if queued[0] > size - mmap.PAGESIZE:  # every page of the pipe is in use
            return
        time.sleep(0.005)


def test_slow_reader_gets_exact_output() -> None:
    prog = 'BEGIN { $i = 0; while ($i < 3000) { printf("line %d of the output\\n", $i); $i++; } exit(); }'
    p = subprocess.Popen([sys.executable, "-m", "pytrace", "-e", prog], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=ENV)
    assert p.stdout is not None
    _wait_full(p)  # pytrace is blocked on the pipe: now read, slowly but steadily
    chunks = []
    while chunk := p.stdout.read(4096):
        chunks.append(chunk)
        time.sleep(0.01)
    p.wait(timeout=30)
    expected = "".join(f"line {i} of the output\n" for i in range(3000)) + "\n\n"
    assert b"".join(chunks).decode() == expected
    assert p.returncode == 0
