"""The issue's one-liners, run end to end through the CLI against the live kernel.

Workloads are self-generated (tests/runtime/workload.py) and started with -c, so the
counts are exact and no test depends on other activity on the machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

WORKLOAD = os.path.join(os.path.dirname(__file__), "workload.py")
ENV = dict(os.environ, PYTRACE_NO_CACHE="1")


def pytrace(*args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout, env=ENV)


def workload(*ops: str) -> str:
    return " ".join([sys.executable, WORKLOAD, *ops])


def test_begin_printf_exits_by_itself() -> None:
    r = pytrace("-e", 'BEGIN { printf("hello %s %d\\n", "world", 42); }')
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello world 42\n\n\n"
    assert "Attached 1 probe" in r.stderr


def test_count_by_comm_exact() -> None:
    prog = 't:syscalls:sys_enter_getppid /comm == "pt_count"/ { @[comm] = count(); }'
    r = pytrace("-c", workload("pt_count", "getppid", "250"), "-e", prog)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "\n\n@[pt_count]: 250\n"


def test_raw_syscalls_count_and_interval_exit() -> None:
    # the interval's exit() waits for the workload's 400 calls (a loaded machine can take
    # longer than any fixed time to start it); its 5 s sleep never runs to its end
    prog = ('tracepoint:raw_syscalls:sys_enter /pid == cpid/ { @[comm] = count(); @n = count(); } '
            'interval:ms:300 /@n >= 400/ { exit(); }')
    r = pytrace("-c", workload("pt_raw", "getppid", "400", "sleep", "5"), "-e", prog)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("@[pt_raw]: ")]
    assert len(lines) == 1, r.stdout
    assert int(lines[0].split(": ")[1]) >= 400


def test_openat_filter_and_str(tmp_path: object) -> None:
    path = f"/tmp/pytrace-open-{os.getpid()}"
    prog = 't:syscalls:sys_enter_openat /pid == cpid/ { printf("%s %s\\n", comm, str(args.filename)); }'
    r = pytrace("-c", workload("pt_open", "open", path), "-e", prog)
    assert r.returncode == 0, r.stderr
    assert f"pt_open {path}\n" in r.stdout


def test_wildcards_probe_builtin_and_sum() -> None:
    prog = ('tracepoint:syscalls:sys_enter_read* /pid == cpid/ { @calls[probe] = count(); } '
            't:syscalls:sys_enter_write /pid == cpid/ { @bytes = sum(args->count); }')
    r = pytrace("-c", workload("pt_rw", "write", "3", "1000", "read", "7", "10"), "-e", prog)
    assert r.returncode == 0, r.stderr
    assert "@bytes: 3000\n" in r.stdout
    reads = [ln for ln in r.stdout.splitlines() if ln.startswith("@calls[tracepoint:syscalls:sys_enter_read]")]
    assert reads and int(reads[0].split(": ")[1]) >= 7
    attached = int(r.stderr.split("Attached ")[1].split()[0])
    assert attached > 3  # read, readv, readlink, readahead … plus write


def _wait_attached(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "__BPFTRACE_NOTIFY_PROBES_ATTACHED" in line:
            return
    raise AssertionError("pytrace did not attach")


def _start(prog: str) -> subprocess.Popen[str]:
    env = dict(ENV, __BPFTRACE_NOTIFY_PROBES_ATTACHED="1")
    return subprocess.Popen([sys.executable, "-m", "pytrace", "-e", prog], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def test_sigint_runs_end_and_prints_maps() -> None:
    proc = _start('profile:hz:99 { @[cpu] = count(); } END { printf("bye\\n"); }')
    _wait_attached(proc)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.startswith("bye\n\n\n@[")
    assert "Traceback" not in err


def test_sigterm_stops_cleanly() -> None:
    proc = _start('t:syscalls:sys_enter_getppid { @n = count(); } END { printf("end\\n"); }')
    _wait_attached(proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.startswith("end\n")


def test_script_file_with_shebang_and_params(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "hello.bt"
    script.write_text('#!/usr/bin/env pytrace\nBEGIN {\n  printf("%s %d %d\\n", str($1), $2 + 1, $#);\n  exit();\n}\n')
    script.chmod(0o755)
    r = pytrace(str(script), "arg1", "42")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "arg1 43 2\n\n\n"


def test_program_from_stdin() -> None:
    r = pytrace("-", stdin="BEGIN { exit(); }")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "\n\n"


def test_exit_code() -> None:
    r = pytrace("-e", "BEGIN { exit(3); }")
    assert r.returncode == 3, r.stderr


def test_string_filters_exact_match_only() -> None:
    # str(p) == "lit" reads exactly len+1 bytes and compares words: prefixes and
    # extensions of the literal must not match; comm compares the same way.
    prog = ('t:syscalls:sys_enter_openat /pid == cpid && str(args.filename) == "/tmp/pt-ab"/ { @s = count(); } '
            't:syscalls:sys_enter_openat /pid == cpid && comm == "pt_cmp"/ { @c = count(); } '
            't:syscalls:sys_enter_openat /pid == cpid && comm == "pt_cm"/ { @short = count(); } '
            't:syscalls:sys_enter_openat /pid == cpid && comm == "pt_cmpx"/ { @long = count(); }')
    r = pytrace("-c", workload("pt_cmp", "open", "/tmp/pt-a", "open", "/tmp/pt-ab", "open", "/tmp/pt-abc",
                               "open", "/tmp/pt-ab"), "-e", prog)
    assert r.returncode == 0, r.stderr
    assert "@s: 2\n" in r.stdout
    assert "@c: " in r.stdout and "@short" not in r.stdout and "@long" not in r.stdout
