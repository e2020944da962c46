"""Smoke tests of bench/: each benchmark at a tiny size so the suite cannot rot.
Asserts what was measured (events seen, records delivered, probes attached), never times."""

from __future__ import annotations

import math
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from bench import btf, common, percall, repl, report, run, startup, throughput, uwide  # noqa: E402


@pytest.mark.parametrize("name", ["count by comm", "str() filter", "printf per event"])
def test_percall_counts_every_workload_event(name: str) -> None:
    items = percall.run(1, 500, only=[name])
    assert [i.name for i in items] == [name]
    for side in common.sides():
        (sample,) = items[0].samples[side]
        assert sample.events >= 500  # every workload syscall ran the program (plus others')
        assert sample.ns_per_event > 0 and sample.maxrss_kb > 0
    assert name in report.percall(items)


def test_startup_and_memory_tables() -> None:
    items = startup.startup(1)
    assert [t.name for t in items] == [name for name, _ in startup.STARTUP_PROGRAMS]
    for t in items:
        assert len(t.walls[("pytrace", "cold")]) == 1 and len(t.walls[("pytrace", "warm")]) == 1
    text = report.startup(items) + report.memory([], items)
    assert "BEGIN { exit(); }" in text and "warm" in text


def test_throughput_delivers_or_reports_every_record() -> None:
    s = throughput.run([2000, 0], 0.2, 1, 1000)
    for side in common.sides():
        (p,) = s.points[(side, 2000)]
        assert p.generated == 400
        assert p.delivered + p.reported_lost >= p.generated  # nothing silently dropped
    (burst,) = s.points[("pytrace", 0)]
    assert burst.generated == 1000 and burst.delivered == 1000  # the ring holds a burst
    text = report.throughput(s)
    assert "records/s" in text and "burst delivered whole by pytrace in 1 of 1" in text


def test_compile_scaling_small() -> None:
    items = startup.compile_scaling(1, sizes=(1, 3))
    assert [t.name for t in items] == ["1 probes", "3 probes"]
    assert startup.probe_program(3).count("tracepoint:syscalls:sys_enter_") == 3
    assert "--dry-run" in report.compile_scaling(items)


def test_wide_attach_narrow_glob() -> None:
    t = startup.wide_attach(1, 1, startup.WIDE.replace("sys_enter_*", "sys_enter_getp*"))
    assert t.probes["pytrace"] >= 3  # getpid, getppid, getpgid, getpgrp, getpeername, ...
    for side in common.sides():
        assert t.probes[side] == t.probes["pytrace"]
        assert not math.isnan(t.wall(side, "run"))


def test_run_writes_results(tmp_path: os.PathLike[str]) -> None:
    out = os.path.join(str(tmp_path), "RESULTS.md")
    assert run.main(["--tiny", "--only", "startup", "-o", out]) == 0
    text = open(out).read()
    assert text.startswith("# pytrace vs bpftrace benchmarks")
    assert "## 2. Start-up" in text and "## 5. Peak RSS" in text


def test_btf_section_measures_the_lookup() -> None:
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        pytest.skip("the kernel has no BTF")
    m = btf.measure(1)
    assert isinstance(m["members"], int) and m["members"] > 100  # struct task_struct's
    text = btf.render(m)
    assert "| cold |" in text and "| warm |" in text


def test_repl_prompt_appears_on_a_terminal() -> None:
    t = repl.run(1)
    assert len(t.walls) == 1 and t.walls[0] > 0 and t.cpus[0] > 0
    text = report.repl_prompt(t)
    assert "REPL, wall" in text and "floor: bare prompt_toolkit" in text
    assert len(t.floor_walls) == 1


def test_uwide_listing_and_a_narrow_attach() -> None:
    cases = uwide.run(1, 1, programs=("uprobe:libc:getpid { @ = count(); }",))
    listing, attach = cases
    assert listing.lines["pytrace"] > 0 and attach.probes["pytrace"] == 1
    for variant in ("cold", "warm"):
        assert len(listing.walls[("pytrace", variant)]) == 1
    assert len(attach.walls[("pytrace", "scan cache only")]) == 1
    if "bpftrace" in common.sides():
        assert listing.identical is True and attach.probes["bpftrace"] == 1
    text = uwide.render(cases, 1)
    assert "usdt:*:*" in text and "scan cache only" in text
