"""Output that can never keep pytrace from stopping.

A blocking write to a pipe nobody reads never returns, and Python retries it after every
signal, so neither exit(), SIGINT nor SIGTERM could stop a session whose output is
stuck. `guard_output` re-points an Output's streams at a writer that waits for the fd
with poll(): while nothing asks to stop it waits as long as the reader needs (the
output is exactly what it would be otherwise); once stopping is requested, a write
that makes no progress for STOP_GRACE_S seconds drops the rest of the output.

Only pipes, FIFOs, sockets and terminals are guarded (regular files never block).
"""

from __future__ import annotations

import io
import os
import select
import stat
import time
import weakref
from collections.abc import Callable
from typing import Any, TextIO

STOP_GRACE_S = 1.0
POLL_MS = 100
CHUNK = 4096  # a pipe that polls writable takes this much without blocking (PIPE_BUF)


class GuardedWriter(io.RawIOBase):
    """A raw writer for `fd` that gives up when `stopping()` and the fd stays full.

    Writes go through a second, non-blocking open file description of the same pipe or
    terminal (/proc/self/fd/N), so the shared description's flags never change and a
    write takes whatever fits; where that cannot be opened (sockets), poll() guards
    writes of at most CHUNK bytes on the fd itself."""

    def __init__(self, fd: int, stopping: Callable[[], bool]) -> None:
        super().__init__()
        self.fd = fd
        self.stopping = stopping
        self.abandoned = False
        try:
            self._nb = os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
        except OSError:
            self._nb = -1
        _LIVE.add(self)
        self._poll = select.poll()
        self._poll.register(self._nb if self._nb >= 0 else fd, select.POLLOUT)

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def isatty(self) -> bool:
        return os.isatty(self.fd)

    def close(self) -> None:
        self.release_nonblocking()
        super().close()

    def release_nonblocking(self) -> None:
        """Close the extra description (the reader sees EOF once the fd itself closes)."""
        if self._nb >= 0:
            self._poll.unregister(self._nb)
            os.close(self._nb)
            self._nb = -1
            self._poll.register(self.fd, select.POLLOUT)

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        if self.abandoned:
            return len(view)
        if self._nb >= 0:
            try:
                return os.write(self._nb, view)
            except BlockingIOError:
                pass
        blocked_since: float | None = None
        while True:
            if self._poll.poll(POLL_MS):  # writable, or an error that write() reports (EPIPE)
                if self._nb < 0:
                    return os.write(self.fd, view[:CHUNK])
                try:
                    return os.write(self._nb, view)
                except BlockingIOError:
                    continue
            if not self.stopping():
                blocked_since = None
                continue
            now = time.monotonic()
            if blocked_since is None:
                blocked_since = now
            elif now - blocked_since >= STOP_GRACE_S:
                self.abandoned = True  # nobody reads: the rest is dropped so we can stop
                return len(view)


_LIVE: weakref.WeakSet[GuardedWriter] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A forked child (the perf-event releaser, LLVM) must not keep our pipes open."""
    for w in list(_LIVE):
        if w._nb >= 0:
            os.close(w._nb)
            w._nb = -1
            w._poll = select.poll()
            w._poll.register(w.fd, select.POLLOUT)


os.register_at_fork(after_in_child=_after_fork_in_child)


def _needs_guard(stream: Any) -> int | None:
    """The fd of a stream that can block (pipe, FIFO, socket, terminal), else None."""
    try:
        fd = stream.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode) and os.isatty(fd):
        return fd
    return None


def guard_stream(stream: TextIO, stopping: Callable[[], bool]) -> TextIO:
    """A text stream like `stream` (same fd, encoding, buffering) whose writes give up
    once `stopping()` holds and the fd accepts nothing; `stream` itself when it cannot block."""
    if isinstance(getattr(stream, "buffer", None), io.BufferedWriter) and isinstance(
            getattr(stream.buffer, "raw", None), GuardedWriter):
        return stream
    fd = _needs_guard(stream)
    if fd is None or not isinstance(stream, io.TextIOWrapper):
        return stream
    stream.flush()
    raw = GuardedWriter(fd, stopping)
    buffered = io.BufferedWriter(raw, io.DEFAULT_BUFFER_SIZE)
    return io.TextIOWrapper(buffered, encoding=stream.encoding, errors=stream.errors,
                            line_buffering=stream.line_buffering, write_through=stream.write_through)


def guard_output(output: Any, stopping: Callable[[], bool]) -> None:
    """Re-point an Output's `stream` and `err` (and a rich console's file) at guarded ones."""
    for attr in ("stream", "err"):
        stream = getattr(output, attr, None)
        if stream is not None:
            setattr(output, attr, guard_stream(stream, stopping))
    console = getattr(output, "console", None)
    if console is not None and getattr(output, "stream", None) is not None:
        console.file = output.stream


def session_stopping(session: Any) -> Callable[[], bool]:
    """True once the session is asked to stop: a signal, or an exit() record waiting in
    the ring buffer (found by peeking, so a stuck write cannot hide it)."""
    exit_ids = {e.id for e in session.resources.events if e.kind == "exit"}

    def stopping() -> bool:
        if session.stop.requested:
            return True
        group = getattr(session, "group", None)
        ring = getattr(group, "ring", None) if group is not None else getattr(session, "ring", None)
        return bool(exit_ids) and ring is not None and ring.pending(exit_ids)

    return stopping
