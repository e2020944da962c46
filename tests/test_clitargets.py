"""clitargets: `-p PID` and `-c CMD` refused up front, with bpftrace's words."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pytrace.clitargets import TargetError, parse_pid, split_command


def _gone_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: the pid names no process now
    return child.pid


def test_a_live_pid() -> None:
    assert parse_pid(str(os.getpid())) == os.getpid()


@pytest.mark.parametrize(("text", "message"), [
    ("abc", "Failed to parse pid: invalid integer: abc"),
    ("12x", "Failed to parse pid: invalid trailing bytes: 12x"),
    ("99999999999", "Pid out of range: 99999999999"),
    ("-5", "Pid out of range: 18446744073709551611"),
    ("0", "Failed to attach to pid: Unable to open pidfd (Invalid argument)"),
])
def test_bad_pids(text: str, message: str) -> None:
    with pytest.raises(TargetError) as info:
        parse_pid(text)
    assert str(info.value) == message


def test_a_pid_that_does_not_exist() -> None:
    with pytest.raises(TargetError) as info:
        parse_pid(str(_gone_pid()))
    assert str(info.value) == "Failed to attach to pid: Unable to open pidfd (No such process)"


def test_commands_are_split_like_a_shell() -> None:
    assert split_command("echo 'a b' c") == ["echo", "a b", "c"]
    assert split_command(f"{sys.executable} -c 'print(1)'") == [sys.executable, "-c", "print(1)"]


@pytest.mark.parametrize(("text", "message"), [
    ("", "Failed to fork child: Empty command (No such file or directory)"),
    ("   ", "Failed to fork child: Empty command (No such file or directory)"),
    ("/nonexistent", "Failed to fork child: Path '/nonexistent' does not exist or is not "
                     "executable (No such file or directory)"),
    ("no-such-command-here", "Failed to fork child: Path 'no-such-command-here' does not "
                             "exist or is not executable (No such file or directory)"),
    ('echo "abc', "Failed to fork child: cannot split the command 'echo \"abc': no closing "
                  "quotation"),
])
def test_bad_commands(text: str, message: str) -> None:
    with pytest.raises(TargetError) as info:
        split_command(text)
    assert str(info.value) == message
