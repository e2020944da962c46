"""Benchmarks 2, 3 and 6: start-up wall time (cold and warm), wide attach of
`tracepoint:syscalls:sys_enter_*`, and compile time for programs of 1/10/100 probes."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field

from bench import common

STARTUP_PROGRAMS = [
    ("BEGIN { exit(); }", "BEGIN { exit(); }"),
    ("one tracepoint", "tracepoint:raw_syscalls:sys_enter { @[comm] = count(); exit(); }"),
]
WIDE = "tracepoint:syscalls:sys_enter_* { @[probe] = count(); }"


@dataclass
class Timing:
    """Wall seconds (and peak RSS) per side and variant, e.g. ("pytrace", "cold")."""

    name: str
    walls: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    rss: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    probes: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, side: str, variant: str, wall: float, rss: int) -> None:
        self.walls.setdefault((side, variant), []).append(wall)
        self.rss.setdefault((side, variant), []).append(rss)

    def wall(self, side: str, variant: str) -> float:
        return common.median(self.walls.get((side, variant), []))


def startup(rounds: int) -> list[Timing]:
    """Each program until exit: pytrace cold (fresh cache dir) and warm; bpftrace (no cache)."""
    out = []
    for name, program in STARTUP_PROGRAMS:
        t = Timing(name)
        warm_home = tempfile.mkdtemp(prefix="pytrace-bench-warm-")
        common.timed_run(common.tracer_argv("pytrace", program), common.tracer_env(warm_home))
        for r in range(rounds):
            runs = [("pytrace", "cold"), ("pytrace", "warm"), ("bpftrace", "run")]
            if r % 2:
                runs.reverse()
            for side, variant in runs:
                if side not in common.sides():
                    continue
                home = tempfile.mkdtemp(prefix="pytrace-bench-cold-") if variant == "cold" else warm_home
                wall, rss, _ = common.timed_run(common.tracer_argv(side, program),
                                                common.tracer_env(home))
                t.add(side, variant, wall, rss)
        out.append(t)
    return out


def wide_attach(rounds: int, bpftrace_rounds: int, program: str = WIDE) -> Timing:
    """Attach every syscalls:sys_enter_* tracepoint, run /bin/true, detach and exit."""
    t = Timing("wide attach")
    common.timed_run(common.tracer_argv("pytrace", program, ["--dry-run"]))
    plan = [("pytrace", rounds)]
    if "bpftrace" in common.sides():
        plan.append(("bpftrace", bpftrace_rounds))
    for side, n in plan:
        for _ in range(n):
            wall, rss, text = common.timed_run(common.tracer_argv(side, program, ["-c", "/bin/true"]),
                                               timeout=180.0)
            t.add(side, "run", wall, rss)
            t.probes[side] = common.attached_count(text)
    return t


def probe_program(n: int) -> str:
    names = sorted(e for e in os.listdir("/sys/kernel/tracing/events/syscalls")
                   if e.startswith("sys_enter_"))
    return "\n".join(f"tracepoint:syscalls:{e} {{ @c[{i}] = count(); @h = hist(args->__syscall_nr); }}"
                     for i, e in enumerate(names[:n]))


def compile_scaling(rounds: int, sizes: tuple[int, ...] = (1, 10, 100)) -> list[Timing]:
    """Compile only: `pytrace --dry-run` (no cache) vs `bpftrace --emit-elf` (its dry run)."""
    out = []
    elf = os.path.join(tempfile.mkdtemp(prefix="pytrace-bench-elf-"), "out.o")
    for n in sizes:
        t = Timing(f"{n} probes")
        program = probe_program(n)
        for _ in range(rounds):
            wall, rss, _ = common.timed_run(common.tracer_argv("pytrace", program, ["--dry-run"]),
                                            common.tracer_env(no_cache=True))
            t.add("pytrace", "compile", wall, rss)
            if "bpftrace" in common.sides():
                wall, rss, _ = common.timed_run(common.tracer_argv("bpftrace", program,
                                                                   ["--emit-elf", elf]))
                t.add("bpftrace", "compile", wall, rss)
        out.append(t)
    return out
