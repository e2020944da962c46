"""runtime.bpffeatures: each probe loads (and closes) a real program or map; results
are checked against facts that hold on any kernel pytrace runs on."""

from __future__ import annotations

import os

from pytrace.listing.btfinfo import iter_func_id
from pytrace.runtime import bpffeatures as bf
from pytrace.runtime.features import _check_cached


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_probes_that_pytrace_itself_relies_on() -> None:
    before = _fds()
    assert bf.has_ringbuf() and bf.has_loops() and bf.instruction_limit() == 1000000
    assert bf.has_map_batch()  # runtime/maps.py reads maps in batches
    assert not bf.has_helper(100000)  # no such helper
    assert _fds() == before  # every probe closes what it opened


def test_kprobe_links_need_kprobes() -> None:
    if _check_cached("kprobe") is not None:
        assert not bf.has_kprobe_multi() and not bf.has_kprobe_session()


def test_a_program_the_kernel_refuses_is_a_negative_errno() -> None:
    assert bf.load_prog(bf.PROG_SOCKET_FILTER, bf.EXIT) < 0  # r0 read before it is set


def test_iterator_programs() -> None:
    btf_id = iter_func_id("task")
    if btf_id is not None:
        assert bf.iter_loadable(btf_id)
    assert not bf.iter_loadable(1)  # type 1 is not an iterator function
