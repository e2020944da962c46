"""Shared benchmark plumbing: the tracers' command lines, spawning and stopping them,
the compiled workload, BPF run statistics of a process's programs, and medians."""

from __future__ import annotations

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO

from pytrace.runtime import syscalls

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SIDES = ("pytrace", "bpftrace")
OPEN_PATH = "/nonexistent/pytrace-bench"


def have_bpftrace() -> bool:
    return shutil.which("bpftrace") is not None


def sides(include_bpftrace: bool = True) -> tuple[str, ...]:
    return SIDES if include_bpftrace and have_bpftrace() else ("pytrace",)


def tracer_argv(side: str, program: str, extra: Sequence[str] = ()) -> list[str]:
    """The command line running `program` with one tracer."""
    if side == "pytrace":
        return [sys.executable, "-m", "pytrace", *extra, "-e", program]
    return ["bpftrace", *extra, "-e", program]


_CACHE_HOME: str | None = None


def bench_cache_home() -> str:
    """A private XDG_CACHE_HOME for this run, so warm runs hit only what the bench compiled."""
    global _CACHE_HOME
    if _CACHE_HOME is None:
        _CACHE_HOME = tempfile.mkdtemp(prefix="pytrace-bench-cache-")
    return _CACHE_HOME


def tracer_env(cache_home: str | None = None, no_cache: bool = False) -> dict[str, str]:
    """Environment for a tracer: the bench's own pytrace cache unless told otherwise."""
    env = dict(os.environ)
    env.pop("PYTRACE_NO_CACHE", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed pytrace has its .pyc files
    env["XDG_CACHE_HOME"] = cache_home or bench_cache_home()
    if no_cache:
        env["PYTRACE_NO_CACHE"] = "1"
    return env


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


# ---------------------------------------------------------------- workload
_LOAD_BIN: str | None = None


def load_binary() -> str:
    """Compile bench/load.c once per run (into a temp dir); returns the binary's path."""
    global _LOAD_BIN
    if _LOAD_BIN is None:
        out = os.path.join(tempfile.mkdtemp(prefix="pytrace-bench-"), "bench_load")
        subprocess.run(["gcc", "-O2", "-o", out, os.path.join(HERE, "load.c")], check=True)
        _LOAD_BIN = out
    return _LOAD_BIN


def run_load(mode: str, n: int, rate: float = 0) -> tuple[int, float]:
    """Run the workload to completion; returns (its pid, wall seconds)."""
    t0 = time.perf_counter()
    p = subprocess.Popen([load_binary(), mode, str(n), str(rate)])
    p.wait()
    return p.pid, time.perf_counter() - t0


def poke(mode: str) -> None:
    """A few events of the kind `mode` makes, from this process."""
    for _ in range(20):
        if mode == "open":
            try:
                os.close(os.open(OPEN_PATH, os.O_RDONLY))
            except OSError:
                pass
        else:
            os.getppid()


# ---------------------------------------------------------------- processes
@dataclass
class Tracer:
    """A running tracer process and how it ended."""

    side: str
    proc: subprocess.Popen[bytes]
    started: float = field(default_factory=time.perf_counter)
    maxrss_kb: int = 0
    status: int | None = None

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60.0) -> float:
        """Signal the tracer and reap it; returns seconds until it exited."""
        t0 = time.perf_counter()
        if self.status is None:
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass
        self.reap(timeout)
        return time.perf_counter() - t0

    def exited(self) -> bool:
        """Reap without blocking (wait4 keeps the child's rusage); True once it is gone."""
        if self.status is None:
            pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.status = status
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                self.maxrss_kb = ru.ru_maxrss
        return self.status is not None

    def reap(self, timeout: float = 60.0) -> None:
        """Wait (killing after `timeout`) and record peak RSS from wait4()."""
        deadline = time.monotonic() + timeout
        while not self.exited():
            if time.monotonic() > deadline:
                self.proc.kill()
                deadline = time.monotonic() + 5
            time.sleep(0.005)


def spawn(side: str, program: str, extra: Sequence[str] = (), stdout: int | None = None,
          env: dict[str, str] | None = None) -> Tracer:
    proc = subprocess.Popen(tracer_argv(side, program, extra), stdout=stdout or subprocess.DEVNULL,
                            stderr=subprocess.PIPE if stdout == subprocess.PIPE else subprocess.DEVNULL,
                            env=env or tracer_env(), start_new_session=True)
    return Tracer(side, proc)


def timed_run(argv: Sequence[str], env: dict[str, str] | None = None,
              timeout: float = 120.0) -> tuple[float, int, str]:
    """Run to completion; (wall seconds, peak RSS KiB, stdout+stderr text)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=env or tracer_env())
    tr = Tracer("", p)
    assert p.stdout is not None
    out = _read_all(p.stdout, timeout, p)
    tr.reap(5.0)
    wall = time.perf_counter() - t0
    text = out.decode(errors="replace")
    if tr.proc.returncode:
        raise RuntimeError(f"{argv[0]} failed ({tr.proc.returncode}): {text.strip()[-300:]}")
    return wall, tr.maxrss_kb, text


def _read_all(stream: IO[bytes], timeout: float, proc: subprocess.Popen[bytes]) -> bytes:
    """Read a pipe to EOF, killing the process if that takes longer than `timeout`."""
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        return stream.read()
    finally:
        timer.cancel()
        stream.close()


def attached_count(text: str) -> int:
    m = re.search(r"Attach(?:ed|ing) (\d+) probe", text)
    return int(m.group(1)) if m else 0


# ---------------------------------------------------------------- BPF statistics
class Stats:
    """Keeps BPF_ENABLE_STATS on while alive; reads a process's programs' counters."""

    def __init__(self) -> None:
        self.fd = syscalls.enable_stats()

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> Stats:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def prog_ids_of(pid: int) -> set[int]:
    """BPF program ids held open by process `pid` (from /proc/PID/fdinfo)."""
    ids: set[int] = set()
    base = f"/proc/{pid}/fdinfo"
    try:
        names = os.listdir(base)
    except OSError:
        return ids
    for name in names:
        try:
            with open(os.path.join(base, name)) as f:
                text = f.read()
        except OSError:
            continue
        m = re.search(r"^prog_id:\s*(\d+)", text, re.M)
        if m:
            ids.add(int(m.group(1)))
    return ids


def open_progs(ids: set[int]) -> list[int]:
    """An fd per program id (BPF_PROG_GET_FD_BY_ID); the caller closes them."""
    import struct

    fds = []
    for pid_ in sorted(ids):
        attr = syscalls.new_attr()
        struct.pack_into("<I", attr, 0, pid_)
        try:
            fds.append(syscalls.bpf(syscalls.PROG_GET_FD_BY_ID, attr, "BPF_PROG_GET_FD_BY_ID"))
        except OSError:
            continue
    return fds


def totals(fds: Sequence[int]) -> tuple[int, int]:
    """Summed (run_time_ns, run_cnt) over programs."""
    ns = cnt = 0
    for fd in fds:
        a, b = syscalls.prog_stats(fd)
        ns += a
        cnt += b
    return ns, cnt


def wait_ready(tracer: Tracer, trigger: Callable[[], None], timeout: float = 90.0) -> list[int]:
    """Wait until the tracer's programs are loaded and firing; returns their fds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tracer.exited():
            raise RuntimeError(f"{tracer.side} exited early ({tracer.proc.returncode})")
        ids = prog_ids_of(tracer.proc.pid)
        if ids:
            fds = open_progs(ids)
            trigger()
            if totals(fds)[1] > 0:
                return fds
            for fd in fds:
                os.close(fd)
        time.sleep(0.02)
    raise RuntimeError(f"{tracer.side} did not start firing within {timeout:.0f}s")
