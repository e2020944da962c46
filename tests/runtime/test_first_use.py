"""What a new user meets first, against the kernel: no false "map is full" warning, exit()
means exactly one more line, -p filters only process probes, failed stacks are one key,
and a missing privilege is bpftrace's one line."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from harness import run

from pytrace.driver import compile_source
from pytrace.output import make_output
from pytrace.passes.context import Options
from pytrace.resources import BpfObject
from pytrace.runtime.session import run_session
from pytrace.source import Source

ENV = dict(os.environ, PYTRACE_NO_CACHE="1")
OPENER = "import os\nwhile True:\n    os.close(os.open('/etc/hostname', os.O_RDONLY))\n"


def pytrace(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=timeout, env=ENV)


@contextmanager
def busy(code: str, n: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """n processes running `code` until the block ends."""
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]
    try:
        time.sleep(0.3)
        yield procs
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_keyless_aggregations_never_warn_that_they_are_full() -> None:
    r = run("tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @c = count(); @a = avg(2); "
            "@mn = min(3); "
            "@mx = max(4); @s = stats(5); @sum = sum(6); } interval:ms:1600 { exit(); }",
            child=[sys.executable, "-c", "import os\nfor _ in range(100): os.getppid()"])
    assert r.code == 0
    assert "WARNING" not in r.err and "full" not in r.err
    assert "@c: 100\n" in r.out


def test_a_really_full_map_warns_once_with_its_real_limit() -> None:
    obj = compile_source(Source("stdin", "tracepoint:syscalls:sys_enter_getppid "
                                "{ @k[rand] = count(); } interval:ms:1500 { exit(); }"),
                         Options()).obj
    maps = tuple(dataclasses.replace(m, max_entries=4) if m.name == "@k" else m
                 for m in obj.resources.maps)
    small = BpfObject(obj.elf, dataclasses.replace(obj.resources, maps=maps))
    out, err = io.StringIO(), io.StringIO()
    code = run_session(small, make_output("text", out, err, quiet=True),
                       [sys.executable, "-c",
                        "import os, time\nfor _ in range(200): os.getppid()\ntime.sleep(3)"])
    assert code == 0
    assert err.getvalue().count("WARNING: Map @k is full (4 keys)") == 1


def test_exit_prints_exactly_one_line_on_a_busy_system() -> None:
    prog = 'tracepoint:syscalls:sys_enter_openat { printf("x\\n"); exit(); }'
    with busy(OPENER, 3):
        for _ in range(3):
            r = pytrace("-e", prog)
            assert r.returncode == 0, r.stderr
            assert r.stdout.count("x\n") == 1, r.stdout
        r = pytrace("-f", "json", "-e", prog)
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert [rec["type"] for rec in records].count("printf") == 1


def test_nothing_is_counted_after_exit() -> None:
    workload = "import os\nfor _ in range(20000): os.getppid()"
    r = run("tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @n = count(); "
            "if (@n >= 5) { exit(); } } tracepoint:syscalls:sys_enter_getppid /pid == cpid/ "
            "{ @other = count(); }", child=[sys.executable, "-c", workload])
    assert r.code == 0
    assert "@n: 5\n" in r.out
    other = int(r.out.split("@other: ")[1].split()[0])
    assert other in (4, 5)  # it stopped too (it runs before or after @n's probe per event)


def test_pid_filter_keeps_interval_firing_and_filters_tracepoints() -> None:
    code = "import os, time\nwhile True:\n    os.getppid()\n    time.sleep(0.001)"
    with busy(code, 2) as procs:
        target = procs[0].pid
        r = pytrace("-p", str(target), "-e",
                    "tracepoint:syscalls:sys_enter_getppid { @[pid] = count(); } "
                    "interval:ms:700 { exit(); }", timeout=30)
    assert r.returncode == 0, r.stderr
    keys = [line.split("]")[0][2:] for line in r.stdout.splitlines() if line.startswith("@[")]
    assert keys == [str(target)]


def test_unreadable_stacks_are_one_empty_key() -> None:
    with busy("import time\nwhile True: time.sleep(0.0005)", 2):
        r = pytrace("-e", "tracepoint:sched:sched_switch { @[ustack] = count(); } "
                    "interval:ms:600 { exit(); }")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("@[]: ") <= 1


def test_non_root_gets_bpftraces_one_line() -> None:
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        sys.executable, "-m", "pytrace", "-e",
                        "tracepoint:syscalls:sys_enter_openat { @ = count(); }"],
                       capture_output=True, text=True, timeout=60, env=ENV)
    assert r.returncode == 1
    assert r.stderr.startswith("ERROR: pytrace currently only supports running as the root "
                               "user (or with CAP_BPF and CAP_PERFMON")
    assert len(r.stderr.strip().splitlines()) == 1


def test_exit_stops_even_when_its_record_is_lost() -> None:
    long = "x" * 200
    prog = ("tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { $i = 0; while ($i < 500) { "
            f'printf("{long}\\n"); $i++; }} exit(); }}')
    obj = compile_source(Source("stdin", prog), Options(has_child=True)).obj
    maps = tuple(dataclasses.replace(m, max_entries=4096) if m.name == "__ringbuf" else m
                 for m in obj.resources.maps)
    tiny = BpfObject(obj.elf, dataclasses.replace(obj.resources, maps=maps))
    out, err = io.StringIO(), io.StringIO()
    start = time.monotonic()
    code = run_session(tiny, make_output("text", out, err, quiet=True),
                       [sys.executable, "-c", "import os, time\nos.getppid()\ntime.sleep(60)"])
    assert code == 0
    assert time.monotonic() - start < 50  # stopped by the flag, not by the child's end
    assert "Lost " in err.getvalue()
