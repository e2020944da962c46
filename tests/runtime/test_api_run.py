"""pytrace.run against the kernel: the exit code, the final maps as plain dicts, and the
output text, which is byte for byte what the CLI prints."""

from __future__ import annotations

import os
import subprocess
import sys

import pytrace

PROG = ('BEGIN { printf("hello %s %d\\n", "world", 42); @a = count(); @b[1, "x"] = sum(5); '
        '@h = hist(3); @h = hist(100); print(@b); exit(); } END { printf("bye\\n"); }')


def test_result_fields() -> None:
    r = pytrace.run(PROG)
    assert r.exit_code == 0
    assert r.maps["@a"] == {(): 1} and r.maps["@b"] == {(1, "x"): 5}
    h = r.maps["@h"][()]
    assert isinstance(h, pytrace.Histogram) and h.count == 2
    assert r.output.startswith("hello world 42\n@b[1, x]: 5\nbye\n\n\n@a: 1\n")


def test_output_is_what_the_cli_prints() -> None:
    cli = subprocess.run([sys.executable, "-m", "pytrace", "-e", PROG], capture_output=True,
                         text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    assert pytrace.run(PROG).output == cli.stdout


def test_duration_cmd_and_params() -> None:
    r = pytrace.run("interval:ms:50 { @n = count(); }", duration=0.3)
    assert r.exit_code == 0 and r.maps["@n"][()] >= 1
    r = pytrace.run('BEGIN { printf("%s %d\\n", str($1), $2); exit($2); }', params=("a", "4"))
    assert (r.exit_code, r.output.splitlines()[0]) == (4, "a 4")
    workload = os.path.join(os.path.dirname(__file__), "workload.py")
    r = pytrace.run("tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @n = count(); }",
                    cmd=[sys.executable, workload, "pt_api_res", "getppid", "3"])
    assert r.maps == {"@n": {(): 3}}
