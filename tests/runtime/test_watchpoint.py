"""watchpoint:ADDR:LEN:MODE: attach-point parsing, the feature probe, a `--dry-run`
compile, and real hardware breakpoints on a global of a non-PIE C program run with `-c`."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest
from cbuild import build_c
from harness import run

from pytrace.probes.base import ProbeError
from pytrace.probes.registry import expand
from pytrace.runtime import features
from pytrace.runtime.errors import FeatureUnavailable
from pytrace.runtime.features import check_probe_kind

WRITES = 40
PROG = f"""
#include <stdio.h>
#include <unistd.h>
volatile long counter;
volatile long sink;
int main(void) {{
    printf("%p\\n", (void *)&counter);
    fflush(stdout);
    for (int i = 0; i < {WRITES}; i++) {{ counter = i; sink = counter; usleep(1000); }}
    return 0;
}}
"""
ENV = dict(os.environ, PYTRACE_NO_CACHE="1")


def pytrace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=60, env=ENV)


def _symbol(path: str, name: str) -> int:
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    with open(path, "rb") as f:
        for sec in ELFFile(f).iter_sections():
            if isinstance(sec, SymbolTableSection):
                for sym in sec.get_symbol_by_name(name) or []:
                    return int(sym["st_value"])
    raise AssertionError(f"{name} not in {path}")


@pytest.fixture(scope="module")
def prog(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int]:
    out = build_c(tmp_path_factory.mktemp("watch"), "w", PROG, "-O0", "-no-pie")
    return out, _symbol(out, "counter")


def _available() -> None:
    try:
        check_probe_kind("watchpoint")
    except FeatureUnavailable as exc:
        pytest.skip(str(exc))


# ------------------------------------------------------------------ parsing
def test_attach_point_gives_a_breakpoint_target() -> None:
    (t,) = expand("watchpoint:0x404038:8:w")
    assert (t.kind, t.name, int(t.prog_type)) == ("watchpoint", "watchpoint:4210744:8:w", 7)
    assert t.attach == {"address": 0x404038, "length": 8, "bp_type": 2, "mode": "w"}
    (t,) = expand("w:4096:4:wr")  # modes are normalised to bpftrace's order
    assert (t.name, t.attach["bp_type"]) == ("watchpoint:4096:4:rw", 3)
    assert expand("watchpoint:0x1000:8:x")[0].attach["bp_type"] == 4
    assert expand("watchpoint:0x1000:1:r")[0].attach["bp_type"] == 1


@pytest.mark.parametrize(("point", "error"), [
    ("watchpoint:0x1000:3:w", "watchpoint length must be one of (1,2,4,8)"),
    ("watchpoint:0x1000:8:rr", "watchpoint modes may not be duplicated"),
    ("watchpoint:0x1000:8:rwx", "invalid watchpoint mode: rwx"),
    ("watchpoint:0x1000:8:q", "invalid watchpoint mode: q"),
    ("watchpoint:zz:8:w", "invalid watchpoint address 'zz'"),
    ("watchpoint:0x1000", "invalid watchpoint attach point"),
    ("watchpoint:func+1:8:w", "watchpoints on function arguments"),
    ("asyncwatchpoint:func+1:8:w", "asyncwatchpoint probes are not supported"),
])
def test_bad_watchpoints_are_refused(point: str, error: str) -> None:
    with pytest.raises(ProbeError) as info:
        expand(point)
    assert error in info.value.message


def test_bad_watchpoint_is_a_located_error() -> None:
    r = pytrace("-e", "watchpoint:0x1000:8:rr { exit(); }")
    assert r.returncode == 1
    assert r.stderr.startswith("stdin:1:1-") and "may not be duplicated" in r.stderr
    assert "Traceback" not in r.stderr


def test_dry_run_compiles_a_watchpoint() -> None:
    r = pytrace("--dry-run", "-e", "watchpoint:0x10000000:8:rw { @[comm, tid] = count(); }")
    assert r.returncode == 0, r.stderr
    assert "ERROR" not in r.stderr


# ------------------------------------------------------------------ feature probe
def test_feature_probe_refusal_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(attr: bytearray, pid: int, cpu: int) -> int:
        raise OSError(errno.ENOENT, os.strerror(errno.ENOENT))

    monkeypatch.setattr(features.sc, "perf_event_open", refuse)
    features._check_cached.cache_clear()
    try:
        with pytest.raises(FeatureUnavailable) as info:
            check_probe_kind("watchpoint")
    finally:
        features._check_cached.cache_clear()
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("watchpoint probes are not available")
    assert "no breakpoint PMU" in msg


# ------------------------------------------------------------------ real breakpoints
def test_write_watchpoint_sees_every_write_of_the_child(prog: tuple[str, int]) -> None:
    _available()
    path, addr = prog
    r = run(f"watchpoint:{addr:#x}:8:w /pid == cpid/ {{ @[probe, comm] = count(); }}",
            child=[path])
    assert r.code == 0, r.err
    name = os.path.basename(path)
    counts = {ln.split(": ")[0]: int(ln.split(": ")[1]) for ln in r.out.splitlines()
              if ln.startswith("@[")}
    key = f"@[watchpoint:{addr}:8:w, {name}]"
    # the loop writes WRITES times; the kernel's exec (elf_load) zeroes the word too
    assert counts.get(key, 0) >= WRITES, r.out


def test_rw_watchpoint_also_sees_reads(prog: tuple[str, int]) -> None:
    _available()
    path, addr = prog
    w = run(f"watchpoint:{addr:#x}:8:w /pid == cpid/ {{ @ = count(); }}", child=[path])
    rw = run(f"watchpoint:{addr:#x}:8:rw /pid == cpid/ {{ @ = count(); }}", child=[path])
    assert w.code == 0 and rw.code == 0, w.err + rw.err

    def total(out: str) -> int:
        return int(next(ln for ln in out.splitlines() if ln.startswith("@: ")).split()[1])

    assert total(rw.out) >= total(w.out) + WRITES, (w.out, rw.out)  # `sink = counter` reads


def test_cpu_refusal_is_one_line_with_a_hint(prog: tuple[str, int]) -> None:
    _available()
    path, addr = prog
    r = pytrace("-c", path, "-e", f"watchpoint:{addr:#x}:2:x {{ exit(); }}")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR: "), r.stderr
    assert "watchpoint" in lines[0] and "execute ones need length 8" in lines[0]


# ------------------------------------------------------------------ threads
THREADS = r"""
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
volatile long counter;
static int go[2];
static void *early(void *arg) {
  char c;
  if (read(go[0], &c, 1) < 0) return 0;
  for (int i = 0; i < 7; i++) counter = i;
  return 0;
}
static void *late(void *arg) { for (int i = 0; i < 11; i++) counter = i; return 0; }
/* threads [wait]: main writes 5 times, a thread started before the wait 7 times and
   one started after it 11 times */
int main(int argc, char **argv) {
  pthread_t a, b;
  if (pipe(go) < 0) return 1;
  pthread_create(&a, 0, early, 0);
  if (argc > 1) { char c; if (read(0, &c, 1) < 0) return 2; }
  for (int i = 0; i < 5; i++) counter = i;
  if (write(go[1], "x", 1) < 0) return 3;
  pthread_join(a, 0);
  pthread_create(&b, 0, late, 0);
  pthread_join(b, 0);
  return 0;
}
"""


@pytest.fixture(scope="module")
def threaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int]:
    out = build_c(tmp_path_factory.mktemp("watcht"), "threads", THREADS, "-O0", "-no-pie",
                  "-pthread")
    return out, _symbol(out, "counter")


def _by_thread(out: str) -> dict[str, int]:
    return {ln.rsplit(": ", 1)[0]: int(ln.rsplit(": ", 1)[1]) for ln in out.splitlines()
            if ln.startswith("@") and ": " in ln}


def test_watchpoint_fires_on_every_thread_of_the_child(threaded: tuple[str, int]) -> None:
    _available()
    path, addr = threaded
    r = run(f"watchpoint:{addr:#x}:8:w {{ @[tid == pid] = count(); }}", child=[path])
    assert r.code == 0, r.err
    counts = _by_thread(r.out)
    assert counts["@[0]"] == 7 + 11  # both threads, created after attaching
    assert counts["@[1]"] >= 5  # main (and the kernel zeroing .bss at exec)


def test_watchpoint_with_pid_covers_existing_and_new_threads(threaded: tuple[str, int]) -> None:
    _available()
    import signal
    import time

    path, addr = threaded
    proc = subprocess.Popen([path, "wait"], stdin=subprocess.PIPE)
    tracer = subprocess.Popen([sys.executable, "-m", "pytrace", "-p", str(proc.pid), "-e",
                               f"watchpoint:{addr:#x}:8:w {{ @[tid == pid] = count(); }}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=dict(ENV, __BPFTRACE_NOTIFY_PROBES_ATTACHED="1"))
    try:
        assert tracer.stdout is not None
        deadline = time.monotonic() + 60
        while "__BPFTRACE_NOTIFY_PROBES_ATTACHED" not in tracer.stdout.readline():
            assert time.monotonic() < deadline and tracer.poll() is None
        proc.communicate(b"go", timeout=30)
        tracer.send_signal(signal.SIGINT)
        out, err = tracer.communicate(timeout=30)
    finally:
        for p in (proc, tracer):
            if p.poll() is None:
                p.kill()
    assert tracer.returncode == 0, err
    assert _by_thread(out) == {"@[1]": 5, "@[0]": 7 + 11}
