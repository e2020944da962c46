"""clitargets: `-p PID` and `-c CMD` refused up front, with bpftrace's words."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytrace.clitargets import TargetError, parse_pid, split_command, split_words


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


# What bpftrace 0.17's child received for each -c text (a C child printing its argv).
SPLITS = [
    ('a  b "c d" e\\ f', ["a", "", "b", '"c', 'd"', "e\\", "f"]),
    ("a ", ["a"]),
    ("a  ", ["a", ""]),
    ("a\tb", ["a\tb"]),
    ("a\nb", ["a\nb"]),
    ("'*' /tmp/x.* $HOME ~", ["'*'", "/tmp/x.*", "$HOME", "~"]),
    ("", []),
]


@pytest.mark.parametrize(("args", "expected"), SPLITS)
def test_commands_are_split_at_every_space_as_bpftrace_does(args: str, expected: list[str]) -> None:
    assert split_command(f"{sys.executable} {args}") == [sys.executable, *expected]
    assert split_words(f"{sys.executable} {args}") == [sys.executable, *expected]


def test_the_program_is_found_as_bpftrace_finds_it(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for d in (one, two):
        d.mkdir()
    prog = one / "pt_prog"
    prog.write_text("#!/bin/sh\n")
    prog.chmod(0o755)
    monkeypatch.setenv("PATH", f"{one}:{one}:/usr/bin")
    # through $PATH: argv[0] is the path found (a directory listed twice counts once)
    assert split_command("pt_prog x") == [str(prog), "x"]
    monkeypatch.chdir(one)  # the working directory's file and $PATH's are one file
    assert split_command("pt_prog") == ["pt_prog"]
    assert split_command("./pt_prog y") == ["./pt_prog", "y"]
    assert split_command("pt_pr* z") == ["pt_prog", "z"]  # the program's name is a glob
    (two / "pt_prog").write_text("#!/bin/sh\n")
    (two / "pt_prog").chmod(0o755)
    monkeypatch.chdir(two)
    with pytest.raises(TargetError) as info:
        split_command("pt_prog")
    assert str(info.value) == ("Failed to fork child: path 'pt_prog' must refer to a unique "
                               "binary but matched 2 binaries")


@pytest.mark.parametrize(("text", "message"), [
    ("", "Failed to fork child: Empty command (No such file or directory)"),
    ("   ", "Failed to fork child: Path '' does not exist or is not executable (No such "
            "file or directory)"),
    (" /bin/sh", "Failed to fork child: Path '' does not exist or is not executable (No such "
                 "file or directory)"),
    ("/nonexistent", "Failed to fork child: Path '/nonexistent' does not exist or is not "
                     "executable (No such file or directory)"),
    ("no-such-command-here", "Failed to fork child: Path 'no-such-command-here' does not "
                             "exist or is not executable (No such file or directory)"),
    ('"/bin/sh" -c true', "Failed to fork child: Path '\"/bin/sh\"' does not exist or is not "
                          "executable (No such file or directory)"),
])
def test_bad_commands(text: str, message: str) -> None:
    with pytest.raises(TargetError) as info:
        split_command(text)
    assert str(info.value) == message
