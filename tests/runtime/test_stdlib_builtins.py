"""Builtins and functions of the standard library, run in the kernel: identifiers (pid
namespaces, clocks, probetype, usermode, task relatives, cgroups), addresses (kaddr,
uaddr, reg), bswap, strftime, getopt, find/delete/has_key/len, kfunc_exist."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from cbuild import build_c
from harness import begin, run

TAIL = "\n\n"
UPROG = """
#include <string.h>
#include <unistd.h>
int counter = 42;
char message[32] = "hello from prog";
__attribute__((noinline)) int work(const char *s, int n) { counter += n; return (int)strlen(s) + n; }
int main(void) {
    int t = 0;
    for (int i = 0; i < 3; i++) t += work(message, i);
    usleep(300000);  /* alive while usym() is resolved in userspace */
    return t > 1000;
}
"""


def _comm(pid: int) -> str:
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


def test_pid_and_tid_in_both_namespaces() -> None:
    out = begin('printf("%d %d %d %d\\n", pid, pid(init), tid(curr_ns), tid(init))')
    me = os.getpid()
    assert out == f"{me} {me} {me} {me}\n" + TAIL


def test_clocks() -> None:
    out = begin('printf("%ld %ld %ld %ld\\n", nsecs(monotonic), nsecs(boot), nsecs(tai), '
                'nsecs(sw_tai))')
    mono, boot, tai, sw_tai = (int(x) for x in out.split())
    assert boot >= mono > 0
    wall = time.time_ns()
    assert abs(tai - wall) < 3600 * 10**9 and abs(sw_tai - tai) < 10**9


def test_probetype_and_usermode() -> None:
    r = run('BEGIN { printf("%s %d\\n", probetype, usermode); } '
            'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { printf("%s %d\\n", '
            'probetype, usermode); }', child=[sys.executable, "-c", "import os; os.getppid()"])
    assert r.code == 0, r.err
    assert r.out.splitlines()[:2] == ["special 0", "tracepoint 0"]


def test_task_relatives_of_the_current_task() -> None:
    out = begin('printf("%d %s %d %s %d\\n", ppid, pcomm, leader_tid, leader_comm, '
                'ppid(curtask))')
    me, parent = os.getpid(), os.getppid()
    assert out == f"{parent} {_comm(parent)} {me} {_comm(me)} {parent}\n" + TAIL


def test_cpid_and_has_cpid() -> None:
    r = run("BEGIN { printf(\"%d %d\\n\", has_cpid, cpid); exit(); }")
    assert r.out.startswith("0 0\n")
    assert "cpid has no value" in r.err
    r = run("BEGIN { printf(\"%d %d\\n\", has_cpid, cpid > 0); exit(); }",
            child=["/bin/true"])
    assert r.out.startswith("1 1\n")


def test_cgroups() -> None:
    out = begin('printf("%d %d\\n", cgroup == cgroupid("/sys/fs/cgroup/unified"), '
                'cgroupid("/sys/fs/cgroup/unified")); print(cgroup_path(cgroup, "unified"))')
    first, path = out.splitlines()[:2]
    assert first.startswith("1 ")
    assert path == "unified:/"


def test_kaddr_is_the_kallsyms_address() -> None:
    with open("/proc/kallsyms") as f:
        addr = next(int(ln.split()[0], 16) for ln in f if ln.split()[2] == "do_nanosleep")
    assert begin('printf("%lu\\n", kaddr("do_nanosleep"))') == f"{addr}\n" + TAIL


def test_bswap() -> None:
    out = begin('printf("%x %x %lx %x\\n", bswap((uint16)0x1234), bswap((uint32)0x12345678), '
                'bswap((uint64)0x0102030405060708), bswap((uint8)0x12))')
    assert out == "3412 78563412 807060504030201 12\n" + TAIL


def test_strftime_formats_boot_time_stamps() -> None:
    out = begin('printf("%s\\n", strftime("%Y-%m-%d %H:%M|%f", nsecs))')
    stamp, micros = out.splitlines()[0].split("|")
    assert stamp in (time.strftime("%Y-%m-%d %H:%M"),
                     time.strftime("%Y-%m-%d %H:%M", time.localtime(time.time() - 60)))
    assert len(micros) == 6 and micros.isdigit()


def test_getopt_reads_named_parameters() -> None:
    prog = ('BEGIN { print((getopt("aa", 10, "Description of aa"), getopt("bb", "hello"), '
            'getopt("cc"), getopt("dd", false))); exit(); }')
    assert run(prog).out == "(10, hello, false, false)\n" + TAIL
    r = run(prog, named_params={"cc": "", "bb": "bye", "aa": "-3", "dd": "true"})
    assert r.out == "(-3, bye, true, true)\n" + TAIL


def test_map_functions_return_booleans() -> None:
    out = begin('@a[1] = 5; $v = 0; printf("%d %d %d\\n", has_key(@a, 1), has_key(@a, 2), '
                'find(@a, 1, $v)); print($v); print(delete(@a, 1)); print(delete(@a, 1)); '
                'print(has_key(@a, 1))')
    assert out == "1 0 1\n5\ntrue\nfalse\nfalse\n" + TAIL


def test_find_assigns_its_variable_as_an_assignment_does() -> None:
    """find()'s variable exists from the call on (no `let` needed), takes the map's
    value type, and a declared `let $v: int8` keeps its own type (300 wraps to 44)."""
    out = begin('@n[1] = 300; @t[1] = (7, "seven"); @a[1] = avg(10); @a[1] = avg(20); '
                'let $w: int8; if (find(@n, 1, $w)) { print($w); } '
                'if (find(@t, 1, $t)) { print($t); } if (find(@a, 1, $x)) { print($x); } '
                'if (!find(@n, 2, $y)) { print($y); } clear(@n); clear(@t); clear(@a)')
    assert out == "44\n(7, seven)\n15\n0\n" + TAIL


def test_a_discarded_delete_that_fails_warns() -> None:
    r = run("BEGIN { @a[1] = 1; delete(@a, 2); delete(@a, 1); $ok = delete(@a, 3); exit(); }")
    assert r.err.count("WARNING: Can't delete map element because it does not exist.") == 1
    assert "stdin:1:20-33: WARNING" in r.err


def test_len_of_a_kernel_stack() -> None:
    r = run("tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { printf(\"%d\\n\", "
            "len(kstack) > 0); }", child=[sys.executable, "-c", "import os; os.getppid()"])
    assert r.out.startswith("1\n"), r.err


def test_kfunc_exist() -> None:
    out = begin('printf("%d %d\\n", kfunc_exist("bpf_task_from_pid"), kfunc_exist("nope_x"))')
    assert out == "1 0\n" + TAIL


@pytest.fixture(scope="module")
def uprog(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_c(tmp_path_factory.mktemp("uaddr"), "uprog", UPROG, "-O1", "-fPIE", "-pie")


def test_uaddr_reg_and_usym_in_a_position_independent_binary(uprog: str) -> None:
    r = run(f'uprobe:{uprog}:work {{ printf("%d %s %d %s %d\\n", *uaddr("counter"), '
            f'str(uaddr("message")), arg1, usym(reg("ip")), usermode); }}', child=[uprog])
    assert r.code == 0, r.err
    assert r.out.splitlines()[:3] == ["42 hello from prog 0 work 1",
                                      "42 hello from prog 1 work 1",
                                      "43 hello from prog 2 work 1"]


def test_ntop_of_a_tracepoint_address_array(tmp_path: Path) -> None:
    # connect() to a closed local port: sys_enter_connect has the sockaddr pointer;
    # sock:inet_sock_set_state is not needed: pton/ntop round-trip in BEGIN is enough
    out = begin('print(ntop(2, pton("10.1.2.3"))); print(ntop(pton("2001:db8::7")))')
    assert out == "10.1.2.3\n2001:db8::7\n" + TAIL
