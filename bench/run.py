"""One command for the whole suite: `python bench/run.py [--quick] [--only NAME...]`.

Runs every benchmark (pytrace and, when installed, bpftrace, alternating) and writes
bench/RESULTS.md: measured tables, then the hand-written analysis in bench/ANALYSIS.md.
Needs root and BPF.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import btf, common, percall, repl, report, startup, throughput, uwide  # noqa: E402

BENCHES = ("percall", "startup", "wide", "throughput", "compile", "btf", "repl", "uwide")


@dataclass(frozen=True)
class Sizes:
    rounds: int
    events: int  # workload syscalls per per-event round
    wide_rounds: int
    wide_bpftrace_rounds: int
    rates: tuple[float, ...]
    rate_seconds: float
    max_events: int


FULL = Sizes(5, 2_000_000, 3, 1, (100_000, 300_000, 1_000_000, 0), 1.0, 1_000_000)
QUICK = Sizes(2, 300_000, 1, 1, (100_000, 300_000, 0), 0.5, 200_000)
TINY = Sizes(1, 2_000, 1, 0, (2_000,), 0.2, 1_000)


def versions() -> str:
    bt = "not installed"
    if common.have_bpftrace():
        bt = subprocess.run(["bpftrace", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"Linux {platform.release()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"{bt}, pytrace git {git_rev()}")


def git_rev() -> str:
    r = subprocess.run(["git", "-C", common.REPO, "rev-parse", "--short", "HEAD"],
                       capture_output=True, text=True)
    return r.stdout.strip() or "?"


def load_note(before: float, after: float) -> str:
    """The conditions: the machine's 1-minute load average around a benchmark."""
    return (f"Conditions: 1-minute load average {before:.1f} before, {after:.1f} after, on "
            f"{os.cpu_count()} CPUs shared with other developers' tests.\n\n")


def run_all(sizes: Sizes, only: set[str]) -> str:
    """Run the selected benchmarks; returns the Markdown body."""
    parts: list[str] = []
    started = time.perf_counter()

    def want(name: str) -> bool:
        return not only or name in only

    items: list[percall.OneLiner] = []
    starts: list[startup.Timing] = []
    if want("percall"):
        before = os.getloadavg()[0]
        items = percall.run(sizes.rounds, sizes.events)
        parts.append(f"## 1. Per-event cost (BPF run stats; median of {sizes.rounds} rounds, "
                     f"{sizes.events:,} workload syscalls per round)\n\n"
                     + load_note(before, os.getloadavg()[0]) + report.percall(items))
    if want("startup"):
        starts = startup.startup(sizes.rounds)
        parts.append(f"## 2. Start-up until exit (wall, median of {sizes.rounds})\n\n"
                     "cold = fresh pytrace cache dir; warm = compiled-object cache hit; "
                     "bpftrace has no cache.\n\n" + report.startup(starts))
    if want("wide"):
        t = startup.wide_attach(sizes.wide_rounds, sizes.wide_bpftrace_rounds)
        note = "" if sizes.wide_bpftrace_rounds else " (skipped at this size)"
        parts.append("## 3. Wide attach: `tracepoint:syscalls:sys_enter_*`, run /bin/true, exit\n\n"
                     + report.wide(t, note))
    if want("throughput"):
        before = os.getloadavg()[0]
        s = throughput.run(list(sizes.rates), sizes.rate_seconds, sizes.rounds, sizes.max_events)
        after = os.getloadavg()[0]
        parts.append("## 4. printf throughput to a pipe\n\n"
                     f"Program: `{throughput.PROGRAM}`; the workload paces getppid() to the offered "
                     f"rate for {sizes.rate_seconds} s (unpaced: a burst of {sizes.max_events:,} "
                     "calls as fast as it can). missing = events − delivered; reported lost = "
                     "the tracer's own lost-event lines; seconds = workload start to the last "
                     "record read. Median round by records/s, "
                     f"{sizes.rounds} rounds, both tracers alternating.\n\n"
                     + load_note(before, after) + report.throughput(s))
    if items or starts:
        parts.append("## 5. Peak RSS of the tracer (wait4 ru_maxrss, median)\n\n"
                     "Per-event rows run with a warm pytrace cache.\n\n"
                     + report.memory(items, starts))
    if want("compile"):
        parts.append(f"## 6. Compile scaling (wall, median of {sizes.rounds})\n\n"
                     "Each probe: `tracepoint:syscalls:sys_enter_X { @c[i] = count(); "
                     "@h = hist(args->__syscall_nr); }`.\n\n"
                     + report.compile_scaling(startup.compile_scaling(sizes.rounds)))
    if want("btf") and os.path.exists("/sys/kernel/btf/vmlinux"):
        parts.append(btf.render(btf.measure(sizes.rounds)))
    if want("repl"):
        parts.append(repl.section(max(sizes.rounds, 3) * 2))
    if want("uwide"):
        parts.append(uwide.render(uwide.run(sizes.wide_rounds, sizes.wide_bpftrace_rounds),
                                  sizes.wide_rounds))
    parts.append(f"_Suite wall time: {time.perf_counter() - started:.0f} s._\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="fewer rounds and smaller workloads")
    ap.add_argument("--tiny", action="store_true", help="smoke-test sizes (numbers meaningless)")
    ap.add_argument("--only", nargs="*", choices=BENCHES, default=[], help="run only these")
    ap.add_argument("-o", dest="out", default=os.path.join(common.HERE, "RESULTS.md"))
    ns = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("bench: needs root (BPF)", file=sys.stderr)
        return 1
    sizes = TINY if ns.tiny else QUICK if ns.quick else FULL
    body = run_all(sizes, set(ns.only))
    analysis = os.path.join(common.HERE, "ANALYSIS.md")
    tail = open(analysis).read() if os.path.exists(analysis) else ""
    mode = "tiny" if ns.tiny else "quick" if ns.quick else "full"
    with open(ns.out, "w") as f:
        f.write(f"# pytrace vs bpftrace benchmarks\n\nGenerated by `python bench/run.py"
                f"{'' if mode == 'full' else ' --' + mode}` ({mode} sizes) on {time.strftime('%Y-%m-%d')}: "
                f"{versions()}.\nRatios are pytrace / bpftrace (lower is better, except "
                "throughput).\n\n" + body + "\n" + tail)
    print(f"wrote {ns.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
