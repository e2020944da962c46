"""uprobe/uretprobe/usdt one-liners through the CLI against small C programs built here.

`cprog.c` has func_a/func_b/greet/work and exact, argument-driven behaviour; it is
compiled with gcc into a tmp dir (plain, `-rdynamic` + stripped, stripped) so counts
are exact and independent of anything else on the machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cbuild import build_c

ENV = dict(os.environ, PYTRACE_NO_CACHE="1")

C_PROG = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
void *volatile keep;
__attribute__((noinline)) int func_a(int x) { return x + 1; }
__attribute__((noinline)) int func_b(int x) { return x * 2; }
__attribute__((noinline)) const char *greet(const char *who) {
  static char buf[64];
  snprintf(buf, sizeof buf, "hi %s", who);
  return buf;
}
__attribute__((noinline)) long work(int n) {
  long s = 0;
  for (int i = 0; i < n; i++) s += func_a(i) + func_b(i);
  return s;
}
/* usage: cprog N [NAME] [wait] [touch PAGES] */
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 3;
  if (argc > 3 && strcmp(argv[3], "wait") == 0) { char c; if (read(0, &c, 1) < 0) return 2; }
  if (argc > 4 && strcmp(argv[3], "touch") == 0) {
    long pages = atol(argv[4]);
    char *p = mmap(0, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (long i = 0; i < pages; i++) p[i * 4096] = 1;
  }
  long s = work(n);
  for (int i = 0; i < n; i++) { keep = malloc(700); free(keep); }
  printf("%s %ld\n", greet(argc > 2 ? argv[2] : "bob"), s);
  return 0;
}
"""

C_USDT = r"""
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#include <stdlib.h>
unsigned short myprov_tick_semaphore __attribute__((section(".probes")));
unsigned short myprov_gated_semaphore __attribute__((section(".probes")));
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 3;
  for (int i = 0; i < n; i++) {
    DTRACE_PROBE2(myprov, tick, i, n);
    if (myprov_gated_semaphore) DTRACE_PROBE1(myprov, gated, i);
  }
  return 0;
}
"""


def pytrace(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=timeout, env=ENV)


def build(tmp: Path, name: str, source: str, *flags: str) -> Path:
    """Compile `source` with gcc into tmp/name (skip the test when gcc is missing)."""
    return Path(build_c(tmp, name, source, "-O1", *flags, optional=True))


@pytest.fixture(scope="module")
def cprog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("cprog"), "cprog", C_PROG)


@pytest.fixture(scope="module")
def stripped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(stripped but -rdynamic so .dynsym has the functions, fully stripped)."""
    tmp = tmp_path_factory.mktemp("stripped")
    dyn = build(tmp, "cdyn", C_PROG, "-rdynamic", "-s")
    bare = build(tmp, "cbare", C_PROG, "-s")
    return dyn, bare


def map_lines(out: str) -> dict[str, str]:
    """'@name[key]: value' lines of the output as {'@name[key]': 'value'}."""
    pairs = (ln.split(": ", 1) for ln in out.splitlines() if ln.startswith("@") and ": " in ln)
    return {k: v for k, v in pairs}


def test_wildcard_and_func_builtin(cprog: Path) -> None:
    r = pytrace("-c", f"{cprog} 7", "-e", f"uprobe:{cprog}:func_* {{ @[func] = count(); }}")
    assert r.returncode == 0, r.stderr
    assert map_lines(r.stdout) == {"@[func_a]": "7", "@[func_b]": "7"}
    assert "Attached 2 probes" in r.stderr


def test_dynsym_only_binary(stripped: tuple[Path, Path]) -> None:
    dyn, _ = stripped
    r = pytrace("-c", f"{dyn} 5", "-e", f"uprobe:{dyn}:func_* {{ @[func] = count(); }} "
                f"uretprobe:{dyn}:work {{ @ret = retval; }}")
    assert r.returncode == 0, r.stderr
    # work(5) = sum(i + 1 + 2i) for i < 5 = 5 + 3 * 10
    assert map_lines(r.stdout) == {"@[func_a]": "5", "@[func_b]": "5", "@ret": "35"}


def test_fully_stripped_binary_names_the_reason(stripped: tuple[Path, Path]) -> None:
    _, bare = stripped
    r = pytrace("-e", f"uprobe:{bare}:func_a {{ @ = count(); }}")
    assert r.returncode == 1
    assert f"ERROR: Could not resolve symbol: {bare}:func_a" in r.stderr
    assert "is stripped" in r.stderr and "Traceback" not in r.stderr


def test_str_of_arg_and_retval(cprog: Path) -> None:
    prog = (f'uprobe:{cprog}:greet {{ printf("in %s\\n", str(arg0)); }} '
            f'uretprobe:{cprog}:greet {{ printf("out %s\\n", str(retval)); }}')
    r = pytrace("-c", f"{cprog} 2 alice", "-e", prog)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith(("in ", "out "))]
    assert lines == ["in alice", "out hi alice"]


def test_libc_malloc_hist(cprog: Path) -> None:
    prog = "uprobe:libc:malloc /pid == cpid/ { @[comm] = hist(arg0); }"
    r = pytrace("-c", f"{cprog} 9", "-e", prog)
    assert r.returncode == 0, r.stderr
    assert "@[cprog]:\n" in r.stdout
    bucket = [ln for ln in r.stdout.splitlines() if ln.startswith("[512, 1K)")]
    assert len(bucket) == 1 and bucket[0].split()[2] == "9", r.stdout


def test_raw_address_and_offset(cprog: Path) -> None:
    nm = subprocess.run(["nm", str(cprog)], capture_output=True, text=True).stdout
    addr = next(int(ln.split()[0], 16) for ln in nm.splitlines() if ln.endswith(" func_b"))
    prog = (f"uprobe:{cprog}:{addr:#x} {{ @addr = count(); }} "
            f"uprobe:{cprog}:func_a+0 {{ @off = count(); }}")
    r = pytrace("-c", f"{cprog} 4", "-e", prog)
    assert r.returncode == 0, r.stderr
    assert map_lines(r.stdout) == {"@addr": "4", "@off": "4"}


def test_c_exits_with_the_child_and_cpid(cprog: Path) -> None:
    prog = f'uprobe:{cprog}:work {{ @ = count(); @same = pid == cpid; }}'
    r = pytrace("-c", f"{cprog} 3", "-e", prog)
    assert r.returncode == 0, r.stderr
    assert map_lines(r.stdout) == {"@": "1", "@same": "1"}
    assert "hi bob 12" in r.stdout  # the child's own output


def _start_waiting(cprog: Path, n: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(cprog), str(n), "x", "wait"], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL)


def test_pid_filters_uprobes_and_tracepoints(cprog: Path) -> None:
    mine, other = _start_waiting(cprog, 6), _start_waiting(cprog, 11)
    env = dict(ENV, __BPFTRACE_NOTIFY_PROBES_ATTACHED="1")
    prog = (f"uprobe:{cprog}:func_a {{ @calls = count(); }} "
            "tracepoint:syscalls:sys_enter_exit_group { @exits = count(); }")
    tracer = subprocess.Popen([sys.executable, "-m", "pytrace", "-p", str(mine.pid), "-e", prog],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert tracer.stdout is not None
        deadline = time.monotonic() + 60
        while "__BPFTRACE_NOTIFY_PROBES_ATTACHED" not in tracer.stdout.readline():
            assert time.monotonic() < deadline and tracer.poll() is None, tracer.stderr
        for p in (other, mine):
            p.communicate(b"go", timeout=30)
        tracer.send_signal(signal.SIGINT)
        out, err = tracer.communicate(timeout=30)
    finally:
        for proc in (mine, other):
            if proc.poll() is None:
                proc.kill()
        if tracer.poll() is None:
            tracer.kill()
    assert tracer.returncode == 0, err
    assert map_lines(out) == {"@calls": "6", "@exits": "1"}


@pytest.fixture(scope="module")
def usdt_prog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("usdt"), "usdtprog", C_USDT)


def test_usdt_with_semaphore(usdt_prog: Path) -> None:
    r = pytrace("-c", f"{usdt_prog} 6", "-e", f"usdt:{usdt_prog}:myprov:* {{ @[probe] = count(); }}")
    assert r.returncode == 0, r.stderr
    # `gated` only fires when pytrace raised its semaphore
    assert map_lines(r.stdout) == {f"@[usdt:{usdt_prog}:myprov:tick]": "6",
                                   f"@[usdt:{usdt_prog}:myprov:gated]": "6"}


def test_usdt_without_provider_and_func(usdt_prog: Path) -> None:
    r = pytrace("-c", f"{usdt_prog} 4", "-e", f"usdt:{usdt_prog}:tick {{ @[func] = count(); }}")
    assert r.returncode == 0, r.stderr
    assert map_lines(r.stdout) == {"@[tick]": "4"}


def test_usdt_unknown_probe_lists_hint(usdt_prog: Path) -> None:
    r = pytrace("-e", f"usdt:{usdt_prog}:myprov:tock {{ @ = count(); }}")
    assert r.returncode == 1
    assert "ERROR: USDT probe not found: " in r.stderr
    assert "did you mean: tick?" in r.stderr


C_MANY_ARGS = r"""
__attribute__((noinline)) long f8(long a, long b, long c, long d, long e, long f, long g,
                                  long h) { return a + b + c + d + e + f + g + h; }
int main(void) { volatile long s = 0; for (int i = 0; i < 3; i++) s += f8(1, 2, 3, 4, 5, 6, 70 + i, 80 + i); return 0; }
"""


def test_arguments_past_the_sixth_come_from_the_stack(tmp_path: Path) -> None:
    prog = build(tmp_path, "many", C_MANY_ARGS)
    r = pytrace("-e", f'uprobe:{prog}:f8 {{ printf("%d %d %d\\n", arg5, arg6, arg7); }}',
                "-c", str(prog))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[:3] == ["6 70 80", "6 71 81", "6 72 82"]
