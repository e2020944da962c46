"""dw_ustack against the live kernel: a gcc -O2 -fomit-frame-pointer program whose frame
pointers are useless, unwound with its .eh_frame (ustack, by frame pointers, is not),
as a map key, in perf mode with a limit, for -c, -p and --dwarf-pid processes, and the
warnings for processes without unwind tables."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from cbuild import build_c
from harness import run

from pytrace.driver import compile_source
from pytrace.output import make_output
from pytrace.passes.context import Options
from pytrace.runtime.session import Session
from pytrace.source import Source

PROG = r"""
#include <stdlib.h>
#include <unistd.h>
volatile long sink;
__attribute__((noinline)) long c_leaf(long x) { sink += x; return sink * 3 + 1; }
__attribute__((noinline)) long b_mid(long x) { long r = c_leaf(x + 1); sink ^= r; return r + 2; }
__attribute__((noinline)) long a_top(long x) { long r = b_mid(x * 2); sink += r; return r * 5; }
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 3;
    for (int i = 0; i < n; i++) { sink += a_top(i); if (argc > 2) usleep(atoi(argv[2])); }
    return 0;
}
"""
ENABLE = "config = { unstable_dw_ustack = enable }\n"
USER_PERF = re.compile(r"^\t([0-9a-f]+) (\S+\+\d+) \((/\S+)\)$")
CHAIN = ["c_leaf", "b_mid", "a_top", "main"]


@pytest.fixture(scope="module")
def prog(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_c(tmp_path_factory.mktemp("dwustack"), "chain", PROG, "-O2",
                   "-fomit-frame-pointer")


@pytest.fixture
def looping(prog: str) -> Iterator[subprocess.Popen[bytes]]:
    """The program calling the chain every 2 ms for a long while (killed afterwards)."""
    p = subprocess.Popen([prog, "100000", "2000"])
    time.sleep(0.05)  # its libraries are mapped
    try:
        yield p
    finally:
        p.kill()
        p.wait()


def _names(block: str) -> list[str]:
    return [line.strip().split("+")[0] for line in block.strip("\n").split("\n") if line.strip()]


def _blocks(out: str) -> list[str]:
    return re.findall(r"\[(.*?)\]\n", out, re.S)


def _run(text: str, target_pid: int | None = None, dwarf_pids: tuple[int, ...] = ()) -> tuple[str, str]:
    src = Source("stdin", text)
    result = compile_source(src, Options(pid=target_pid))
    out, err = io.StringIO(), io.StringIO()
    session = Session(result.obj, make_output("text", out, err, quiet=True),
                      target_pid=target_pid, dwarf_pids=dwarf_pids)
    try:
        session.start()
        code = session.run(duration=30)  # exit() comes after 3 calls, 2 ms apart
    finally:
        session.close()
    assert code == 0, err.getvalue()
    return out.getvalue(), err.getvalue()


def test_dw_ustack_unwinds_what_frame_pointers_cannot(prog: str) -> None:
    r = run(ENABLE + f'uprobe:{prog}:c_leaf {{ printf("[%s]\\n[%s]\\n", dw_ustack, ustack); }}',
            child=[prog, "2"])
    assert r.code == 0, r.err
    blocks = _blocks(r.out)
    assert len(blocks) == 4, r.out
    dw, fp = _names(blocks[0]), _names(blocks[1])
    assert dw[:4] == CHAIN, dw
    assert "__libc_start_main" in dw or "__libc_start_call_main" in dw, dw
    assert fp[0] == "c_leaf" and not {"b_mid", "a_top"} <= set(fp), fp
    assert "WARNING" not in r.err  # the table of the -c child was built at its entry point


def test_dw_ustack_as_a_map_key_counts_each_call(prog: str) -> None:
    r = run(ENABLE + f"uprobe:{prog}:b_mid {{ @[dw_ustack] = count(); }}", child=[prog, "3"])
    assert r.code == 0, r.err
    key, count = re.search(r"@\[(.*?)\]: (\d+)", r.out, re.S).groups()  # type: ignore[union-attr]
    assert _names(key)[:3] == ["b_mid", "a_top", "main"] and count == "3", r.out
    assert r.out.count("@[") == 1, r.out  # one stack: the same id every time


def test_perf_mode_and_limit(prog: str) -> None:
    r = run(ENABLE + f"uprobe:{prog}:c_leaf {{ @[dw_ustack(perf, 3)] = count(); }}",
            child=[prog, "2"])
    assert r.code == 0, r.err
    key = re.search(r"@\[(.*?)\]: 2", r.out, re.S)
    assert key, r.out
    frames = key.group(1).strip("\n").split("\n")
    parsed = [USER_PERF.match(f) for f in frames]
    assert len(frames) == 3 and all(parsed), frames
    assert [m.group(2).split("+")[0] for m in parsed if m] == CHAIN[:3]
    assert {m.group(3) for m in parsed if m} == {prog}


def test_raw_mode_gives_return_addresses_inside_the_callers(prog: str) -> None:
    r = run(ENABLE + f'uprobe:{prog}:c_leaf {{ printf("[%s]\\n[%s]\\n", dw_ustack(raw, 2), '
            "ustack(raw, 1)); exit(); }", child=[prog, "1"])
    assert r.code == 0, r.err
    dw, fp = (b.split() for b in _blocks(r.out)[:2])
    assert len(dw) == 2 and dw[0] == fp[0], (dw, fp)  # the same current frame
    assert int(dw[1], 16) != int(dw[0], 16)


def test_dwarf_pid_and_p_load_a_running_process(prog: str,
                                               looping: subprocess.Popen[bytes]) -> None:
    pid = looping.pid
    body = f"uprobe:{prog}:c_leaf /pid == {pid}/ {{ @[dw_ustack(4)] = count(); " \
           "if (@n++ >= 2) { exit(); } }"
    for kwargs in ({"dwarf_pids": (pid,)}, {"target_pid": pid}):
        out, err = _run(ENABLE + body, **kwargs)  # type: ignore[arg-type]
        key = re.search(r"@\[(.*?)\]: 3", out, re.S)
        assert key and _names(key.group(1)) == CHAIN, (kwargs, out, err)
        assert "WARNING" not in err, err


def test_a_process_without_a_table_warns_once_and_keeps_its_frame(
        prog: str, looping: subprocess.Popen[bytes]) -> None:
    pid = looping.pid
    out, err = _run(ENABLE + f"uprobe:{prog}:c_leaf /pid == {pid}/ {{ @[dw_ustack] = count(); "
                    "if (@n++ >= 2) { exit(); } }")
    assert err.count(f"no DWARF unwind table for process {pid}") == 1, err
    assert re.search(r"@\[\n\s+c_leaf\+0\n\]: 3", out), out


def test_cli_dwarf_pid_without_unwind_information_warns_at_start(prog: str) -> None:
    kthreadd = 2  # a kernel thread: no mappings, so no unwind table
    r = subprocess.run([sys.executable, "-m", "pytrace", "--dwarf-pid", str(kthreadd),
                        "-e", ENABLE + f"uprobe:{prog}:c_leaf {{ @[dw_ustack] = count(); }}",
                        "-c", f"{prog} 1"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert f"found no DWARF unwind information for process {kthreadd}" in r.stderr, r.stderr
    assert "a_top" in r.stdout, r.stdout  # the -c child still has its table


def test_cli_unstable_warning_by_default(prog: str) -> None:
    r = subprocess.run([sys.executable, "-m", "pytrace", "-e",
                        f"uprobe:{prog}:a_top {{ @[dw_ustack(2)] = count(); }}",
                        "-c", f"{prog} 1"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "WARNING: dw_ustack is an unstable feature" in r.stderr, r.stderr
    assert "a_top+0" in r.stdout and "main+" in r.stdout, r.stdout


def test_len_counts_the_frames_unwound(prog: str) -> None:
    r = run(ENABLE + f'uprobe:{prog}:c_leaf {{ printf("%d %d\\n", len(dw_ustack), '
            "len(dw_ustack(2))); exit(); }", child=[prog, "1"])
    assert r.code == 0, r.err
    full, limited = (int(x) for x in r.out.split()[:2])
    assert full >= 5 and limited == 2, r.out  # c_leaf b_mid a_top main __libc_start_*


def test_profile_samples_of_a_busy_child_unwind_to_main(prog: str) -> None:
    r = run(ENABLE + "profile:hz:999 /pid == cpid/ { @[dw_ustack] = count(); }",
            child=[prog, "20000000"])
    assert r.code == 0, r.err
    stacks = [_names(k) for k in re.findall(r"@\[(.*?)\]: \d+", r.out, re.S)]
    deep = [s for s in stacks if "a_top" in s]
    assert deep and all(s[s.index("a_top") + 1] == "main" for s in deep), r.out
    assert any("__libc_start_main" in s for s in deep), r.out


def test_nothing_leaks_after_a_run_with_the_entry_stop(prog: str, open_fds) -> None:  # type: ignore[no-untyped-def]
    run(ENABLE + f"uprobe:{prog}:c_leaf {{ @[dw_ustack] = count(); }}", child=[prog, "1"])
    before = open_fds()
    r = run(ENABLE + f"uprobe:{prog}:c_leaf {{ @[dw_ustack] = count(); }}", child=[prog, "1"])
    assert r.code == 0 and "a_top" in r.out, r.err
    assert open_fds() == before


VDSO_PROG = r"""
#include <stdlib.h>
#include <time.h>
__attribute__((noinline)) long spin(long n) {
    struct timespec ts; long s = 0;
    for (long i = 0; i < n; i++) { clock_gettime(CLOCK_MONOTONIC, &ts); s += ts.tv_nsec; }
    return s;
}
int main(int argc, char **argv) { return (int)(spin(atol(argv[1])) & 1); }
"""


def test_samples_inside_the_vdso_unwind_through_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    prog = build_c(tmp_path, "vd", VDSO_PROG, "-O2", "-fomit-frame-pointer")
    r = run(ENABLE + "profile:hz:999 /pid == cpid/ { @[dw_ustack] = count(); }",
            child=[prog, "5000000"])
    assert r.code == 0, r.err
    stacks = [_names(k) for k in re.findall(r"@\[(.*?)\]: \d+", r.out, re.S)]
    # the innermost frame is the vDSO's (printed as an address): its rows lead back out
    through = [s for s in stacks if s[0].startswith("0x") and "spin" in s]
    assert through and all(s[s.index("spin") + 1] == "main" for s in through), r.out
