"""USDT semaphores raised by pytrace itself (kernels without uprobe ref_ctr_offset):
addresses found through /proc/PID/maps, raised and lowered in /proc/PID/mem."""

from __future__ import annotations

import struct
import subprocess

import pytest
from cbuild import build_c

from pytrace.probes.usdtnotes import notes
from pytrace.resources import ProbeSpec, ProgType
from pytrace.runtime import usdtsem

SRC = r"""
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#include <unistd.h>
unsigned short s_p_semaphore __attribute__((section(".probes")));
int main(void) { char c; if (read(0, &c, 1) < 0) return 2; DTRACE_PROBE(s, p); return s_p_semaphore; }
"""


@pytest.fixture(scope="module")
def prog(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_c(tmp_path_factory.mktemp("sem"), "semprog", SRC, "-O1")


def _spec(path: str, ref: int, **extra: int) -> ProbeSpec:
    return ProbeSpec(0, "usdt:x:s:p", "usdt", "probe_0", ProgType.KPROBE,
                     {"path": path, "offset": 4, "ref_ctr_offset": ref, **extra})


def _value(pid: int, addr: int) -> int:
    with open(f"/proc/{pid}/mem", "rb") as mem:
        mem.seek(addr)
        return int(struct.unpack("<H", mem.read(2))[0])


def test_shared_refs() -> None:
    specs = [_spec("/a", 100), _spec("/b", 0)]
    assert usdtsem.shared_refs(specs) == {("/a", 4): 100}


def test_raise_and_lower(prog: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTRACE_NO_UPROBE_REFCOUNT", "1")
    assert not usdtsem.kernel_refcount()
    (note,) = notes(prog)
    proc = subprocess.Popen([prog], stdin=subprocess.PIPE)
    try:
        for _ in range(200):  # until it has mapped its data
            addr = usdtsem.semaphore_address(proc.pid, prog, note.semaphore)
            if addr is not None:
                break
            subprocess.run(["sleep", "0.01"])
        assert addr is not None and _value(proc.pid, addr) == 0
        assert proc.pid in usdtsem.processes_mapping(prog)
        by_pid = usdtsem.activate([_spec(prog, note.semaphore, pid=proc.pid)], False)
        by_file = usdtsem.activate([_spec(prog, note.semaphore)], True)
        assert _value(proc.pid, addr) == 2
        by_file.release()
        assert _value(proc.pid, addr) == 1
        assert usdtsem.activate([_spec(prog, note.semaphore)], False).raised == []
    finally:
        proc.communicate(b"x", timeout=10)
    assert proc.returncode == 1  # the program saw its semaphore raised once
    by_pid.release()  # the process is gone: nothing to do, no error


def test_kernel_counts_them_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTRACE_NO_UPROBE_REFCOUNT", raising=False)
    assert usdtsem.kernel_refcount()  # Linux >= 4.20
    assert usdtsem.activate([_spec("/x", 8, pid=1)], True).raised == []
