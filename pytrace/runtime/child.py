"""The processes a session follows: the `-c CMD` child and the `-p PID` target.

`Child` forks at once (before anything is loaded) and holds the command before exec
until `release()`, which the session calls only after every program is loaded and
attached. The held child execs only on the explicit go-ahead byte (never on EOF: a
parent that fails closes the pipe and the child exits), dies with its parent
(PR_SET_PDEATHSIG, checked against a parent that died before it was set), and reports
an exec failure back through a close-on-exec pipe. `PidWatch` tells when a `-p` process
has exited (a pidfd, polled by the session loop).
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import signal
import struct
import time
from collections.abc import Sequence

from pytrace.runtime.errors import RuntimeFailure

PR_SET_PDEATHSIG = 1
GO = b"x"
READY = b"r"
KILL_GRACE_S = 1.0

EXEC_POLL_S = 0.05

_libc = ctypes.CDLL(None, use_errno=True)
_prctl = _libc["prctl"]
_prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_prctl.restype = ctypes.c_int


def is_stopped(pid: int) -> bool:
    """Whether process `pid` is stopped (state T in /proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("T", "t")
    except (OSError, IndexError):
        return False


def resolve_command(argv: Sequence[str]) -> str:
    """The executable argv[0] names, found as `-c` finds it (clitargets.executables: the
    working directory, then PATH when it has no '/'), or RuntimeFailure."""
    from pytrace.clitargets import executables

    if not argv or not argv[0]:
        raise RuntimeFailure("Failed to fork child: empty command")
    found = executables(argv[0])
    if not found:
        raise RuntimeFailure(f"Failed to fork child: path '{argv[0]}' does not exist or is not executable")
    return found[0]


def _child_main(path: str, argv: Sequence[str], go: int, err: int, parent: int) -> None:
    """In the forked child: die with the parent, say ready, wait for the go-ahead, exec.
    Never returns. Its own syscalls before `ready` happen before any probe is attached
    (the parent waits for it), so `/pid == cpid/` never counts them."""
    code = 1
    try:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(s, signal.SIG_DFL)
        if _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0 or os.getppid() != parent:
            os._exit(1)  # the parent is already gone (or cannot be followed)
        os.write(err, READY)
        if os.read(go, 1) != GO:
            os._exit(1)  # the parent closed the pipe without a go-ahead: it failed
        os.close(go)
        os.execv(path, list(argv))
    except OSError as exc:
        code = 127
        try:
            os.write(err, struct.pack("<i", exc.errno or errno.EIO))
        except OSError:
            pass
    except BaseException:  # noqa: BLE001  (nothing may escape a forked child)
        pass
    os._exit(code)


class Child:
    """A `-c CMD` child: forked at once, held before exec until release()."""

    def __init__(self, argv: Sequence[str]) -> None:
        path = resolve_command(argv)
        self.argv = list(argv)
        self.stopped_before_exec = False
        go_r, go_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            os.close(go_w)
            os.close(err_r)
            _child_main(path, argv, go_r, err_w, parent)
        os.close(go_r)
        os.close(err_w)
        self.pid = pid
        self._go = go_w
        self._err = err_r
        self.status: int | None = None
        if os.read(err_r, 1) != READY:  # it died before it could follow us
            self.kill()
            raise RuntimeFailure(f"Failed to fork child for '{self.argv[0]}'")

    def release(self) -> None:
        """Let the command exec; RuntimeFailure when the exec failed."""
        if self._go < 0:
            return
        try:
            os.write(self._go, GO)
        except OSError:
            pass  # the child is gone: exited() reports it
        os.close(self._go)
        self._go = -1
        data = self._read_err()
        if len(data) == 4:
            (err,) = struct.unpack("<i", data)
            self._reap()
            raise RuntimeFailure(f"Failed to run child '{self.argv[0]}': {os.strerror(err)}")

    def _read_err(self) -> bytes:
        """Blocks until the child execs (EOF) or reports an exec failure.

        Between the go-ahead and exec the child still runs pytrace's own code: a probe
        taking its user stack there stops it (SIGSTOP, see builtins/stacks.py) before it
        can exec, so it is continued here (`stopped_before_exec` tells the session)."""
        try:
            while not select.select([self._err], [], [], EXEC_POLL_S)[0]:
                if is_stopped(self.pid):
                    self.stopped_before_exec = True
                    os.kill(self.pid, signal.SIGCONT)
            return os.read(self._err, 4)
        except OSError:
            return b""
        finally:
            os.close(self._err)
            self._err = -1

    def _reap(self) -> None:
        try:
            _pid, status = os.waitpid(self.pid, 0)
            self.status = status
        except ChildProcessError:
            self.status = -1

    def exited(self) -> bool:
        if self.status is not None:
            return True
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            self.status = -1
            return True
        if pid == 0:
            return False
        self.status = status
        return True

    def kill(self) -> None:
        """Stop the child (a held one exits on the closed pipe); SIGKILL after a grace period."""
        for attr in ("_go", "_err"):
            fd = getattr(self, attr)
            if fd >= 0:
                os.close(fd)
                setattr(self, attr, -1)
        if self.exited():
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
            os.kill(self.pid, signal.SIGCONT)  # stopped (its first stack): it gets the TERM
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + KILL_GRACE_S
        while not self.exited():
            if time.monotonic() > deadline:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self._reap()
                break
            time.sleep(0.01)


class PidWatch:
    """Tells when process `pid` (not our child: `-p PID`) has exited."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.fd = -1
        self._gone = False
        try:
            self.fd = os.pidfd_open(pid)
        except ProcessLookupError:
            self._gone = True
        except OSError:  # no pidfd support: fall back to kill(pid, 0)
            self.fd = -1

    def exited(self) -> bool:
        if self._gone:
            return True
        if self.fd >= 0:
            ready, _, _ = select.select([self.fd], [], [], 0)
            self._gone = bool(ready)
        else:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self._gone = True
            except PermissionError:
                pass
        return self._gone

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
