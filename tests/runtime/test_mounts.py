"""Pseudo filesystems: whether one is mounted, and mounting one that is missing."""

from __future__ import annotations

import os
import subprocess

import pytest

from pytrace.runtime import mounts


def test_mounted() -> None:
    assert mounts.mounted("/proc", "proc")
    assert not mounts.mounted("/proc", "tracefs")
    assert mounts.ensure("proc", "/proc") is None  # already there: nothing done


def test_ensure_mounts_in_a_private_namespace(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Mount a bpf filesystem on a fresh directory inside `unshare -m` (not ours)."""
    code = ("from pytrace.runtime import mounts; import sys; "
            f"print(mounts.ensure('bpf', '{tmp_path}'), mounts.mounted('{tmp_path}', 'bpf'))")
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "python3", "-c", code],
                       capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=os.getcwd()))
    if r.returncode != 0 and "unshare" in r.stderr:
        pytest.skip(r.stderr.strip())
    assert r.stdout.split() == ["None", "True"], r.stderr
    assert not mounts.mounted(str(tmp_path), "bpf")  # only in that namespace
    assert "No such file" in (mounts.ensure("bpf", str(tmp_path / "missing")) or "")
