"""Benchmark 7: how long until the REPL's prompt appears (warm: the first, untimed start
compiles the bytecode and fills the page cache).

The REPL runs on a pseudo-terminal as a person would start it; the clock stops when
`pytrace>` is written to the terminal. The process's CPU time at that moment is read
from /proc (steadier than wall time on a shared machine). A terminal's cursor-position
query is answered as a terminal would. bpftrace has no REPL: its own shortest start
(`BEGIN { exit(); }`, to exit) is given for scale.
"""

from __future__ import annotations

import argparse
import os
import pty
import re
import select
import signal
import sys
import time
from dataclasses import dataclass, field

from bench import common

PROMPT = b"pytrace>"
CPR_QUERY, CPR_ANSWER = b"\x1b[6n", b"\x1b[24;1R"
TARGET_S = 0.3


FLOOR = [sys.executable, "-c",
         "from prompt_toolkit import PromptSession; PromptSession('pytrace> ').prompt()"]


@dataclass
class PromptTiming:
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    bpftrace: list[float] = field(default_factory=list)
    floor_walls: list[float] = field(default_factory=list)  # a bare prompt_toolkit prompt
    floor_cpus: list[float] = field(default_factory=list)


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stop(pid: int, fd: int) -> None:
    try:
        os.write(fd, b"\x04")  # Ctrl-D: the REPL quits as a person would quit it
        end = time.monotonic() + 5
        while time.monotonic() < end:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
            if select.select([fd], [], [], 0.05)[0]:
                try:
                    os.read(fd, 65536)
                except OSError:
                    pass
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    finally:
        os.close(fd)


def time_to_prompt(timeout: float = 20.0, argv: list[str] | None = None
                   ) -> tuple[float, float]:
    """(wall seconds, CPU seconds) from exec to the prompt on the terminal."""
    env = dict(os.environ, PYTRACE_NO_HISTORY="1", TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed pytrace has its .pyc files
    argv = argv or [sys.executable, "-m", "pytrace"]
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: the REPL on the pseudo-terminal
        os.execvpe(argv[0], argv, env)
    seen = b""
    try:
        while time.perf_counter() - t0 < timeout:
            if not select.select([fd], [], [], 0.5)[0]:
                continue
            chunk = os.read(fd, 65536)
            seen += chunk
            if CPR_QUERY in chunk:
                os.write(fd, CPR_ANSWER)
            if PROMPT in seen:
                wall = time.perf_counter() - t0
                return wall, _cpu_seconds(pid)
        raise RuntimeError(f"no prompt within {timeout} s: {seen[-300:]!r}")
    finally:
        _stop(pid, fd)


def run(rounds: int) -> PromptTiming:
    t = PromptTiming()
    time_to_prompt()  # warms the bytecode and page caches
    time_to_prompt(argv=FLOOR)
    for _ in range(rounds):
        wall, cpu = time_to_prompt()
        t.walls.append(wall)
        t.cpus.append(cpu)
        wall, cpu = time_to_prompt(argv=FLOOR)
        t.floor_walls.append(wall)
        t.floor_cpus.append(cpu)
        if "bpftrace" in common.sides():
            t.bpftrace.append(common.timed_run(
                common.tracer_argv("bpftrace", "BEGIN { exit(); }"))[0])
    return t


def section(rounds: int) -> str:
    """The Markdown section of bench/RESULTS.md for `rounds` measured starts."""
    from bench import report

    load = os.getloadavg()[0]
    return (f"## 8. REPL: time until the prompt appears (warm; median of {rounds})\n\n"
            "`pytrace` with no program on a pseudo-terminal, until `pytrace>` is written; "
            "CPU = the process's user+sys time at that moment (all threads). The floor is a "
            "bare prompt_toolkit prompt (`PromptSession().prompt()`, nothing else) timed the "
            "same way, rounds interleaved. bpftrace has no "
            "REPL: its shortest run is shown for scale. The machine's 1-minute load average "
            f"when measured: {load:.1f} on {os.cpu_count()} CPUs (wall time waits for the CPU "
            "when the machine is busy; CPU time does not).\n\n"
            + report.repl_prompt(run(rounds)) + "\n"
            "Before the prompt only Python, prompt_toolkit (with asyncio) and the REPL's own "
            "light modules load, and the privilege check and BPF run-time stats run; the "
            "engine, output sinks, rich, the parser, the passes and LLVM are imported in a "
            "background thread once the prompt is drawn (docs/repl.md). The REPL's CPU "
            "time above the bare prompt is what it adds; the rest is the floor. On a busy "
            "machine wall time mostly waits for a CPU (even the bare prompt then misses "
            "0.3 s); CPU time is the figure that does not depend on the load.\n")


def write(text: str, path: str) -> None:
    """Put the section in RESULTS.md: in place of the old one, else before the notes."""
    old = open(path).read() if os.path.exists(path) else ""
    pattern = re.compile(r"## 8\. REPL.*?(?=\n## |\n_Suite wall time|\Z)", re.S)
    if pattern.search(old):
        old = pattern.sub(text.rstrip("\n") + "\n", old, count=1)
    else:
        for anchor in ("\n## Method notes", "\n_Suite wall time"):
            if anchor in old:
                old = old.replace(anchor, "\n" + text + anchor, 1)
                break
        else:
            old += "\n" + text
    with open(path, "w") as f:
        f.write(old)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    ns = ap.parse_args(argv)
    text = section(ns.rounds)
    if ns.write:
        write(text, os.path.join(common.HERE, "RESULTS.md"))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
