"""The run modes besides tracing: `--test` runs each `test:` probe once and reports
which failed; `--bench` runs each `bench:` probe many times in the kernel and reports
the average time of one run. Both run after begin and before end.

A test fails when its probe returns non-zero (`return 1;`) or calls exit() with a
non-zero code; exit() also ends the run (the remaining tests are not run). What a test
prints is shown only when it fails. A benchmark's own output is dropped.
"""

from __future__ import annotations

import io
from typing import Any

from pytrace.output import TextOutput
from pytrace.output.reports import Outcome
from pytrace.runtime import maps as bpfmaps
from pytrace.runtime.attach import run_repeated, run_test
from pytrace.runtime.engine import Engine, Group

BENCH_REPEAT = 1_000_000


class _Exit:
    """What exit() did during one test run."""

    def __init__(self) -> None:
        self.code: int | None = None

    def record(self, code: int) -> None:
        self.code = code


def run_tests(engine: Engine, group: Group, output: Any) -> int:
    """Run every test probe in order; 0 when all passed, 1 otherwise."""
    dispatcher = group.dispatcher
    assert dispatcher is not None
    results: list[Outcome] = []
    for prog in group.kind("test"):
        captured = io.StringIO()
        exited = _Exit()
        sink, on_exit = dispatcher.sink, dispatcher.on_exit
        dispatcher.sink = TextOutput(captured, captured, quiet=True)
        dispatcher.on_exit = exited.record
        try:
            retval = run_test(prog.fd)
            engine.drain(group)
        finally:
            dispatcher.sink, dispatcher.on_exit = sink, on_exit
        name = str(prog.spec.attach.get("name", prog.spec.name))
        reason = f"returned {_signed32(retval)}" if retval else (
            f"exit({exited.code})" if exited.code else "")
        result = Outcome(name, not reason, reason, captured.getvalue())
        results.append(result)
        output.test_result(result)
        if exited.code is not None:
            on_exit(exited.code)
            break
    output.test_summary(results)
    return 0 if all(r.passed for r in results) else 1


def run_benchmarks(engine: Engine, group: Group, output: Any,
                   repeat: int = BENCH_REPEAT) -> None:
    """Time every bench probe (in declaration order); its output is dropped."""
    dispatcher = group.dispatcher
    assert dispatcher is not None
    results: list[tuple[str, int]] = []
    for prog in group.kind("bench"):
        results.append((str(prog.spec.attach.get("name", prog.spec.name)),
                        run_repeated(prog.fd, repeat)))
        sink, dispatcher.sink = dispatcher.sink, TextOutput(io.StringIO(), io.StringIO(), True)
        try:
            engine.drain(group)
        finally:
            dispatcher.sink = sink
    _forget_lost(engine, group)
    output.bench(results)


def _forget_lost(engine: Engine, group: Group) -> None:
    """Records a benchmark could not send are not "lost events" of the program."""
    name = group.resources.lost_map
    if name in engine.loaded.specs:
        group.lost_seen = bpfmaps.read_lost(engine.loaded.map_fd(name))


def _signed32(v: int) -> int:
    return v - (1 << 32) if v & (1 << 31) else v
