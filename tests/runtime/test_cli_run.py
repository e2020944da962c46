"""The CLI running programs for real: what `-o FILE` receives (and what stays on
stderr), -q, -v and -d verifier load reports, --probe-filter, print_maps_on_exit from
the environment, -p of a live process, -c failures and --info."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ENV = dict(os.environ, PYTRACE_NO_CACHE="1")
PROG = 'BEGIN { printf("hello %d\\n", 5); @a = 1; @b[2] = 3; exit(); }'


def pytrace(*args: str, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=timeout, env=dict(ENV, **(env or {})))


def test_output_file_gets_the_trace_and_stderr_the_messages(tmp_path: Path) -> None:
    out = tmp_path / "trace.txt"
    r = pytrace("-o", str(out), "-e", PROG)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == "Attached 1 probe\n"
    assert out.read_text() == "hello 5\n\n\n@a: 1\n@b[2]: 3\n"


def test_output_file_in_json(tmp_path: Path) -> None:
    out = tmp_path / "trace.json"
    r = pytrace("--output", str(out), "-f", "json", "-e", PROG)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    lines = out.read_text().splitlines()
    assert lines[0] == '{"type": "attached_probes", "count": 1, "data": {"probes": 1}}'
    assert lines[1] == '{"type": "printf", "data": "hello 5\\n"}'


def test_output_file_that_cannot_be_opened() -> None:
    r = pytrace("-o", "/nonexistent/dir/x", "-e", PROG)
    assert r.returncode == 1
    assert r.stderr == ('ERROR: Failed to open output file: "/nonexistent/dir/x": '
                        "No such file or directory\n")


def test_quiet_and_unbuffered(tmp_path: Path) -> None:
    r = pytrace("-q", "-B", "none", "-e", PROG)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == "hello 5\n\n\n@a: 1\n@b[2]: 3\n"
    out = tmp_path / "full.txt"
    assert pytrace("-q", "-B", "full", "-o", str(out), "-e", PROG).returncode == 0
    assert out.read_text() == r.stdout


def test_verbose_reports_each_load() -> None:
    r = pytrace("-v", "-e", "BEGIN { exit(); } interval:s:100 { }")
    assert r.returncode == 0, r.stderr
    assert re.search(r"^AST node count: \d+$", r.stderr, re.M)
    assert len(re.findall(r"^Program ID: [1-9]\d*$", r.stderr, re.M)) == 2
    assert "load BEGIN: Success" in r.stderr and "load interval:s:100: Success" in r.stderr
    assert re.search(r"^processed \d+ insns", r.stderr, re.M)


def test_debug_verifier_prints_the_whole_log() -> None:
    r = pytrace("-d", "verifier", "-q", "-e", "BEGIN { exit(); }")
    assert r.returncode == 0, r.stderr
    assert "R1=ctx" in r.stderr and "processed" in r.stderr


def test_probe_filter_runs_only_matching_probes() -> None:
    prog = ('interval:ms:20 { printf("fast\\n"); exit(); } '
            'interval:s:30 { printf("slow\\n"); exit(); } BEGIN { printf("begin\\n"); }')
    r = pytrace("--probe-filter", "^interval:ms:", "-e", prog)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "Attached 2 probes\n"
    assert r.stdout.startswith("begin\nfast\n")


def test_print_maps_on_exit_from_the_environment() -> None:
    r = pytrace("-q", "-e", PROG, env={"BPFTRACE_PRINT_MAPS_ON_EXIT": "0"})
    assert (r.returncode, r.stdout) == (0, "hello 5\n\n\n")


def test_a_live_pid_is_accepted() -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        r = pytrace("-q", "-p", str(sleeper.pid), "-e", 'BEGIN { printf("ok\\n"); exit(); }')
        assert (r.returncode, r.stdout) == (0, "ok\n\n\n"), r.stderr
    finally:
        sleeper.kill()
        sleeper.wait()


def test_command_that_does_not_exist_exits_non_zero() -> None:
    r = pytrace("-c", "/nonexistent/cmd", "-e", "BEGIN { exit(); }")
    assert r.returncode != 0 and r.stdout == ""
    assert r.stderr.startswith("ERROR: Failed to fork child: Path '/nonexistent/cmd'")


def test_command_output_does_not_go_to_the_output_file(tmp_path: Path) -> None:
    out = tmp_path / "trace.txt"
    r = pytrace("-q", "-o", str(out), "-c", "echo from-child",
                "-e", 'END { printf("end\\n"); }')
    assert r.returncode == 0, r.stderr
    assert r.stdout == "from-child\n"
    assert out.read_text() == "end\n\n\n"


def test_info_report_layout() -> None:
    r = pytrace("--info")
    assert r.returncode == 0, r.stderr
    text = r.stdout
    sections = [ln for ln in text.splitlines() if ln and not ln.startswith(" ")]
    assert sections == ["System", "Build", "Kernel helpers", "Kernel features", "Probe types"]
    u = os.uname()
    assert f"  OS: {u.sysname} {u.release} {u.version}\n  Arch: {u.machine}\n" in text
    from pytrace import __version__

    assert f"  version: pytrace v{__version__}\n" in text
    features = text.split("Kernel features\n", 1)[1]
    assert features.startswith("  Instruction limit: 1000000".ljust(35))
    probes = text.split("Probe types\n", 1)[1]
    assert "tracepoint: yes" in probes and "uprobe: yes" in probes and "iter: yes" in probes
    assert "ringbuf: yes" in features and "Loop support: yes" in features
    assert text.endswith("\n\n")
    for line in text.splitlines():
        if ": " in line and line.count(": ") == 2:  # two cells: the first is 35 wide
            assert line[35 - 1] == " " and line[35] != " "
