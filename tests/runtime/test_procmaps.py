"""User addresses of processes that are gone: non-PIE executables resolve without any
mapping, a process's mappings read once are kept after it exits, and PID_SEEN records
make the dispatcher read them."""

from __future__ import annotations

import struct
import subprocess

import pytest
from cbuild import build_c

from pytrace.probes.elfsyms import image
from pytrace.resources import EventKind, EventSpec, FieldSpec, ProbeSpec, ProgType, Resources
from pytrace.runtime.dispatch import Dispatcher
from pytrace.runtime.procmaps import FixedImages, command_binary, probed_binaries
from pytrace.runtime.symbols import Symbolizer
from pytrace.types import IntT

SRC = "__attribute__((noinline)) int leaf(int x) { return x; }\nint main(void) { return leaf(0); }\n"


@pytest.fixture(scope="module")
def bins(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    tmp = tmp_path_factory.mktemp("procmaps")
    return build_c(tmp, "nopie", SRC, "-no-pie"), build_c(tmp, "pie", SRC)


def test_non_pie_executables_resolve_without_mappings(bins: tuple[str, str]) -> None:
    nopie, pie = bins
    fixed = FixedImages()
    fixed.add_all([nopie, pie, "/nonexistent"])
    leaf = image(nopie).functions["leaf"].addr
    assert fixed.find(leaf) is not None and fixed.find(leaf)[3] == nopie  # type: ignore[index]
    assert all(r[3] == nopie for r in fixed.ranges)  # a PIE's addresses are not fixed
    sym = Symbolizer()
    sym.fixed = fixed
    assert sym.user_frame(leaf + 1, 4_000_000, offset=True) == "leaf+1"
    assert sym.user_frame_perf(leaf, 4_000_000) == f"leaf+0 ({nopie})"


def test_mappings_read_once_outlive_the_process(bins: tuple[str, str]) -> None:
    _, pie = bins
    proc = subprocess.Popen(["sh", "-c", f"echo ready; read x; exec {pie}"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    sym = Symbolizer()
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"  # exec'd
        sym.snapshot(proc.pid)  # the shell's mappings, while it waits
        shell = next(m for m in sym._maps[proc.pid] if m.path.endswith(("sh", "dash", "bash")))
    finally:
        proc.communicate(b"\n", timeout=10)
    assert sym._mapping(proc.pid, shell.start) == shell  # kept although the process is gone
    sym.snapshot(proc.pid)  # reading a gone process keeps what is known
    assert sym._mapping(proc.pid, shell.start) == shell


def test_known_binaries() -> None:
    probes = (ProbeSpec(0, "uprobe:/bin/true:main", "uprobe", "p0", ProgType.KPROBE,
                        {"path": "/bin/true", "offset": 1}),
              ProbeSpec(1, "interval:s:1", "interval", "p1", ProgType.PERF_EVENT, {}))
    assert probed_binaries(Resources(probes=probes)) == ["/bin/true"]
    assert command_binary(["true"]) and command_binary(["./x"]) == "./x"
    assert command_binary([]) is None


class _Seen:
    def __init__(self) -> None:
        self.pids: list[int] = []

    def snapshot(self, pid: int) -> None:
        self.pids.append(pid)


class _NoSink:
    def printf(self, text: str) -> None:
        raise AssertionError("an internal record reached the sink")


def test_pid_seen_records_reach_the_symbolizer_only() -> None:
    ev = EventSpec(0, EventKind.PID_SEEN, args=(FieldSpec(8, IntT(64, False)),), size=16)
    seen = _Seen()
    d = Dispatcher(Resources(events=(ev,)), None, _NoSink(), lambda: seen,  # type: ignore[arg-type]
                   lambda code: None)
    assert d.handle([struct.pack("<QQ", 0, 4321)]) == 0
    assert seen.pids == [4321]
