"""A deterministic workload for runtime tests: renames itself, then makes exactly the
syscalls it is asked for.

usage: workload.py COMM [getppid N] [open PATH] [write N SIZE] [read N SIZE] [sleep S] [wait]

`wait` blocks until a byte (or EOF) arrives on stdin: the test's go-ahead once its probes
are attached.
"""

from __future__ import annotations

import ctypes
import os
import sys
import time


def main(argv: list[str]) -> None:
    # prctl(PR_SET_NAME) renames without a write() the tests could see
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(15, argv[0].encode(), 0, 0, 0)
    i = 1
    while i < len(argv):
        op = argv[i]
        if op == "getppid":
            for _ in range(int(argv[i + 1])):
                os.getppid()
            i += 2
        elif op == "open":
            try:
                os.close(os.open(argv[i + 1], os.O_RDONLY))
            except OSError:
                pass
            i += 2
        elif op == "write":
            fd = os.open("/dev/null", os.O_WRONLY)
            for _ in range(int(argv[i + 1])):
                os.write(fd, b"x" * int(argv[i + 2]))
            os.close(fd)
            i += 3
        elif op == "read":
            fd = os.open("/dev/zero", os.O_RDONLY)
            for _ in range(int(argv[i + 1])):
                os.read(fd, int(argv[i + 2]))
            os.close(fd)
            i += 3
        elif op == "wait":
            os.read(0, 1)
            i += 1
        elif op == "sleep":
            time.sleep(float(argv[i + 1]))
            i += 2
        else:
            raise SystemExit(f"unknown op {op}")


if __name__ == "__main__":
    main(sys.argv[1:])
