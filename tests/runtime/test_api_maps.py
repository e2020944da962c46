"""Session.maps against the kernel: every value kind as a Python value, every key kind,
write-through (`view[k] = v`, `del view[k]`, `clear()`) seen by the running program,
a @watch filter filled from Python, and per-CPU values."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import pytrace
from pytrace.runtime.maps import ncpus
from pytrace.values import Stack

GETPPID = "tracepoint:syscalls:sys_enter_getppid"
ME = os.getpid()


def _getppid(n: int) -> None:
    for _ in range(n):
        os.getppid()


def test_every_aggregation_reads_as_a_python_value() -> None:
    prog = (f"{GETPPID} /pid == {ME}/ {{ @c = count(); @s[comm] = sum(2); @mn = min(-3); "
            "@mx[1, \"a\"] = max(9); @a = avg(10); @st = stats(4); @h = hist(5); "
            "@l = lhist(3, 0, 10, 2); @str[0] = comm; @t[7] = (1, \"x\"); }")
    with pytrace.trace(prog) as s:
        _getppid(4)
        s.wait(0.05)
        m = s.maps
        assert sorted(m) == ["@a", "@c", "@h", "@l", "@mn", "@mx", "@s", "@st", "@str", "@t"]
        comm = open("/proc/self/comm").read().strip()
        assert m["@c"][()] == 4 and dict(m["@c"]) == {(): 4}
        assert dict(m["@s"]) == {comm: 8} and m["@s"][(comm,)] == 8
        assert m["@mn"][()] == -3
        assert m["@mx"][1, "a"] == 9 and list(m["@mx"]) == [(1, "a")]
        assert m["@a"][()] == 10
        assert m["@st"][()] == pytrace.Stats(4, 4, 16)
        h = m["@h"][()]
        assert isinstance(h, pytrace.Histogram) and h.count == 4
        assert [(b.low, b.high, b.count) for b in h.buckets] == [(4, 7, 4)]
        assert 4 <= h.percentile(50) < 8
        lh = m["@l"][()]
        assert [(b.low, b.high, b.count) for b in lh.buckets] == [(2, 3, 4)]
        assert m["@str"][0] == comm and m["@t"][7] == (1, "x")
        assert len(m["@c"]) == 1 and () in m["@c"] and "nope" not in m["@s"]
        with pytest.raises(KeyError):
            m["@nosuch"]  # noqa: B018
        with pytest.raises(KeyError):
            m["@s"]["nosuchcomm"]  # noqa: B018


def test_watch_filter_filled_from_python() -> None:
    """Only the pids Python put in @watch are counted."""
    prog = ("BEGIN { @watch[0] = 0; delete(@watch[0]); } "
            f"{GETPPID} /@watch[pid]/ {{ @calls[pid] = count(); }}")
    waiter = [sys.executable, "-c",
              "import os, sys\nsys.stdin.read(1)\nfor _ in range(7): os.getppid()"]
    with pytrace.trace(prog) as s:
        watch = s.maps["@watch"]
        assert dict(watch) == {}
        watch[ME] = 1
        _getppid(5)
        other = subprocess.Popen(waiter, stdin=subprocess.PIPE)  # not watched
        other.communicate(b"x", timeout=30)
        s.wait(0.05)
        assert dict(s.maps["@calls"]) == {ME: 5}
        watched = subprocess.Popen(waiter, stdin=subprocess.PIPE)
        watch[watched.pid] = 1  # before it makes its calls
        watched.communicate(b"x", timeout=30)
        del watch[ME]
        _getppid(3)
        s.wait(0.05)
        assert dict(s.maps["@calls"]) == {ME: 5, watched.pid: 7}
        assert dict(watch) == {watched.pid: 1}
        with pytest.raises(KeyError):
            del watch[ME]
        watch.clear()
        assert dict(watch) == {}


def test_writes_to_aggregations_fold_as_written() -> None:
    prog = (f"{GETPPID} /pid == {ME}/ {{ @n[pid] = count(); @st = stats(3); @h = hist(1); "
            "@mx = max(5); }")
    with pytrace.trace(prog) as s:
        _getppid(2)
        s.wait(0.05)
        n = s.maps["@n"]
        n[ME] = 100
        _getppid(1)
        s.wait(0.05)
        assert n[ME] == 101
        n[12345] = 7
        assert dict(n) == {12345: 7, ME: 101}  # print order: by value
        per_cpu = n.per_cpu(ME)
        assert len(per_cpu) == ncpus() and sum(per_cpu) == 101  # type: ignore[arg-type]
        s.maps["@st"][()] = pytrace.Stats(2, 5, 10)
        assert s.maps["@st"][()] == pytrace.Stats(2, 5, 10)
        s.maps["@mx"][()] = 50
        assert s.maps["@mx"][()] == 50
        del s.maps["@mx"][()]  # an array slot: zeroed, then absent
        assert () not in s.maps["@mx"]
        h = s.maps["@h"]
        old = h[()]
        assert sum(x.count for x in h.per_cpu()) == old.count == 3
        h[()] = pytrace.Histogram(old.buckets[:1], old.kind)
        assert h[()] == old
        del h[()]
        assert dict(h) == {}
        with pytest.raises(TypeError):
            h[()] = 5
        with pytest.raises(TypeError):
            s.maps["@n"]["a string"] = 1
        with pytest.raises(ValueError):
            s.maps["@n"][ME] = -1


def test_plain_maps_are_not_per_cpu() -> None:
    with pytrace.trace("BEGIN { @x[1] = 5; }") as s:
        assert s.maps["@x"][1] == 5
        with pytest.raises(TypeError):
            s.maps["@x"].per_cpu(1)


def _kernel_symbol(name: str) -> int:
    with open("/proc/kallsyms") as f:
        for line in f:
            addr, _kind, sym = line.split()[:3]
            if sym == name:
                return int(addr, 16)
    pytest.skip(f"{name} not in /proc/kallsyms")


def test_symbol_and_stack_keys() -> None:
    addr = _kernel_symbol("vfs_read")
    prog = (f"BEGIN {{ @k[ksym({addr})] = count(); }} "
            f"{GETPPID} /pid == {ME}/ {{ @st[kstack] = count(); }}")
    with pytrace.trace(prog) as s:
        _getppid(2)
        s.wait(0.05)
        [sym] = list(s.maps["@k"])
        assert isinstance(sym, pytrace.Symbol) and sym == "vfs_read" and sym.address == addr
        assert s.maps["@k"][sym] == 1
        s.maps["@k"][addr] = 4  # an address is enough to write a ksym key
        assert s.maps["@k"]["vfs_read"] == 4
        [stack] = list(s.maps["@st"])
        assert isinstance(stack, Stack) and stack.kernel and stack.frames
        assert s.maps["@st"][stack] == 2
        del s.maps["@st"][stack]  # found among the keys: stack ids cannot be made
        assert dict(s.maps["@st"]) == {}
