"""Benchmark 4: printf records per second delivered to a pipe, and records lost, at
increasing event rates (the workload paces getppid() calls; the tracer prints each)."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field

from bench import common

PROGRAM = 'tracepoint:syscalls:sys_enter_getppid { printf("%d %d\\n", pid, args->__syscall_nr); }'
LOST_RE = re.compile(rb"Lost (\d+) events|\"lost_events\", \"count\": (\d+)")


@dataclass
class Point:
    rate: float  # requested events/s (0: unpaced)
    generated: int
    delivered: int
    reported_lost: int
    seconds: float  # workload start -> last record read before the stop signal (>= workload time)

    @property
    def per_second(self) -> float:
        return self.delivered / self.seconds if self.seconds > 0 else float("nan")

    @property
    def missing(self) -> int:
        return self.generated - self.delivered


@dataclass
class Series:
    points: dict[tuple[str, float], list[Point]] = field(default_factory=dict)


class _Reader(threading.Thread):
    """Drains the tracer's stdout into memory, remembering when output last arrived; lines
    are counted afterwards in C (`bytes.count`), so the reader itself costs the shared
    CPUs as little as possible while the tracers run."""

    def __init__(self, stream: object) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.chunks: list[bytes] = []
        self.last = time.perf_counter()

    def run(self) -> None:
        read = self.stream.read1  # type: ignore[attr-defined]
        while chunk := read(1 << 20):
            self.last = time.perf_counter()
            self.chunks.append(chunk)

    def data(self) -> bytes:
        return b"\n" + b"".join(self.chunks)

    def lines_of(self, pid: int) -> int:
        """Lines that start with `pid ` (the program prints the pid first)."""
        return self.data().count(b"\n%d " % pid)


def measure(side: str, rate: float, n: int) -> Point:
    tracer = common.spawn(side, PROGRAM, stdout=subprocess.PIPE)
    assert tracer.proc.stdout is not None and tracer.proc.stderr is not None
    reader = _Reader(tracer.proc.stdout)
    reader.start()
    fds: list[int] = []
    try:
        with common.Stats():
            fds = common.wait_ready(tracer, lambda: common.poke("getppid"))
        t0 = time.perf_counter()
        pid, load_secs = common.run_load("getppid", n, rate)
        while time.perf_counter() - reader.last < 0.5:  # until output goes quiet
            time.sleep(0.05)
        seconds = max(load_secs, reader.last - t0)
    finally:
        for fd in fds:
            os.close(fd)
        tracer.stop()
    reader.join(10)
    err = tracer.proc.stderr.read()
    lost = sum(int(a or b) for a, b in LOST_RE.findall(reader.data() + err))
    return Point(rate, n, reader.lines_of(pid), lost, seconds)


def run(rates: list[float], seconds: float, rounds: int, max_events: int) -> Series:
    s = Series()
    for r in range(rounds):
        for rate in rates:
            n = int(rate * seconds) if rate else max_events
            order = common.sides() if r % 2 == 0 else tuple(reversed(common.sides()))
            for side in order:
                s.points.setdefault((side, rate), []).append(measure(side, rate, n))
    return s
