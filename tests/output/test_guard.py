"""The guarded writer: exact output while the reader keeps up; once stopping is
requested, a pipe nobody reads is given up on instead of blocking forever."""

from __future__ import annotations

import io
import os
import select
import sys
import threading
import time

import pytest

from pytrace.output import guard
from pytrace.output.guard import GuardedWriter, guard_output, guard_stream


def _pipe_stream(w: int) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BufferedWriter(io.FileIO(w, "w", closefd=False)), encoding="utf-8")


def test_slow_reader_gets_every_byte() -> None:
    r, w = os.pipe()
    stream = guard_stream(_pipe_stream(w), lambda: False)
    assert isinstance(stream.buffer.raw, GuardedWriter)  # type: ignore[attr-defined]
    expected = "".join(f"line {i} {'x' * (i % 90)}\n" for i in range(20000))
    got: list[bytes] = []

    def reader() -> None:
        while chunk := os.read(r, 3000):
            got.append(chunk)
            time.sleep(0.0005)

    t = threading.Thread(target=reader)
    t.start()
    stream.write(expected)
    stream.close()  # its own non-blocking description of the pipe closes too
    os.close(w)
    t.join()
    os.close(r)
    assert b"".join(got).decode() == expected


def test_nobody_reading_gives_up_once_stopping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard, "STOP_GRACE_S", 0.2)
    r, w = os.pipe()
    stop = threading.Event()
    stream = guard_stream(_pipe_stream(w), stop.is_set)
    threading.Timer(0.5, stop.set).start()
    start = time.monotonic()
    for _ in range(100):
        stream.write("y" * 10000 + "\n")  # 1 MB into a 64 KB pipe nobody reads
    stream.flush()
    assert time.monotonic() - start < 10
    assert stream.buffer.raw.abandoned  # type: ignore[attr-defined]
    stream.close()
    os.close(r)
    os.close(w)


def test_not_stopping_keeps_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard, "STOP_GRACE_S", 0.05)
    r, w = os.pipe()
    stream = guard_stream(_pipe_stream(w), lambda: False)
    done = threading.Event()

    def writer() -> None:
        stream.write("z" * 200_000)
        stream.flush()
        done.set()

    threading.Thread(target=writer, daemon=True).start()
    time.sleep(0.5)
    assert not done.is_set()  # blocked, as a plain write would be, but not given up
    data = b""
    while len(data) < 200_000:
        data += os.read(r, 65536)
    assert done.wait(5) and data == b"z" * 200_000
    stream.close()
    os.close(r)
    os.close(w)


def test_files_and_string_streams_are_left_alone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = io.StringIO()
    assert guard_stream(s, lambda: False) is s


def test_forked_children_do_not_keep_the_pipe_open() -> None:
    r, w = os.pipe()
    stream = guard_stream(_pipe_stream(w), lambda: False)
    pid = os.fork()
    if pid == 0:  # like the perf-event releaser: closes the stdio fd, holds the rest
        os.close(w)
        time.sleep(30)
        os._exit(0)
    try:
        stream.write("bye\n")
        stream.flush()
        os.close(w)
        stream.buffer.raw.release_nonblocking()  # type: ignore[attr-defined]
        data = b""
        while select.select([r], [], [], 10)[0]:
            chunk = os.read(r, 100)
            if not chunk:
                break
            data += chunk
        assert data == b"bye\n"
        assert os.waitpid(pid, os.WNOHANG) == (0, 0)  # EOF came while the child still runs
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(r)


def test_guard_output_keeps_encoding_and_buffering() -> None:
    r, w = os.pipe()
    inner = io.TextIOWrapper(io.BufferedWriter(io.FileIO(w, "w", closefd=False)), encoding="latin-1",
                             errors="replace", line_buffering=True)

    class Out:
        stream = inner
        err = sys.stderr

    out = Out()
    guard_output(out, lambda: False)
    assert out.stream is not inner and out.stream.encoding == "latin-1"
    assert out.stream.line_buffering
    out.stream.write("é\n")  # line buffered: reaches the pipe at once
    assert os.read(r, 10) == "é\n".encode("latin-1")
    out.stream.close()
    os.close(r)
    os.close(w)
