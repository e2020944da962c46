"""Runtime warnings and errors as bpftrace prints them, through the CLI: divide or
modulo by zero (1 is the result), -k helper errors and failed map lookups, the
compile-time `Unreachable statement.` warning, --no-warnings; JSON records too; and
named parameters after `--`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

ENV = dict(os.environ, PYTRACE_NO_CACHE="1")
DIV = ("Divide or modulo by 0 detected. This can lead to unexpected results. 1 is being "
       "used as the result.")


def pytrace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", "-q", *args], capture_output=True,
                          text=True, timeout=60, env=ENV)


def test_divide_by_zero_warns_at_the_operator_and_gives_1() -> None:
    prog = 'BEGIN { $x = 0; printf("%d %d\\n", 10 / $x, 7 % $x); exit(); }'
    r = pytrace("-e", prog)
    assert r.returncode == 0 and r.stdout.startswith("1 1\n")
    div, mod = prog.index("/ $x") + 1, prog.index("% $x") + 1
    assert r.stderr == (f"stdin:1:{div}-{div + 1}: WARNING: {DIV}\n{prog}\n"
                        + " " * (div - 1) + "~\n"
                        f"stdin:1:{mod}-{mod + 1}: WARNING: {DIV}\n{prog}\n"
                        + " " * (mod - 1) + "~\n")


def test_divide_by_zero_in_json_and_silenced() -> None:
    r = pytrace("-f", "json", "-e", "BEGIN { $x = 0; @ = 5 / $x; exit(); }")
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    assert {"type": "runtime_error", "msg": DIV, "filename": "stdin", "line": 1,
            "col": 23} in recs
    assert {"type": "map", "data": {"@": 1}} in recs
    r = pytrace("--no-warnings", "-e", "BEGIN { $x = 0; @ = 5 / $x; exit(); }")
    assert r.stderr == "" and "@: 1" in r.stdout


def test_failed_dereference_warns_with_k() -> None:
    """`*ptr` (and a field read through a pointer) that faults is reported with -k, in
    the address space the pointer is in."""
    prog = 'BEGIN { @ = *uptr(8); $t = (struct task_struct *)16; @p = $t.pid; exit(); }'
    assert "WARNING" not in pytrace("-e", prog).stderr
    r = pytrace("-k", "-e", prog)
    assert r.returncode == 0, r.stderr
    col = prog.index("*uptr") + 1
    assert (f"stdin:1:{col}-{col + 8}: WARNING: Bad address\n"
            "Additional Info - helper: probe_read_user, retcode: -14\n" + prog) in r.stderr
    col = prog.index("$t.pid") + 1
    assert f"stdin:1:{col}-{col + 6}: WARNING: " in r.stderr
    assert "Additional Info - helper: probe_read_kernel, retcode: -" in r.stderr
    assert "@: 0\n" in r.stdout and "@p: 0\n" in r.stdout


def test_helper_errors_only_with_k() -> None:
    prog = 'BEGIN { @a[1] = 1; $x = @a[2]; printf("[%s]\\n", str(0)); exit(); }'
    assert "WARNING" not in pytrace("-e", prog).stderr
    r = pytrace("-k", "-e", prog)
    assert r.returncode == 0
    assert ("stdin:1:25-30: WARNING: Can't lookup map element because it does not exist.\n"
            "Additional Info - helper: map_lookup_elem, retcode: 0\n") in r.stderr
    col = prog.index("str(0)") + 1
    assert f"stdin:1:{col}-{col + 6}: WARNING: " in r.stderr
    assert "Additional Info - helper: probe_read_kernel_str, retcode: -" in r.stderr
    r = pytrace("-k", "-f", "json", "-e", prog)
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    errs = [x for x in recs if x["type"] == "helper_error"]
    assert {e["helper"] for e in errs} == {"map_lookup_elem", "probe_read_kernel_str"}
    assert all(e["filename"] == "stdin" and e["line"] == 1 for e in errs)


def test_unreachable_statement_is_a_compile_warning() -> None:
    prog = 'BEGIN { exit(); printf("never\\n"); }'
    r = pytrace("-e", prog)
    assert r.returncode == 0 and "never" not in r.stdout
    assert r.stderr == f"stdin:1:17-34: WARNING: Unreachable statement.\n{prog}\n" + \
        " " * 16 + "~" * 17 + "\n"
    assert pytrace("--no-warnings", "-e", prog).stderr == ""


def test_named_parameters_after_double_dash() -> None:
    prog = 'BEGIN { print(($1, $2, getopt("aa", 1), getopt("bb"))); exit(); }'
    r = pytrace("-e", prog, "p1", "--", "--aa=20", "--bb", "p2")
    assert r.returncode == 0 and r.stdout.startswith("(p1, p2, 20, true)\n"), r.stderr
    r = pytrace("-e", prog, "--", "--aa=x")
    assert r.returncode == 1 and "--aa: 'x' (expected an integer)" in r.stderr
    r = pytrace("-e", prog, "--", "--zz")
    assert r.returncode == 1 and "unknown named parameter: --zz" in r.stderr


def test_max_strlen_from_the_environment() -> None:
    env = dict(ENV, BPFTRACE_MAX_STRLEN="6", BPFTRACE_STR_TRUNC_TRAILER="..")
    r = subprocess.run([sys.executable, "-m", "pytrace", "-q", "-e",
                        'BEGIN { printf("%s\\n", str($1)); exit(); }', "abcdefgh"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.stdout.startswith("abcdefgh\n")  # a literal parameter is not read from memory
    r = subprocess.run([sys.executable, "-m", "pytrace", "-q", "-c", "/bin/true", "-e",
                        "tracepoint:syscalls:sys_enter_execve /pid == cpid/ { "
                        'printf("%s\\n", str(args.filename)); }'],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.stdout.startswith("/bin/..\n"), r.stderr
