"""Programs far larger than usual still compile: no LLVM abort on long jumps (BPF v4's
32-bit jumps), and compile time stays linear in the statement count (instructions are
scheduled in IR order). Run in a subprocess: an LLVM abort would kill pytest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pytrace.codegen.llvm import cpu_version


def test_cpu_version_follows_the_kernel_release() -> None:
    assert cpu_version("6.18.0-1-amd64") == "v4"
    assert cpu_version("6.6.1") == "v4"
    assert cpu_version("6.5.0") == "v3"
    assert cpu_version("5.15.0-91-generic") == "v3"
    assert cpu_version("garbage") == "v3"


def test_thousands_of_statements_compile(tmp_path: Path) -> None:
    body = "".join(f"  @a{i % 40}[{i % 7}] = {i};\n  if (@a{i % 40}[1] > {i}) {{ @b = 1; }}\n"
                   for i in range(1500))
    script = tmp_path / "big.bt"
    script.write_text("BEGIN {\n" + body + "  exit();\n}\n")
    r = subprocess.run([sys.executable, "-m", "pytrace", "--dry-run", str(script)],
                       capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, PYTRACE_NO_CACHE="1"))
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stderr == ""
