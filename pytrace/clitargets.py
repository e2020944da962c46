"""Checks of `-p PID` and `-c CMD` made before anything is compiled, worded as bpftrace
words them: a pid that does not parse, is out of range or names no process, and a
command that is empty, badly quoted or not an executable, are refused at once.
"""

from __future__ import annotations

import os
import shlex
import shutil

from pytrace.intparse import IntParseError, to_uint

PID_MAX = 0x400000  # the nominal maximum pid on 64-bit Linux (bpftrace's sanity bound)


class TargetError(Exception):
    """A -p / -c value bpftrace would refuse; str() is the message after `ERROR: `."""


def parse_pid(text: str) -> int:
    """The pid `-p TEXT` names, which must exist (TargetError otherwise)."""
    try:
        pid = to_uint(text)
    except IntParseError as exc:
        raise TargetError(f"Failed to parse pid: {exc}") from None
    if pid > PID_MAX:
        raise TargetError(f"Pid out of range: {pid}")
    try:
        os.close(os.pidfd_open(pid))
    except OSError as exc:
        raise TargetError("Failed to attach to pid: Unable to open pidfd "
                          f"({os.strerror(exc.errno or 0)})") from None
    return pid


def _executable(prog: str) -> str | None:
    if "/" in prog:
        return prog if os.path.isfile(prog) and os.access(prog, os.X_OK) else None
    return shutil.which(prog)


def split_command(text: str) -> list[str]:
    """The argv of `-c TEXT` (shell-style quoting), checked to name an executable."""
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise TargetError(f"Failed to fork child: cannot split the command "
                          f"{text!r}: {str(exc).lower()}") from None
    if not argv:
        raise TargetError("Failed to fork child: Empty command (No such file or directory)")
    if _executable(argv[0]) is None:
        raise TargetError(f"Failed to fork child: Path '{argv[0]}' does not exist or is not "
                          "executable (No such file or directory)")
    return argv
