"""Checks of `-p PID` and `-c CMD` made before anything is compiled, worded as bpftrace
words them: a pid that does not parse, is out of range or names no process, and a
command that is empty, not an executable or ambiguous, are refused at once.

`-c CMD` is split as bpftrace splits it (measured with bpftrace 0.17, the same in later
releases): at every single space and nowhere else, with no shell involved, so quotes,
backslashes, `$VAR`, `~` and globs in the arguments reach the child as written, two
spaces make an empty argument and one trailing space is dropped. The program is
resolved as bpftrace resolves it: a glob pattern, taken relative to the working
directory, and without a '/' also searched in each $PATH directory; it must match one
executable (one file reached twice, as /bin -> /usr/bin, counts once), and the child's
argv[0] is the path found.
"""

from __future__ import annotations

import glob
import os

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


def split_words(text: str) -> list[str]:
    """bpftrace's split of a -c command: at every space, empty words kept, except the
    one a trailing space would leave."""
    words = text.split(" ") if text else []
    if words and words[-1] == "":
        words.pop()
    return words


def _paths(pattern: str) -> list[str]:
    return sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]


def executables(prog: str) -> list[str]:
    """Every executable file `prog` names (see the module docstring), each file once."""
    if not prog:
        return []
    candidates = _paths(prog)
    if "/" not in prog:
        for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
            candidates += _paths(os.path.join(directory, prog))
    found, seen = [], set()
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                found.append(path)
    return found


def split_command(text: str) -> list[str]:
    """The argv of `-c TEXT` as bpftrace builds it, argv[0] the executable found."""
    argv = split_words(text)
    if not argv:
        raise TargetError("Failed to fork child: Empty command (No such file or directory)")
    found = executables(argv[0])
    if not found:
        raise TargetError(f"Failed to fork child: Path '{argv[0]}' does not exist or is not "
                          "executable (No such file or directory)")
    if len(found) > 1:
        raise TargetError(f"Failed to fork child: path '{argv[0]}' must refer to a unique "
                          f"binary but matched {len(found)} binaries")
    return [found[0], *argv[1:]]
