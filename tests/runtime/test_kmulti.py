"""kprobe_multi links: the BPF_LINK_CREATE attr (syscall mocked), the shared program
really loading and its address map filled from /proc/kallsyms, and this kernel's
refusal of kprobes in one line."""

from __future__ import annotations

import ctypes
import errno
import os
import struct
import subprocess
import sys
from collections.abc import Callable

import pytest

from pytrace.codegen import kmulti as ckmulti
from pytrace.driver import check_source, generate
from pytrace.passes.context import Options
from pytrace.resources import ProbeSpec, ProgType
from pytrace.runtime import attach, bpffeatures, kmulti
from pytrace.runtime import maps as bpfmaps
from pytrace.runtime import syscalls as sc
from pytrace.runtime.errors import FeatureUnavailable
from pytrace.runtime.loader import LoadedObject
from pytrace.source import Source

REFUSAL = "probes are not available on this kernel: built without CONFIG_KPROBES"


def _object(text: str):  # type: ignore[no-untyped-def]
    return generate(check_source(Source("stdin", text), Options()))[1]


def _kprobes() -> bool:
    from pytrace.runtime.features import _check_cached

    return _check_cached("kprobe") is None


@pytest.mark.parametrize("retprobe", [False, True])
def test_link_create_attr(monkeypatch: pytest.MonkeyPatch, retprobe: bool) -> None:
    seen: list[tuple[int, int, int, int, int, int, list[str]]] = []

    def bpf(cmd: int, attr: bytearray, what: str = "") -> int:
        prog, target, atype = struct.unpack_from("<III", attr, 0)
        flags, cnt, syms, addrs, cookies = struct.unpack_from("<IIQQQ", attr, 16)
        names = [ctypes.string_at(struct.unpack_from("<Q", ctypes.string_at(syms, 8 * cnt),
                                                     8 * i)[0]).decode() for i in range(cnt)]
        assert (target, addrs, cookies) == (0, 0, 0)
        seen.append((cmd, prog, atype, flags, cnt, len(names), names))
        return os.dup(0)

    monkeypatch.setattr(attach, "check_probe_kind", lambda kind: None)
    monkeypatch.setattr(kmulti.sc, "bpf", bpf)
    kind = "kretprobe" if retprobe else "kprobe"
    spec = ProbeSpec(0, f"{kind}:vfs_read", kind, "probe_0", ProgType.KPROBE,
                     {"funcs": "vfs_read\nvfs_write\nvfs_open", "retprobe": int(retprobe)},
                     ckmulti.BPF_TRACE_KPROBE_MULTI, covers=3)
    att = attach.attach(spec, 41)
    assert len(att.links) == 1 and att.fds == []
    att.close()
    assert seen == [(sc.LINK_CREATE, 41, 42, int(retprobe), 3, 3,
                     ["vfs_read", "vfs_write", "vfs_open"])]


def test_link_refusal_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def bpf(cmd: int, attr: bytearray, what: str = "") -> int:
        raise OSError(errno.EOPNOTSUPP, "no")

    monkeypatch.setattr(attach, "check_probe_kind", lambda kind: None)
    monkeypatch.setattr(kmulti.sc, "bpf", bpf)
    spec = ProbeSpec(0, "kprobe:vfs_read", "kprobe", "probe_0", ProgType.KPROBE,
                     {"funcs": "vfs_read\nvfs_write", "retprobe": 0})
    with pytest.raises(FeatureUnavailable, match="cannot attach kprobe:vfs_read: BPF_LINK_CREATE"):
        attach.attach(spec, 41)


def test_shared_program_loads_and_its_map_is_filled(open_fds: Callable[[], int]) -> None:
    """The verifier accepts the bpf_get_func_ip lookup; each function's kallsyms
    address maps to its probe name index and its name."""
    before = open_fds()
    obj = _object("kr:vfs_* { @[probe, func] = count(); }")
    spec = obj.resources.probes[0]
    loaded = LoadedObject(obj)
    try:
        assert [p.spec.index for p in loaded.programs] == [spec.index]
        kmulti.fill(obj.resources, [spec], loaded.map_fd)
        m = obj.resources.map(ckmulti.map_name(spec.index))
        addr = kmulti.addresses(["vfs_read"])["vfs_read"][0]
        assert addr != 0
        got = bpfmaps.lookup(loaded.map_fd(m.name), m, struct.pack("<Q", addr))
        assert got is not None
        index = obj.resources.probe_names.index("kretprobe:vfs_read")
        assert got[0] == ckmulti.value_bytes(index, "vfs_read")
    finally:
        loaded.close()
    assert open_fds() == before


def test_kprobe_multi_feature_probe_does_not_crash() -> None:
    assert bpffeatures.has_kprobe_multi() in (True, False)
    if not _kprobes():
        assert bpffeatures.has_kprobe_multi() is False


@pytest.mark.parametrize(("kind", "text"), [
    ("kprobe", "k:vfs_* { @[probe] = count(); }"),
    ("kretprobe", "kr:vfs_* { @[func] = count(); }"),
])
def test_cli_refuses_in_one_line(kind: str, text: str) -> None:
    if _kprobes():
        pytest.skip("this kernel has kprobes")
    env = dict(os.environ, PYTRACE_NO_CACHE="1")
    r = subprocess.run([sys.executable, "-m", "pytrace", "-e", text], capture_output=True,
                       text=True, timeout=60, env=env)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.splitlines() == [f"ERROR: {kind} {REFUSAL} (no kprobe PMU and no kprobe_events)"]
