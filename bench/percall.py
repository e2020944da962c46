"""Benchmark 1 (and 5): kernel-side cost per event of each one-liner, from the kernel's own
BPF run statistics, and the tracer process's peak RSS while running it."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

from bench import common

TP = "tracepoint:raw_syscalls:sys_enter"
ONELINERS: list[tuple[str, str, str]] = [
    # (name, program, workload mode)
    ("empty (floor)", f"{TP} {{ }}", "getppid"),
    ("count", f"{TP} {{ @ = count(); }}", "getppid"),
    ("count by comm", f"{TP} {{ @[comm] = count(); }}", "getppid"),
    ("sum of field", f"{TP} {{ @ = sum(args->id); }}", "getppid"),
    ("hist of field", f"{TP} {{ @ = hist(args->id); }}", "getppid"),
    ("lhist", f"{TP} {{ @ = lhist(args->id, 0, 400, 20); }}", "getppid"),
    ("str() filter", 'tracepoint:syscalls:sys_enter_openat '
     f'/str(args->filename) == "{common.OPEN_PATH}"/ {{ @ = count(); }}', "open"),
    ("comm filter", f'{TP} /comm == "nosuch"/ {{ @ = count(); }}', "getppid"),
    ("multi-key map", f"{TP} {{ @[pid, args->id] = count(); }}", "getppid"),
    ("printf per event", 'tracepoint:syscalls:sys_enter_getppid '
     '{ printf("%d %s %d\\n", pid, comm, args->__syscall_nr); }', "getppid"),
]


@dataclass
class Sample:
    ns_per_event: float
    events: int
    maxrss_kb: int


@dataclass
class OneLiner:
    name: str
    program: str
    samples: dict[str, list[Sample]] = field(default_factory=dict)

    def ns(self, side: str) -> float:
        return common.median([s.ns_per_event for s in self.samples.get(side, [])])

    def rss(self, side: str) -> float:
        return common.median([s.maxrss_kb for s in self.samples.get(side, [])])


def measure(side: str, program: str, mode: str, n: int, stats: common.Stats) -> Sample:
    """Start the tracer, wait until its programs fire, run the workload, read the delta."""
    tracer = common.spawn(side, program)
    fds: list[int] = []
    try:
        fds = common.wait_ready(tracer, functools.partial(common.poke, mode))
        ns0, cnt0 = common.totals(fds)
        common.run_load(mode, n)
        ns1, cnt1 = common.totals(fds)
    finally:
        for fd in fds:
            os.close(fd)
        tracer.stop()
    events = cnt1 - cnt0
    return Sample((ns1 - ns0) / events if events else float("nan"), events, tracer.maxrss_kb)


def warm_cache(program: str) -> None:
    """Compile once so every measured pytrace start is a cache hit (as a repeated run is)."""
    common.timed_run(common.tracer_argv("pytrace", program, ["--dry-run"]))


def run(rounds: int, n: int, only: list[str] | None = None) -> list[OneLiner]:
    """Every one-liner, both sides alternating (order flips each round)."""
    results = []
    with common.Stats() as stats:
        for name, program, mode in ONELINERS:
            if only and name not in only:
                continue
            item = OneLiner(name, program)
            warm_cache(program)
            for r in range(rounds):
                order = common.sides() if r % 2 == 0 else tuple(reversed(common.sides()))
                for side in order:
                    item.samples.setdefault(side, []).append(measure(side, program, mode, n, stats))
            results.append(item)
    return results
