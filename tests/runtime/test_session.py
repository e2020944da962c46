"""The session releases everything on every exit path, and environment problems are
one clear line — never a traceback."""

from __future__ import annotations

import dataclasses
import errno
import io
import os
import struct
import subprocess
import sys
import time

import pytest
from conftest import count_fds

from pytrace.driver import compile_source
from pytrace.output import make_output
from pytrace.passes.context import Options
from pytrace.resources import BpfObject
from pytrace.runtime import syscalls as sc
from pytrace.runtime.errors import RuntimeFailure, VerifierError
from pytrace.runtime.session import Session, run_session
from pytrace.source import Source

PROG = ('tracepoint:syscalls:sys_enter_getppid { @n = count(); } '
        'tracepoint:syscalls:sys_enter_getpid { @p = count(); } '
        'BEGIN { printf("begin\\n"); } END { printf("end\\n"); }')


def compiled(text: str = PROG) -> BpfObject:
    return compile_source(Source("stdin", text), Options()).obj


def prog_id(fd: int) -> int:
    return int(struct.unpack_from("<I", sc.obj_info(fd), 4)[0])


def prog_exists(pid: int) -> bool:
    attr = sc.new_attr()
    struct.pack_into("<I", attr, 0, pid)
    try:
        fd = sc.bpf(13, attr, "BPF_PROG_GET_FD_BY_ID")
    except OSError as exc:
        assert exc.errno == errno.ENOENT
        return False
    sc.close_fd(fd)
    return True


def wait_gone(ids: list[int]) -> list[int]:
    """Program ids still alive after a bounded wait (the kernel frees them after RCU)."""
    deadline = time.monotonic() + 5
    alive = ids
    while alive and time.monotonic() < deadline:
        alive = [i for i in alive if prog_exists(i)]
        time.sleep(0.05)
    return alive


def test_normal_exit_releases_every_fd_and_program() -> None:
    before = count_fds()
    out = io.StringIO()
    s = Session(compiled(), make_output("text", out, io.StringIO(), quiet=True))
    try:
        s.start()
        assert s.loaded is not None
        ids = [prog_id(p.fd) for p in s.loaded.programs]
        assert len(ids) == 4 and count_fds() > before
        os.getppid()
        s.request_stop()
        assert s.run() == 0
    finally:
        s.close()
    assert count_fds() == before
    assert wait_gone(ids) == []
    assert out.getvalue().startswith("begin\nend\n\n\n")


def test_attach_failure_releases_everything() -> None:
    obj = compiled()
    bad = [dataclasses.replace(p, attach={"category": "syscalls", "event": "no_such_event"})
           if p.kind == "tracepoint" and p.index == 1 else p for p in obj.resources.probes]
    broken = BpfObject(obj.elf, dataclasses.replace(obj.resources, probes=tuple(bad)))
    before = count_fds()
    with pytest.raises(RuntimeFailure) as exc:
        run_session(broken, make_output("text", io.StringIO(), io.StringIO(), quiet=True))
    assert "no_such_event" in str(exc.value) or "tracepoint" in str(exc.value)
    assert count_fds() == before


def test_verifier_rejection_names_the_probe() -> None:
    obj = compiled('tracepoint:syscalls:sys_enter_getppid { @n = count(); }')
    probe = obj.resources.probes[0]
    # corrupt the program: make its first instruction read an uninitialised register
    from pytrace.runtime.elf import parse_bpf_elf

    elf = parse_bpf_elf(obj.elf)
    code = elf.programs[probe.section]
    start = obj.elf.find(code)
    bad_insn = bytes([0xBF, 0x70, 0, 0, 0, 0, 0, 0])  # r0 = r7 (r7 is uninitialised)
    exit_insn = bytes([0x95, 0, 0, 0, 0, 0, 0, 0])
    patched = obj.elf[:start] + bad_insn + exit_insn + obj.elf[start + 16:]
    before = count_fds()
    with pytest.raises(VerifierError) as exc:
        run_session(BpfObject(patched, obj.resources),
                    make_output("text", io.StringIO(), io.StringIO(), quiet=True))
    assert exc.value.program == "tracepoint:syscalls:sys_enter_getppid"
    assert "unreachable insn" in exc.value.log  # the verifier's own words reach the user
    assert count_fds() == before


def _no_caps(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--", sys.executable, "-m", "pytrace", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTRACE_NO_CACHE="1"))


def test_missing_privilege_is_one_clear_line() -> None:
    r = _no_caps("-e", "BEGIN { exit(); }")
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR: ")
    assert "CAP_" in lines[0] or "root" in lines[0]


def test_dry_run_needs_no_privilege() -> None:
    r = _no_caps("--dry-run", "-e", "tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""


def test_full_ring_buffer_counts_every_lost_record() -> None:
    # BEGIN runs synchronously in this process, so nothing drains the 1 MiB ring
    # buffer while it emits 3000 records of ~330 bytes: some must be lost, and
    # printed + lost must account for every record.
    s = '"0123456789012345678901234567890123456789"'
    prog = ('BEGIN { $i = 0; while ($i < 3000) { printf("%s%s%s%s%s%s%s%s\\n", '
            + ", ".join([s] * 8) + "); $i++; } }")
    r = subprocess.run([sys.executable, "-m", "pytrace", "-e", prog], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, PYTRACE_NO_CACHE="1"))
    assert r.returncode == 0, r.stderr
    printed = r.stdout.count("0123456789" * 4 * 8 + "\n")
    lost = int(r.stderr.split("Lost ")[1].split()[0])
    assert lost > 0 and printed + lost == 3000


def test_cli_exit_releases_every_program() -> None:
    # The CLI stops its probes at once and leaves the slow perf-event release to a
    # short-lived process: every program of the tracer must still be gone soon after.
    env = dict(os.environ, PYTRACE_NO_CACHE="1", __BPFTRACE_NOTIFY_PROBES_ATTACHED="1")
    proc = subprocess.Popen([sys.executable, "-m", "pytrace", "-e",
                             "tracepoint:syscalls:sys_enter_getppid { @ = count(); } "
                             "tracepoint:raw_syscalls:sys_enter { @n = count(); }"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    while "__BPFTRACE_NOTIFY_PROBES_ATTACHED" not in proc.stdout.readline():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    ids = []
    for name in os.listdir(f"/proc/{proc.pid}/fdinfo"):
        try:
            with open(f"/proc/{proc.pid}/fdinfo/{name}") as f:
                ids += [int(line.split()[1]) for line in f if line.startswith("prog_id:")]
        except OSError:
            pass
    assert len(set(ids)) == 2
    proc.send_signal(2)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "@n: " in out
    assert wait_gone(sorted(set(ids))) == []


def test_begin_output_precedes_every_event() -> None:
    # This process makes syscalls right after attaching (to run BEGIN, among others):
    # BEGIN runs before anything is attached, so its line still comes first.
    from harness import run

    text = ('BEGIN { printf("begin\\n"); } '
            f'tracepoint:raw_syscalls:sys_enter /pid == {os.getpid()}/ '
            '{ printf("event\\n"); exit(); }')
    r = run(text)
    assert r.code == 0, r.err
    assert r.out.split("\n")[:2] == ["begin", "event"]
