"""Benchmark 9: wide user-space targets — `-l 'usdt:*:*'` (every executable in $PATH)
and `uprobe:...:main` attached, `-c /bin/true` run, detached, exited.

pytrace runs cold (a fresh cache directory: no compiled object, no scan cache), warm
(both caches filled by an earlier run) and, for attach, "scan cache only" (the compiled
object removed, so the probes are expanded again from the cached ELF scans). bpftrace
has no cache. Every run starts in an empty directory (bpftrace 0.17 also looks at the
current directory's files). The listing's output is compared with bpftrace's.

`python bench/uwide.py [--rounds N] [--repo CHECKOUT]` prints the section (`--repo`
measures another pytrace checkout, e.g. the code before a change); bench/run.py
includes it as `--only uwide`.
"""

from __future__ import annotations

import argparse
import glob
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import common  # noqa: E402

LISTING = "usdt:*:*"
# `*` is every file the running processes map (pytrace, as the reference says) but every
# executable in $PATH for bpftrace 0.17; the /usr/bin glob names the same files for both.
ATTACH = ("uprobe:*:main { @ = count(); }", "uprobe:/usr/bin/*:main { @ = count(); }")


@dataclass
class Case:
    """Wall seconds per (side, variant), probes attached and output lines per side."""

    name: str
    attach: bool
    walls: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    cpus: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    probes: dict[str, int] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    identical: bool | None = None

    def add(self, side: str, variant: str, wall: float, cpu: float) -> None:
        self.walls.setdefault((side, variant), []).append(wall)
        self.cpus.setdefault((side, variant), []).append(cpu)

    def wall(self, side: str, variant: str) -> float:
        return common.median(self.walls.get((side, variant), []))

    def cpu(self, side: str, variant: str) -> float:
        return common.median(self.cpus.get((side, variant), []))


def _env(home: str, repo: str) -> dict[str, str]:
    env = common.tracer_env(home)
    env["PYTHONPATH"] = repo
    return env


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _run(argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, float, str, str]:
    """(wall s, user+sys CPU s of the tracer, stdout, stderr)."""
    cpu0, t0 = _children_cpu(), time.perf_counter()
    r = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if r.returncode:
        raise RuntimeError(f"{argv[0]} failed ({r.returncode}): {r.stderr.strip()[-300:]}")
    return wall, cpu, r.stdout, r.stderr


def _argv(side: str, args: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytrace", *args] if side == "pytrace" else ["bpftrace", *args]


def _drop_objects(home: str) -> None:
    for path in glob.glob(os.path.join(home, "pytrace", "*.bpfo")):
        os.unlink(path)


def measure(name: str, args: list[str], rounds: int, bpftrace_rounds: int, repo: str,
            attach: bool) -> Case:
    case = Case(name, attach)
    cwd = tempfile.mkdtemp(prefix="pytrace-bench-cwd-")
    warm = tempfile.mkdtemp(prefix="pytrace-bench-warm-")
    out: dict[str, str] = {}
    _run(_argv("pytrace", args), _env(warm, repo), cwd)
    variants = ["cold", "warm"] + (["scan cache only"] if attach else [])
    for _ in range(rounds):
        for variant in variants:
            home = tempfile.mkdtemp(prefix="pytrace-bench-cold-") if variant == "cold" else warm
            if variant == "scan cache only":
                _drop_objects(home)
            wall, cpu, stdout, stderr = _run(_argv("pytrace", args), _env(home, repo), cwd)
            case.add("pytrace", variant, wall, cpu)
            out["pytrace"] = stdout + stderr if attach else stdout
    if "bpftrace" in common.sides():
        for _ in range(bpftrace_rounds):
            wall, cpu, stdout, stderr = _run(_argv("bpftrace", args), _env(warm, repo), cwd)
            case.add("bpftrace", "run", wall, cpu)
            out["bpftrace"] = stdout + stderr if attach else stdout
    for side, text in out.items():
        case.probes[side] = common.attached_count(text)
        case.lines[side] = len(text.splitlines())
    if not attach and len(out) == 2:
        case.identical = out["pytrace"] == out["bpftrace"]
    return case


def run(rounds: int, bpftrace_rounds: int, repo: str = common.REPO,
        programs: tuple[str, ...] = ATTACH) -> list[Case]:
    cases = [measure(f"-l '{LISTING}'", ["-l", LISTING], rounds, bpftrace_rounds, repo, False)]
    for program in programs:
        cases.append(measure(f"`{program}` -c /bin/true", ["-e", program, "-c", "/bin/true"],
                             rounds, bpftrace_rounds, repo, True))
    return cases


def _f(x: float, digits: int = 2) -> str:
    return "n/a" if x != x else f"{x:,.{digits}f}"


def _counts(c: Case) -> str:
    if c.attach:
        return f"{c.probes.get('pytrace', '?')}, {c.probes.get('bpftrace', '?')} probes"
    same = {None: "", True: ", identical", False: ", **differ**"}[c.identical]
    return f"{c.lines.get('pytrace', '?')}, {c.lines.get('bpftrace', '?')} lines{same}"


def render(cases: list[Case], rounds: int, load: tuple[float, float] | None = None) -> str:
    lines = ["## 9. Wide user-space targets (median of "
             f"{rounds} pytrace rounds; wall and user+sys CPU seconds)\n",
             "cold = fresh pytrace cache dir; warm = compiled object and ELF scan cache "
             "filled; scan cache only = the compiled object removed (the probes are expanded "
             "again from the cached scans); bpftrace has no cache. Ratios = pytrace / bpftrace "
             "(CPU time is what a loaded machine does not change). `uprobe:*` is every file "
             "the running processes map for pytrace (the reference's meaning) but every "
             "executable in $PATH for bpftrace 0.17: the /usr/bin glob is the like-for-like "
             "row. CPU time does not count the kernel's work after a tracer exits.\n"]
    if load is not None:
        lines.append(f"Conditions: 1-minute load average {load[0]:.1f} before, {load[1]:.1f} "
                     f"after, on {os.cpu_count()} CPUs shared with other developers' tests.\n")
    lines += ["| target | pytrace cache | pytrace s | bpftrace s | wall ratio | pytrace CPU s "
              "| bpftrace CPU s | CPU ratio | probes / lines (pytrace, bpftrace) |",
              "|---|---|---|---|---|---|---|---|---|"]
    for c in cases:
        b, bc = c.wall("bpftrace", "run"), c.cpu("bpftrace", "run")
        for variant in sorted({v for s, v in c.walls if s == "pytrace"},
                              key=["cold", "warm", "scan cache only"].index):
            p, pc = c.wall("pytrace", variant), c.cpu("pytrace", variant)
            lines.append(f"| {c.name} | {variant} | {_f(p)} | {_f(b)} | "
                         f"{_f(p / b if b else float('nan'))} | {_f(pc)} | {_f(bc)} | "
                         f"{_f(pc / bc if bc else float('nan'))} | {_counts(c)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bpftrace-rounds", type=int, default=1)
    ap.add_argument("--repo", default=common.REPO, help="the pytrace checkout to measure")
    ns = ap.parse_args(argv)
    before = os.getloadavg()[0]
    cases = run(ns.rounds, ns.bpftrace_rounds, os.path.abspath(ns.repo))
    print(render(cases, ns.rounds, (before, os.getloadavg()[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
