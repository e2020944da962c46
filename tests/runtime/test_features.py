"""Feature probes name the probe kind that was asked for (kretprobe, fexit …)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pytrace.runtime.errors import FeatureUnavailable
from pytrace.runtime.features import check_probe_kind


def pytrace(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTRACE_NO_CACHE="1")
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=60, env=env)


REFUSED = {
    "kprobe": "kprobe:do_nanosleep { @ = count(); }",
    "kretprobe": "kretprobe:do_nanosleep { @ = retval; }",
    "fentry": "fentry:do_nanosleep { @ = count(); }",
    "fexit": "fexit:vfs_read { @ = count(); }",
    "hardware": "hardware:cycles:1000000 { @ = count(); }",
}


def _refusal(kind: str) -> str:
    try:
        check_probe_kind(kind)
    except FeatureUnavailable as exc:
        return str(exc)
    pytest.skip(f"{kind} probes are available on this kernel")


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_refusal_names_the_kind_asked_for(kind: str) -> None:
    message = _refusal(kind)
    assert message.startswith(f"{kind} probes are not available"), message
    assert "\n" not in message


@pytest.mark.parametrize("kind", ["kretprobe", "fexit"])
def test_return_kinds_are_not_called_by_their_entry_kind(kind: str) -> None:
    message = _refusal(kind)
    entry = {"kretprobe": "kprobe", "fexit": "fentry"}[kind]
    assert not message.startswith(f"{entry} "), message


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_cli_refusal_names_the_kind(kind: str) -> None:
    _refusal(kind)
    r = pytrace("-e", REFUSED[kind])
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"ERROR: {kind} probes are not available"), lines[0]
