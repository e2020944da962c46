"""runtime/entrystop.py: a child stopped at its entry point by a uprobe program, with
its libraries mapped, then continued."""

from __future__ import annotations

import os
import signal
import subprocess

from pytrace.runtime import entrystop
from pytrace.runtime.dwtables import exec_mappings

TRUE = "/bin/true"


def test_entry_offset_of_an_executable_and_of_a_non_elf(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert entrystop.entry_offset(TRUE) is not None
    (tmp_path / "s").write_text("#!/bin/sh\n")
    assert entrystop.entry_offset(str(tmp_path / "s")) is None


def test_a_child_stops_at_its_entry_with_its_libraries_mapped() -> None:
    r, w = os.pipe()
    # the child waits for a byte before it execs, as pytrace's -c child does
    child = subprocess.Popen(["/bin/sh", "-c", f"read x; exec {TRUE}"], stdin=r)
    try:
        stop = entrystop.EntryStop(TRUE, child.pid)
        os.write(w, b"\n")
        assert stop.wait(), entrystop.process_state(child.pid)
        assert stop.reached()
        paths = {m.path for m in exec_mappings(child.pid)}
        assert any("libc" in p for p in paths), paths
        stop.release()
        assert child.wait(timeout=10) == 0
    finally:
        child.kill()
        os.close(r)
        os.close(w)


def test_a_stop_before_the_entry_is_continued() -> None:
    r, w = os.pipe()
    child = subprocess.Popen(["/bin/sh", "-c", f"read x; exec {TRUE}"], stdin=r)
    others: list[int] = []
    try:
        stop = entrystop.EntryStop(TRUE, child.pid)
        os.kill(child.pid, signal.SIGSTOP)  # stopped before it execs: not the entry
        os.write(w, b"\n")
        assert stop.wait(other_stop=lambda: others.append(1))
        assert others and stop.reached()
        stop.release()
        assert child.wait(timeout=10) == 0
    finally:
        child.kill()
        os.close(r)
        os.close(w)
