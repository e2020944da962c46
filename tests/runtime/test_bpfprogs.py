"""pytrace.runtime.bpfprogs against the live kernel: a program loaded here is found by
BPF_PROG_GET_NEXT_ID with its name, BTF id and func_info; its BTF comes back whole; the
target fd checks the program is still the compiled-for one; every fd is closed."""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterator

import pytest

from pytrace.btf.program import ProgramBtf
from pytrace.driver import check_source, generate
from pytrace.passes.context import Options
from pytrace.runtime import bpfprogs
from pytrace.runtime import syscalls as sc
from pytrace.runtime.errors import RuntimeFailure
from pytrace.runtime.loader import LoadedObject
from pytrace.source import Source

PERIOD = 200_000 + os.getpid() % 700_000


@pytest.fixture(scope="module")
def loaded() -> Iterator[dict[str, int]]:
    text = (f"BEGIN {{ @m[1] = 1; }} interval:ms:{PERIOD} "
            "{ for ($kv : @m) { @n = $kv.1; } }")
    lo = LoadedObject(generate(check_source(Source("stdin", text), Options()))[1])
    try:
        yield {p.spec.kind: int(struct.unpack_from("<I", sc.obj_info(p.fd), 4)[0])
               for p in lo.programs}
    finally:
        lo.close()


def test_running_programs_finds_ours(loaded: dict[str, int],
                                     open_fds: Callable[[], int]) -> None:
    before = open_fds()
    progs = {p.id: p for p in bpfprogs.running_programs()}
    assert open_fds() == before
    mine = progs[loaded["interval"]]
    assert mine.name == f"interval_ms_{PERIOD}"[:15] and mine.type == 7  # PERF_EVENT
    assert mine.btf_id > 0 and len(mine.func_types) == 2
    begin = progs[loaded["BEGIN"]]
    assert (begin.name, begin.btf_id, begin.func_types) == ("BEGIN", 0, ())
    ids = list(bpfprogs.prog_ids())
    assert ids == sorted(set(ids)) and loaded["interval"] in ids


def test_the_programs_btf_is_fetched_whole(loaded: dict[str, int],
                                           open_fds: Callable[[], int]) -> None:
    mine = next(p for p in bpfprogs.running_programs() if p.id == loaded["interval"])
    before = open_fds()
    blob = bpfprogs.btf_blob(mine.btf_id)
    assert open_fds() == before
    assert blob is not None and blob[:2] == b"\x9f\xeb"
    btf = ProgramBtf("p", blob)
    assert btf.name_of(mine.func_types[0]) == f"interval_ms_{PERIOD}"
    assert (btf.name_of(mine.func_types[1]) or "").endswith("_for")
    assert bpfprogs.btf_blob(0xFFFFFFF0) is None


def test_prog_fd_and_info(loaded: dict[str, int]) -> None:
    assert bpfprogs.prog_fd(0xFFFFFFF0) < 0
    fd = bpfprogs.prog_fd(loaded["BEGIN"])
    assert fd >= 0
    try:
        info = bpfprogs.prog_info(fd)
        assert info is not None and info.id == loaded["BEGIN"] and info.type == 17
    finally:
        os.close(fd)
    r, w = os.pipe()
    try:
        assert bpfprogs.prog_info(r) is None  # not a BPF object
    finally:
        os.close(r)
        os.close(w)


def test_target_fd_checks_the_program(loaded: dict[str, int],
                                      open_fds: Callable[[], int]) -> None:
    mine = next(p for p in bpfprogs.running_programs() if p.id == loaded["interval"])
    before = open_fds()
    fd = bpfprogs.target_prog_fd(mine.id, mine.btf_id, "fentry:bpf:x")
    os.close(fd)
    with pytest.raises(RuntimeFailure, match="is not the program it was compiled for"):
        bpfprogs.target_prog_fd(mine.id, mine.btf_id + 1, "fentry:bpf:x")
    with pytest.raises(RuntimeFailure, match="is no longer loaded"):
        bpfprogs.target_prog_fd(0xFFFFFFF0, 1, "fentry:bpf:x")
    assert open_fds() == before


def test_without_the_privilege_listing_is_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from pytrace.listing import print_listing

    monkeypatch.setattr(bpfprogs.sc, "bpf_errno", lambda cmd, attr: (-1, errno.EPERM))
    with pytest.raises(RuntimeFailure, match="permission denied"):
        bpfprogs.running_programs()
    import io

    out, err = io.StringIO(), io.StringIO()
    assert print_listing("fentry:bpf:*", False, out, err) == 1
    assert (out.getvalue(), err.getvalue()) == ("", "ERROR: " + bpfprogs.DENIED + "\n")
