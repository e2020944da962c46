"""A verifier rejection is a located error at the probe, saying what to change."""

from __future__ import annotations

import os
import subprocess
import sys

ENV = dict(os.environ, PYTRACE_NO_CACHE="1")


def pytrace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=120, env=ENV)


def test_a_too_long_loop_is_located_at_its_probe() -> None:
    r = pytrace("-e", "BEGIN { $i = 0; while ($i < 100000) { @[$i] = 1; $i++; } }")
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines[0] == "stdin:1:1-6: ERROR: this probe is too complex for the kernel's verifier"
    assert lines[2] == "~~~~~"
    assert lines[3].startswith("HINT: use fewer branches or a smaller loop")
    assert lines[4].startswith("HINT: the verifier said: ")
    assert "Traceback" not in r.stderr


def test_too_many_jumps_names_the_second_probe() -> None:
    r = pytrace("-e", 'BEGIN { printf("x\\n"); }\ntracepoint:syscalls:sys_enter_openat { $i = 0; '
                "while ($i < 100000) { if (rand % 2) { @a[$i] = 1; } else { @b[$i] = 2; } "
                "$i++; } }")
    assert r.returncode == 1
    assert r.stderr.startswith("stdin:2:1-37: ERROR: this probe is too complex")
    assert "jumps is too complex" in r.stderr or "too large" in r.stderr


def test_verbose_adds_the_whole_log() -> None:
    r = pytrace("-v", "-e", "BEGIN { $i = 0; while ($i < 100000) { @[$i] = 1; $i++; } }")
    assert r.returncode == 1
    assert "processed 1000001 insns" in r.stderr


def test_more_than_64_maps_in_a_probe_is_a_compile_error() -> None:
    body = " ".join(f"@m{i} = 1;" for i in range(70))
    r = pytrace("--dry-run", "-e", f"BEGIN {{ {body} }}")
    assert r.returncode == 1
    assert r.stderr.startswith("stdin:1:1-6: ERROR: this probe uses 70 maps, but one BPF "
                               "program may use at most 64")
