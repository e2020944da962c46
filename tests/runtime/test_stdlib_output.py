"""Records userspace acts on, for real: cat, system (--unsafe), join, errorf/warnf,
assert and exit codes, in text and JSON, and --no-warnings."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from harness import run

from pytrace.options import WARNINGS_OFF

TAIL = "\n\n"


def begin(body: str, fmt: str = "text", **options: object):  # type: ignore[no-untyped-def]
    return run(f"BEGIN {{ {body} }}", fmt=fmt, **options)


def records(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_cat_prints_a_file_named_by_a_format(tmp_path: Path) -> None:
    f = tmp_path / "data7.txt"
    f.write_text("line one\nline two\n")
    r = begin(f'cat("{tmp_path}/data%d.txt", 7); exit();')
    assert r.code == 0 and r.out == "line one\nline two\n" + TAIL
    r = begin(f'cat("{tmp_path}/data%d.txt", 7); exit();', fmt="json")
    assert {"type": "cat", "data": "line one\nline two\n"} in records(r.out)


def test_cat_of_a_missing_file_is_an_error_line(tmp_path: Path) -> None:
    r = begin(f'cat("{tmp_path}/none"); exit();')
    assert f"ERROR: failed to open file '{tmp_path}/none': No such file or directory" in r.err


def test_system_runs_the_command_with_unsafe() -> None:
    r = begin('system("echo hi %d %s", 42, "there"); exit();', unsafe=True)
    assert r.code == 0 and r.out == "hi 42 there\n" + TAIL
    r = begin('system("echo json"); exit();', fmt="json", unsafe=True)
    assert {"type": "syscall", "data": "json\n"} in records(r.out)


def test_join_prints_the_argv_of_an_exec() -> None:
    child = [sys.executable, "-c", "import os; os.execv('/bin/true', ['true', 'a1', 'b 2', 'c3'])"]
    prog = ("tracepoint:syscalls:sys_enter_execve /pid == cpid/ { join(args.argv); "
            'join(args.argv, ","); }')
    r = run(prog, child=child)
    assert r.code == 0, r.err
    assert "true a1 b 2 c3\ntrue,a1,b 2,c3\n" in r.out
    r = run(prog, child=child, fmt="json")
    assert {"type": "join", "data": "true a1 b 2 c3"} in records(r.out)


def test_errorf_and_warnf_are_located_on_stderr() -> None:
    r = begin('errorf("bad %d, %s", 10, "arg2"); warnf("meh %d", 3); exit();')
    assert r.code == 0
    assert "stdin:1:9-41: ERROR: bad 10, arg2\n" in r.err
    assert "stdin:1:43-61: WARNING: meh 3\n" in r.err
    r = begin('errorf("bad %d", 1); warnf("meh"); exit();', fmt="json")
    recs = records(r.out)
    assert {"type": "errorf", "msg": "bad 1", "filename": "stdin", "line": 1, "col": 9} in recs
    assert {"type": "warnf", "msg": "meh", "filename": "stdin", "line": 1, "col": 30} in recs


def test_no_warnings_silences_warnf_but_not_errorf() -> None:
    r = begin('errorf("shown"); warnf("hidden"); exit();', warning_level=WARNINGS_OFF)
    assert "ERROR: shown" in r.err and "hidden" not in r.err


def test_assert_exits_with_1_and_a_located_error() -> None:
    r = begin('assert(1 + 1 == 2, "fine"); assert(1 == 2, "one is not two"); '
              'printf("not reached\\n");')
    assert r.code == 1
    assert "stdin:1:37-69: ERROR: one is not two" in r.err
    assert "not reached" not in r.out


@pytest.mark.parametrize("code", [0, 3])
def test_exit_codes(code: int) -> None:
    assert begin(f"exit({code});").code == code


def test_time_prints_the_wall_clock() -> None:
    r = begin('time("%Y|"); exit();')
    assert r.out.split("|")[0].isdigit()


def test_print_of_every_user_formatted_value() -> None:
    r = begin('print(strerror(2)); print(ntop(0x0100007f)); print(ntop(pton("fe80::1"))); '
              'print(signal_name(9)); print(syscall_name(0)); print(macaddr(buf("\\x01\\x02\\x03\\x0a\\x0b\\x0c", 6))); '
              'print(username); exit();')
    import pwd

    me = pwd.getpwuid(os.getuid()).pw_name
    assert r.out == (f"No such file or directory\n127.0.0.1\nfe80::1\nSIGKILL\nread\n"
                     f"01:02:03:0A:0B:0C\n{me}\n" + TAIL)
