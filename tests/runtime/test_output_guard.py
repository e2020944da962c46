"""exit(), SIGINT and SIGTERM stop pytrace promptly even when its stdout is a pipe that
nobody reads; a reader that keeps up still gets exactly bpftrace's output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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


def test_slow_reader_gets_exact_output() -> None:
    prog = 'BEGIN { $i = 0; while ($i < 3000) { printf("line %d of the output\\n", $i); $i++; } exit(); }'
    p = subprocess.Popen([sys.executable, "-m", "pytrace", "-e", prog], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=ENV)
    assert p.stdout is not None
    time.sleep(1.5)  # let the pipe fill and pytrace block on it
    chunks = []
    while chunk := p.stdout.read(4096):
        chunks.append(chunk)
        time.sleep(0.01)
    p.wait(timeout=30)
    expected = "".join(f"line {i} of the output\n" for i in range(3000)) + "\n\n"
    assert b"".join(chunks).decode() == expected
    assert p.returncode == 0
