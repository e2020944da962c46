"""The CLI's run modes and process-level features against the kernel: --test, --bench
(--mode bench), self:signal:SIGUSR1, --probe-filter, BPFTRACE_* over the config block,
tseries() over time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

ENV = dict(os.environ, PYTRACE_NO_CACHE="1")
NOTIFY = "__BPFTRACE_NOTIFY_PROBES_ATTACHED"

SUITE = """\
begin { printf("begin\\n"); @calls = 0; }
test:okay { @calls++; print("I'm okay! This output will be suppressed."); }
test:failure { print("This is a failure! This output will be shown"); return 1; }
test:last { @calls++; }
bench:lhist { @a = lhist(rand % 10, 1, 10, 1); }
bench:count { @b = count(); }
bench:my_loop { $a = 0; for ($i : 0..10) { $a++; } }
tracepoint:syscalls:sys_enter_getppid { @never = count(); }
end { printf("end %d\\n", @calls); clear(@calls); }
"""


def pytrace(*args: str, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=timeout, env=env or ENV)


def test_test_mode_reports_failures_and_shows_only_their_output() -> None:
    r = pytrace("--test", "-e", SUITE)
    assert r.returncode == 1, r.stderr
    assert r.stdout == ("begin\n[ PASS ] okay\nThis is a failure! This output will be shown\n"
                        "[ FAIL ] failure (returned 1)\n[ PASS ] last\n\n1 of 3 tests failed\n"
                        "end 2\n")
    assert "Attached 5 probes" in r.stderr  # begin, end and the three tests


def test_test_mode_passes_and_exit_stops_the_suite() -> None:
    r = pytrace("--test", "-q", "-e", "test:a { } test:b { exit(3); } test:c { }")
    assert r.returncode == 1
    assert r.stdout == "[ PASS ] a\n[ FAIL ] b (exit(3))\n\n1 of 2 tests failed\n"
    ok = pytrace("--mode", "test", "-q", "-e", "test:a { return 0; }")
    assert ok.returncode == 0 and ok.stdout == "[ PASS ] a\n\n1 test passed\n"


def test_bench_mode_table_and_json() -> None:
    r = pytrace("--bench", "-e", SUITE)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:3] == ["begin", "", ""]
    table = lines[3:10]
    assert table[0] == table[2] == table[-1] == "+-----------+-------------+"
    assert table[1] == "| BENCHMARK | NANOSECONDS |"
    names = [row.split("|")[1].strip() for row in table[3:6]]
    assert names == ["count", "lhist", "my_loop"]
    assert all(int(row.split("|")[2]) > 0 for row in table[3:6])
    assert lines[10:] == ["end 0"] and "Lost" not in r.stderr
    j = pytrace("--mode", "bench", "-f", "json", "-q", "-e", "bench:count { @b = count(); }")
    rec = json.loads(j.stdout.splitlines()[0])
    assert rec["type"] == "benchmark_results" and rec["data"]["count"] > 0


def test_normal_mode_ignores_test_and_bench_probes() -> None:
    r = pytrace("-q", "-e", SUITE.replace("tracepoint:syscalls:sys_enter_getppid",
                                          "interval:ms:10") + "interval:ms:50 { exit(); }")
    assert r.returncode == 0 and r.stdout.startswith("begin\nend 0\n")
    assert "okay" not in r.stdout and "@a" not in r.stdout


def test_self_signal_probe_runs_on_sigusr1_and_maps_are_not_printed_by_it() -> None:
    prog = ('begin { @b[1] = 2; } self:signal:SIGUSR1 { printf("usr1 %d\\n", @b[1]); '
            "@n++; if (@n == 2) { exit(); } }")
    proc = subprocess.Popen([sys.executable, "-m", "pytrace", "-e", prog],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(ENV, **{NOTIFY: "1"}))
    try:
        assert proc.stdout is not None
        assert NOTIFY in proc.stdout.readline()
        proc.send_signal(signal.SIGUSR1)
        assert proc.stdout.readline() == "usr1 2\n"
        proc.send_signal(signal.SIGUSR1)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert out == "usr1 2\n\n\n@b[1]: 2\n@n: 2\n"


def test_probe_filter_keeps_matching_probes() -> None:
    r = pytrace("-q", "--probe-filter", "ms:2", "-e",
                'interval:ms:1 { printf("one\\n"); exit(); } '
                'interval:ms:2 { printf("two\\n"); exit(); } end { printf("end\\n"); }')
    assert r.returncode == 0 and r.stdout.startswith("two\nend\n"), r.stderr
    none = pytrace("--probe-filter", "nothing", "-e", "interval:ms:1 { exit(); }")
    assert none.returncode == 1 and "No probes matched the probe filter 'nothing'" in none.stderr


def test_environment_wins_over_the_config_block() -> None:
    prog = ("config = { max_map_keys = 2; print_maps_on_exit = false } "
            "begin { for ($i : 0..6) { @m[$i] = 1; } exit(); }")
    r = pytrace("-q", "-e", prog, env=dict(ENV, BPFTRACE_MAX_MAP_KEYS="4",
                                           BPFTRACE_PRINT_MAPS_ON_EXIT="1"))
    assert r.returncode == 0 and r.stdout.count("@m[") == 4
    bad = pytrace("-e", "begin { }", env=dict(ENV, BPFTRACE_STACK_MODE="fancy"))
    assert bad.returncode == 1
    assert bad.stderr == ("ERROR: Invalid value for stack_mode: valid values are bpftrace, "
                          "perf, raw, and build_id.\n")


def _iso_ns(text: str) -> int:
    """ns since the epoch of bpftrace's `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn` (local time)."""
    whole, frac = text.split(".")
    return int(time.mktime(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))) * 10**9 + int(frac)


def test_tseries_records_each_interval() -> None:
    prog = ("config = { unstable_tseries = enable } begin { @c = 0; } "
            "interval:ms:20 { @c++; @last = tseries(@c, 100ms, 50); "
            '@total = tseries(1, 100ms, 50, "sum"); if (@c == 25) { exit(); } }')
    r = pytrace("-q", "-f", "json", "-e", prog)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    recs = {next(iter(rec["data"])): rec for rec in map(json.loads, r.stdout.splitlines())
            if rec["type"] == "tseries"}
    last, total = recs["@last"]["data"]["@last"], recs["@total"]["data"]["@total"]
    starts = [_iso_ns(p["interval_start"]) for p in total]
    assert all(b - a >= 100_000_000 and (b - a) % 100_000_000 == 0
               for a, b in zip(starts, starts[1:]))
    assert sum(p["value"] for p in total) == 25
    values = [p["value"] for p in last]
    assert values == sorted(values) and values[-1] == 25
    text = pytrace("-q", "-e", prog)
    assert "hh:mm:ss.ms  |" + "_" * 51 + "|" in text.stdout
