"""Renders benchmark results as the Markdown tables of bench/RESULTS.md."""

from __future__ import annotations

import math
from collections.abc import Sequence

from bench.percall import OneLiner
from bench.repl import TARGET_S, PromptTiming
from bench.startup import Timing
from bench.throughput import Series


def _f(x: float, digits: int = 1) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.{digits}f}"


def _verdict(r: float, target: float, higher_is_better: bool = False) -> str:
    if math.isnan(r):
        return "n/a"
    ok = r >= target if higher_is_better else r <= target
    return "met" if ok else "**missed**"


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def percall(items: list[OneLiner]) -> str:
    floor = next((i.ns("pytrace") for i in items if i.name.startswith("empty")), float("nan"))
    rows = []
    for i in items:
        p, b = i.ns("pytrace"), i.ns("bpftrace")
        r = p / b if b else float("nan")
        verdict = "" if i.name.startswith("empty") else _verdict(r, 0.7)
        n = sum(s.events for s in i.samples.get("pytrace", [])) // max(1, len(i.samples.get("pytrace", [])))
        rows.append([i.name, f"`{i.program}`", _f(p), _f(b), _f(r, 2), verdict, f"{n:,}"])
    text = table(["one-liner", "program", "pytrace ns/event", "bpftrace ns/event", "ratio",
                  "≤ 0.7", "events/round"], rows)
    for name in ("count", "count by comm"):
        count = next((i.ns("pytrace") for i in items if i.name == name), float("nan"))
        if not math.isnan(floor) and not math.isnan(count):
            text += (f"\n{name} vs the empty-program floor (pytrace): {_f(count)} / {_f(floor)} ns = "
                     f"{_f(count / floor, 2)}× (target ≤ 1.5× for count(): "
                     f"{_verdict(count / floor, 1.5)})\n")
    return text


def memory(items: list[OneLiner], starts: list[Timing]) -> str:
    rows = []
    for i in items:
        p, b = i.rss("pytrace") / 1024, i.rss("bpftrace") / 1024
        rows.append([i.name, _f(p), _f(b), _f(p / b if b else float("nan"), 2),
                     _verdict(p / b if b else float("nan"), 1.0)])
    for t in starts:
        for variant in ("cold", "warm"):
            p = _median_rss(t, "pytrace", variant)
            b = _median_rss(t, "bpftrace", "run")
            rows.append([f"{t.name} ({variant})", _f(p), _f(b), _f(p / b if b else float("nan"), 2),
                         _verdict(p / b if b else float("nan"), 1.0)])
    return table(["tracer running", "pytrace MiB", "bpftrace MiB", "ratio", "≤ 1.0"], rows)


def _median_rss(t: Timing, side: str, variant: str) -> float:
    vals = sorted(t.rss.get((side, variant), []))
    return vals[len(vals) // 2] / 1024 if vals else float("nan")


def startup(items: list[Timing]) -> str:
    rows = []
    for t in items:
        b = t.wall("bpftrace", "run")
        for variant, target in (("cold", 1.0), ("warm", 0.5)):
            p = t.wall("pytrace", variant)
            r = p / b if b else float("nan")
            rows.append([t.name, variant, _f(p * 1000), _f(b * 1000), _f(r, 2), f"≤ {target}",
                         _verdict(r, target)])
    return table(["program", "pytrace cache", "pytrace ms", "bpftrace ms", "ratio", "target", ""],
                 rows)


def wide(t: Timing, bpftrace_note: str) -> str:
    p, b = t.wall("pytrace", "run"), t.wall("bpftrace", "run")
    r = p / b if b else float("nan")
    rows = [["pytrace", str(t.probes.get("pytrace", "?")), _f(p, 2),
             str(len(t.walls.get(("pytrace", "run"), [])))],
            ["bpftrace", str(t.probes.get("bpftrace", "?")), _f(b, 2),
             str(len(t.walls.get(("bpftrace", "run"), []))) + bpftrace_note]]
    return (table(["tracer", "probes", "seconds (median)", "runs"], rows)
            + f"\nratio {_f(r, 3)} (target ≤ 0.1: {_verdict(r, 0.1)})\n")


def throughput(s: Series) -> str:
    rows = []
    rates = sorted({rate for _, rate in s.points}, key=lambda x: x or math.inf)
    for rate in rates:
        for side in ("pytrace", "bpftrace"):
            pts = s.points.get((side, rate))
            if not pts:
                continue
            mid = sorted(pts, key=lambda p: p.per_second)[len(pts) // 2]
            rows.append([f"{rate:,.0f}/s" if rate else "unpaced", side, f"{mid.generated:,}",
                         f"{mid.delivered:,}", f"{mid.missing:,}", f"{mid.reported_lost:,}",
                         _f(mid.seconds, 2), _f(mid.per_second, 0)])
    text = table(["offered rate", "tracer", "events", "delivered", "missing", "reported lost",
                  "seconds", "records/s"], rows)
    ratios = []
    for rate in rates:
        p, b = (common_median(s, side, rate) for side in ("pytrace", "bpftrace"))
        if b:
            ratios.append(f"{f'{rate:,.0f}/s' if rate else 'burst'}: {_f(p / b, 2)}")
    if ratios:
        text += ("\nrecords/s ratio pytrace / bpftrace (a paced rate both keep up with caps "
                 "both at 1.0): " + "; ".join(ratios) + "\n")
    p, b = (common_median(s, side, 0) for side in ("pytrace", "bpftrace"))
    if b:
        text += f"\nburst: {_f(p / b, 2)}× bpftrace's records/s (target ≥ 3: {_verdict(p / b, 3.0, True)})\n"
        burst = s.points.get(("pytrace", 0), [])
        whole = sum(1 for pt in burst if pt.missing == 0)
        text += (f"\nburst delivered whole by pytrace in {whole} of {len(burst)} rounds "
                 "(target: every round)\n")
    return text


def common_median(s: Series, side: str, rate: float) -> float:
    vals = sorted(p.per_second for p in s.points.get((side, rate), []))
    return vals[len(vals) // 2] if vals else float("nan")


def compile_scaling(items: list[Timing]) -> str:
    rows = []
    for t in items:
        p, b = t.wall("pytrace", "compile"), t.wall("bpftrace", "compile")
        rows.append([t.name, _f(p * 1000), _f(b * 1000), _f(p / b if b else float("nan"), 2)])
    return table(["program", "pytrace --dry-run ms (no cache)", "bpftrace --emit-elf ms", "ratio"],
                 rows)


def repl_prompt(t: PromptTiming) -> str:
    """The REPL's time to prompt (warm), against the target, a bare prompt_toolkit prompt
    and bpftrace's shortest run."""
    from statistics import median

    def med(xs: list[float]) -> float:
        return median(xs) if xs else float("nan")

    def best(xs: list[float]) -> float:
        return min(xs) if xs else float("nan")

    wall, cpu, bt = med(t.walls), med(t.cpus), med(t.bpftrace)
    rows = [["REPL, wall", _f(wall * 1000), _f(best(t.walls) * 1000),
             f"≤ {TARGET_S * 1000:.0f}", _verdict(wall, TARGET_S), _f(bt * 1000),
             _f(wall / bt, 2) if bt else "n/a"],
            ["REPL, CPU (user+sys)", _f(cpu * 1000), _f(best(t.cpus) * 1000), "", "", "", ""],
            ["floor: bare prompt_toolkit, wall", _f(med(t.floor_walls) * 1000),
             _f(best(t.floor_walls) * 1000), "", "", "", ""],
            ["floor: bare prompt_toolkit, CPU", _f(med(t.floor_cpus) * 1000),
             _f(best(t.floor_cpus) * 1000), "", "", "", ""]]
    return table(["time to prompt", "median ms", "best ms", "target ms", "",
                  "bpftrace BEGIN { exit(); } ms", "ratio"], rows)
