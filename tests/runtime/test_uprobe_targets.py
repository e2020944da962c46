"""uprobe/uretprobe/usdt targets attached for real: `-p` processes (one in another mount
namespace too), library names, zip archive members, several binaries, bpftrace's
symbol and address checks, program order on one site, usdt locations and semaphores
(kernel-managed, and raised by pytrace itself with -p or --usdt-file-activation).

Every workload is a small C program built here that waits for a byte on stdin before
it runs, so counts are exact.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cbuild import build_c

from pytrace.probes.elfsyms import image

ENV = dict(os.environ, PYTRACE_NO_CACHE="1")
NOTIFY = "__BPFTRACE_NOTIFY_PROBES_ATTACHED"

WORK = r"""
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#include <stdlib.h>
#include <unistd.h>
unsigned short wk_tick_semaphore __attribute__((section(".probes")));
unsigned short wk_gated_semaphore __attribute__((section(".probes")));
volatile int sink;
__attribute__((noinline)) int step(int x) { DTRACE_PROBE1(wk, tick, x); return x + sink; }
__attribute__((noinline)) int twice(int x) { DTRACE_PROBE1(wk, tick, x); return 2 * x + sink; }
__asm__(".text\n.globl bare\n.type bare,@function\nbare:\n mov %edi, %eax\n ret\n");
int bare(int);
/* usage: work N [wait] -- with `wait`, read one byte from stdin first */
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 3;
  if (argc > 2) { char c; if (read(0, &c, 1) < 0) return 2; }
  for (int i = 0; i < n; i++) {
    sink = step(i) + twice(i) + bare(i);
    if (wk_gated_semaphore) DTRACE_PROBE1(wk, gated, i);
    getppid();
  }
  return 0;
}
"""


def pytrace(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=60, env=dict(ENV, **(env or {})))


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_c(tmp_path_factory.mktemp("work"), "work", WORK, "-O1")


def counts(out: str) -> dict[str, int]:
    """'@m[key]: N' lines as {'@m[key]': N} (split at the last ': ')."""
    pairs = (ln.rsplit(": ", 1) for ln in out.splitlines() if ln.startswith("@") and ": " in ln)
    return {k: int(v) for k, v in pairs if v.lstrip("-").isdigit()}


def _waiting(argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)


def trace_running(program: str, proc: subprocess.Popen[bytes], *args: str,
                  env: dict[str, str] | None = None) -> tuple[str, str, int]:
    """Trace `proc` (waiting on stdin) with pytrace; release it once attached, stop
    pytrace with SIGINT when it has exited; (stdout, stderr, exit code)."""
    tracer = subprocess.Popen([sys.executable, "-m", "pytrace", *args, "-e", program],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=dict(ENV, **{NOTIFY: "1"}, **(env or {})))
    try:
        assert tracer.stdout is not None
        deadline = time.monotonic() + 60
        while NOTIFY not in tracer.stdout.readline():
            if tracer.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(tracer.communicate()[1])
        proc.communicate(b"go", timeout=30)
        tracer.send_signal(signal.SIGINT)
        out, err = tracer.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        if tracer.poll() is None:
            tracer.kill()
    return out, err, tracer.returncode


# ------------------------------------------------------------------ -p
def test_pid_attaches_to_that_process_only(work: str) -> None:
    mine, other = _waiting([work, "4", "wait"]), _waiting([work, "9", "wait"])
    try:
        out, err, code = trace_running(
            f"uprobe:{work}:step {{ @step = count(); }} usdt:{work}:wk:tick {{ @tick = count(); }}"
            " uprobe:libc:getppid { @libc = count(); }", mine, "-p", str(mine.pid))
    finally:
        other.communicate(b"go", timeout=30)
    assert code == 0, err
    assert counts(out) == {"@step": 4, "@tick": 8, "@libc": 4}
    assert "Attached 3 probes" not in out  # stderr only


@pytest.fixture
def in_namespace(tmp_path: Path, work: str) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """The workload running in its own mount namespace, from a path only it sees."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    shutil.copy(work, src / "nswork")
    inner = mnt / "nswork"
    child = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c",
                              f"mount --bind {src} {mnt} && exec {inner} 5 wait"],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    for _ in range(500):
        try:
            if os.readlink(f"/proc/{child.pid}/exe").endswith("nswork"):
                break
        except OSError:
            pass
        time.sleep(0.01)
    assert not inner.exists()
    try:
        yield child, inner
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_a_process_in_another_mount_namespace(in_namespace: tuple[subprocess.Popen[bytes], Path]) -> None:
    child, inner = in_namespace
    out, err, code = trace_running(
        f"uprobe:{inner}:step {{ @[probe] = count(); }} usdt:{inner}:wk:tick {{ @[probe] = count(); }}"
        " uprobe:*:twice { @[probe] = count(); }", child, "-p", str(child.pid))
    assert code == 0, err
    seen = f"/proc/{child.pid}/root{inner}"
    assert counts(out) == {f"@[uprobe:{seen}:step]": 5, f"@[usdt:{seen}:wk:tick]": 10,
                           f"@[uprobe:{seen}:twice]": 5}


# ------------------------------------------------------------------ libraries, archives, globs
@pytest.mark.parametrize("name", ["libc", "libc.so.6"])
def test_library_names(work: str, name: str) -> None:
    r = pytrace("-c", f"{work} 6", "-e",
                f"uprobe:{name}:getppid /pid == cpid/ {{ @[probe] = count(); }}")
    assert r.returncode == 0, r.stderr
    ((key, n),) = counts(r.stdout).items()
    assert n == 6 and key.startswith("@[uprobe:/") and key.endswith("libc.so.6:getppid]")


LOADER = r"""
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
/* loader ZIP MEMBER_OFFSET FUNC_OFFSET N: map the member from the archive, call it N times */
int main(int argc, char **argv) {
  int fd = open(argv[1], O_RDONLY);
  long moff = atol(argv[2]), foff = atol(argv[3]);
  int n = atoi(argv[4]), s = 0;
  long page = moff & ~4095L, delta = moff - page;
  char *base = mmap(0, delta + foff + 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, page);
  if (base == MAP_FAILED) return 1;
  int (*f)(int) = (int (*)(int))(base + delta + foff);
  for (int i = 0; i < n; i++) s += f(i);
  printf("%d\n", s);
  return 0;
}
"""


def test_a_library_inside_a_zip_archive(tmp_path: Path) -> None:
    lib = build_c(tmp_path, "libzipped.so", "int zf(int x) { return 3 * x; }\n",
                  "-O1", "-shared", "-fPIC", "-nostdlib")
    loader = build_c(tmp_path, "loader", LOADER, "-O1")
    z = tmp_path / "app.apk"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("classes.dex", "x" * 5000, compress_type=zipfile.ZIP_DEFLATED)
        zf.write(lib, "lib/x86_64/libzipped.so", compress_type=zipfile.ZIP_STORED)
    from pytrace.probes.archive import member_offset

    base = member_offset(str(z), "lib/x86_64/libzipped.so")
    img = image(str(z), base)
    foff = img.file_offset(img.functions["zf"].addr)
    target = f"{z}!/lib/x86_64/libzipped.so"
    r = pytrace("-c", f"{loader} {z} {base} {foff} 5", "-e",
                f"uprobe:{target}:zf {{ @[probe] = count(); @args = sum(arg0); }} "
                f"uretprobe:{target}:zf {{ @ret = sum(retval); }}")
    assert r.returncode == 0, r.stderr
    assert counts(r.stdout) == {f"@[uprobe:{target}:zf]": 5, "@args": 10, "@ret": 30}
    assert r.stdout.startswith("30\n")  # the loader's own output


def test_several_binaries_and_functions(tmp_path: Path, work: str) -> None:
    shutil.copy(work, tmp_path / "w1")
    shutil.copy(work, tmp_path / "w2")
    r = pytrace("-c", f"{tmp_path}/w1 3", "-e",
                f"uprobe:{tmp_path}/w*:[st]* {{ @[probe] = count(); }}")
    assert r.returncode == 0, r.stderr
    assert "Attached 4 probes" in r.stderr  # step and twice in each copy
    assert counts(r.stdout) == {f"@[uprobe:{tmp_path}/w1:step]": 3,
                                f"@[uprobe:{tmp_path}/w1:twice]": 3}


# ------------------------------------------------------------------ checks
def test_quoted_parts_of_an_attach_point(tmp_path: Path, work: str) -> None:
    """A double-quoted path may hold spaces and a quoted function name is its name."""
    spaced = tmp_path / "with space"
    spaced.mkdir()
    shutil.copy(work, spaced / "work")
    (tmp_path / "link").symlink_to(spaced / "work")  # -c splits its command at spaces
    r = pytrace("-e", f'uprobe:"{spaced}/work":"step" {{ @[probe] = count(); }}',
                "-c", f"{tmp_path / 'link'} 4")
    assert r.returncode == 0, r.stderr
    assert counts(r.stdout) == {f"@[uprobe:{spaced}/work:step]": 4}
    listed = pytrace("-l", "-e", f'uprobe:"{spaced}/work":"twice" {{ }}')
    assert listed.stdout == f"uprobe:{spaced}/work:twice\n", listed.stderr


def test_symbol_and_address_checks(work: str) -> None:
    r = pytrace("-e", f"uprobe:{work}:bare {{ exit(); }}")
    assert r.returncode == 1
    assert ("ERROR: Could not determine boundary for bare (symbol has size 0). Use --unsafe "
            "to force attachment.") in r.stderr and "Traceback" not in r.stderr
    bare = image(work).functions["bare"].addr
    r = pytrace("-e", f"uprobe:{work}:{bare:#x} {{ exit(); }}")
    assert r.returncode == 1 and f"ERROR: Could not resolve address: {work}:{bare:#x}" in r.stderr
    r = pytrace("--unsafe", "-c", f"{work} 2", "-e", f"uprobe:{work}:bare {{ @ = count(); }}")
    assert r.returncode == 0, r.stderr
    assert counts(r.stdout) == {"@": 2}


def test_a_wildcard_skips_unsized_functions_with_a_warning(work: str) -> None:
    r = pytrace("-c", f"{work} 2", "-e", f"uprobe:{work}:*a* {{ @[func] = count(); }}")
    assert r.returncode == 0, r.stderr
    assert ("WARNING: Could not determine boundary for bare (symbol has size 0). Skipping "
            "attachment (use --unsafe to force attachment).") in r.stderr
    assert counts(r.stdout).get("@[main]") == 1 and "@[bare]" not in r.stdout


# ------------------------------------------------------------------ order, usdt
def test_one_site_runs_blocks_in_program_order(work: str) -> None:
    prog = " ".join(f'{kind}:{work}:{fn} {{ printf("{tag}\\n"); }}' for kind, fn, tag in (
        ("uprobe", "step", "u1"), ("uretprobe", "step", "r1"), ("uprobe", "step", "u2"),
        ("uretprobe", "step", "r2"), ("usdt", "wk:tick", "s1"), ("usdt", "wk:tick", "s2")))
    r = pytrace("-c", f"{work} 1", "-e", prog)
    assert r.returncode == 0, r.stderr
    # step() fires its usdt probe first thing; twice() fires the usdt probe again
    assert r.stdout.split() == ["u1", "u2", "s1", "s2", "r1", "r2", "s1", "s2"]


def test_usdt_locations_count_as_probes_in_json(work: str) -> None:
    r = pytrace("-f", "json", "-c", f"{work} 3", "-e", f"usdt:{work}:wk:tick {{ @ = count(); }}")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(ln) for ln in r.stdout.splitlines()]
    assert lines[0] == {"type": "attached_probes", "count": 2, "data": {"probes": 2}}
    assert lines[-1] == {"type": "map", "data": {"@": 6}}


@pytest.mark.parametrize("manual", [False, True])
def test_semaphores_of_a_running_process(work: str, manual: bool) -> None:
    """The kernel raises the semaphore in a process that already runs (kernel mode);
    without it pytrace raises it through /proc/PID/mem in the -p process."""
    env = {"PYTRACE_NO_UPROBE_REFCOUNT": "1"} if manual else {}
    proc = _waiting([work, "7", "wait"])
    args = ("-p", str(proc.pid)) if manual else ()
    out, err, code = trace_running(f"usdt:{work}:wk:gated {{ @ = count(); }}", proc, *args,
                                   env=env)
    assert code == 0, err
    assert counts(out) == {"@": 7}


def test_file_activation_raises_semaphores_in_every_mapping_process(work: str) -> None:
    env = {"PYTRACE_NO_UPROBE_REFCOUNT": "1"}
    a, b = _waiting([work, "3", "wait"]), _waiting([work, "4", "wait"])
    try:
        out, err, code = trace_running(f"usdt:{work}:wk:gated {{ @[pid] = count(); }}", a,
                                       "--usdt-file-activation", env=env)
    finally:
        b.communicate(b"go", timeout=30)
    assert code == 0, err
    assert counts(out) == {f"@[{a.pid}]": 3}  # b ran after pytrace lowered its semaphore
    proc = _waiting([work, "3", "wait"])
    out, err, code = trace_running(f"usdt:{work}:wk:gated {{ @ = count(); }}", proc, env=env)
    assert code == 0 and counts(out) == {}, (out, err)  # nobody raised it
