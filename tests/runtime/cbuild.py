"""Build the small C programs that runtime tests trace (test-only helper)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def build_c(directory: Path, name: str, source: str, *flags: str, optional: bool = False) -> str:
    """Compile `source` with gcc into directory/name and return its path.

    Skips the test when gcc is missing; a failed build fails the test, or skips it when
    `optional` (for variants the toolchain may not support)."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    src = directory / f"{name}.c"
    src.write_text(source)
    out = directory / name
    r = subprocess.run(["gcc", "-o", str(out), str(src), *flags], capture_output=True, text=True)
    if r.returncode != 0:
        if optional:
            pytest.skip(f"cannot build {name}: {r.stderr.strip()[:200]}")
        raise AssertionError(f"cannot build {name}: {r.stderr}")
    return str(out)
