"""Fixtures for the probe expansion tests: small ELF files built with gcc here."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

Build = Callable[..., str]


@pytest.fixture
def cc(tmp_path: Path) -> Build:
    """cc(name, source, *flags) -> the path of the built file (skips without gcc)."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")

    def build(name: str, source: str, *flags: str) -> str:
        src = tmp_path / f"{name}.c"
        src.write_text(source)
        out = tmp_path / name
        r = subprocess.run(["gcc", "-O1", "-o", str(out), str(src), *flags],
                           capture_output=True, text=True)
        assert r.returncode == 0, f"cannot build {name}: {r.stderr}"
        return str(out)

    return build
