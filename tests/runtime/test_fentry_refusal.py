"""fentry/fexit against the live kernel. This kernel does not allow BPF trampolines:
the CLI, the loader and the attach step each refuse with one line naming them, and
nothing is left open. On a kernel that allows them, the probes really fire."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Callable

import pytest

from pytrace.driver import check_source, generate
from pytrace.passes.context import Options
from pytrace.runtime import attach, features
from pytrace.runtime.errors import FeatureUnavailable
from pytrace.runtime.loader import LoadedObject
from pytrace.runtime.modbtf import module_btf_fd
from pytrace.source import Source

REFUSAL = ("probes are not available on this kernel: it does not allow BPF trampolines for "
           "fentry/fexit")


def pytrace(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTRACE_NO_CACHE="1")
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=60, env=env)


def _allowed() -> bool:
    try:
        features._fentry("fentry")
    except FeatureUnavailable:
        return False
    return True


def _object(text: str):  # type: ignore[no-untyped-def]
    return generate(check_source(Source("stdin", text), Options()))[1]


@pytest.mark.parametrize(("kind", "text"), [
    ("fentry", "fentry:vfs_read { @[comm] = sum(args.count); }"),
    ("fexit", "fexit:vfs_read { @ = hist(retval); }"),
    ("fentry", "kfunc:tcp_sendmsg { @[args.sk->__sk_common.skc_family] = count(); }"),
])
def test_cli_refuses_in_one_line_or_traces(kind: str, text: str) -> None:
    if _allowed():  # a kernel with trampolines: the probe attaches and runs
        r = pytrace("-c", "cat /etc/hostname", "-e", text)
        assert r.returncode == 0, r.stderr
        assert "@" in r.stdout
        return
    r = pytrace("-e", text)
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.splitlines() == [r.stderr.strip()], r.stderr
    assert r.stderr.startswith(f"ERROR: {kind} {REFUSAL}"), r.stderr


def test_feature_probe_leaves_nothing_open(open_fds: Callable[[], int]) -> None:
    before = open_fds()
    for kind in ("fentry", "fexit"):
        try:
            features._fentry(kind)
        except FeatureUnavailable as exc:
            assert str(exc).startswith(f"{kind} {REFUSAL}") and "\n" not in str(exc)
    assert open_fds() == before


def test_loader_refuses_in_one_line(open_fds: Callable[[], int]) -> None:
    """The load itself (no feature check before it) names the missing trampolines."""
    if _allowed():
        pytest.skip("this kernel allows BPF trampolines")
    obj = _object("fexit:vfs_read { @[tid] = args; @r = retval; }")
    before = open_fds()
    with pytest.raises(FeatureUnavailable) as exc:
        LoadedObject(obj)
    assert str(exc.value).startswith(f"fexit {REFUSAL} (loading the program for "
                                     "fexit:vfs_read")
    assert open_fds() == before  # the maps created before the refusal are closed


@pytest.mark.parametrize("err", [524, errno.EOPNOTSUPP, errno.EPERM])
def test_attach_refusal_is_one_line(err: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel that loads the program but refuses to attach it: the same line."""
    from pytrace.resources import ProbeSpec, ProgType

    def refuse(cmd: int, attr: bytearray, what: str = "") -> int:
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(attach, "check_probe_kind", lambda kind: None)
    monkeypatch.setattr(attach.sc, "bpf", refuse)
    spec = ProbeSpec(0, "fentry:vfs_read", "fentry", "probe_0", ProgType.TRACING,
                     {"func": "vfs_read", "btf_id": 1}, 24)
    with pytest.raises(FeatureUnavailable) as exc:
        attach._fentry(spec, 0)
    assert str(exc.value).startswith(f"fentry {REFUSAL} (attaching fentry:vfs_read")


def test_module_btf_objects_are_found_by_name(open_fds: Callable[[], int]) -> None:
    before = open_fds()
    fd = module_btf_fd("vmlinux")
    try:
        assert fd > 0
    finally:
        os.close(fd)
    with pytest.raises(FeatureUnavailable, match="nosuch_pytrace_mod"):
        module_btf_fd("nosuch_pytrace_mod")
    assert open_fds() == before
