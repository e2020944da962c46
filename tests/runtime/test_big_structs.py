"""Kernel structs larger than the BPF stack (task_struct: kilobytes) are read into the
per-CPU scratch map: in variables, map values and prints, fields read back from them,
and whole structs printed as bpftrace prints them."""

from __future__ import annotations

import os
import re

from harness import begin, run


def test_task_struct_in_a_variable_and_a_map() -> None:
    out = begin('$t = *curtask; $u = *curtask; @m[1] = *curtask; $x = @m[1]; '
                'printf("%d %d %d %d\\n", $t.pid, $u.tgid, @m[1].tgid, $x.pid); '
                'clear(@m); print(sizeof($t) == sizeof(struct task_struct))')
    pid = os.getpid()
    assert out.startswith(f"{pid} {pid} {pid} {pid}\n1\n")


def test_whole_struct_printed() -> None:
    mask = os.umask(0o022)
    os.umask(mask)
    out = begin("print(*curtask->fs); $f = *curtask->fs; print($f.umask)")
    first, second = out.split("\n")[:2]
    assert first.startswith("{ .users = ") and first.endswith(" }")
    assert f", .umask = {mask}, " in first and second == str(mask)
    assert re.search(r"\.root = \{ \.mnt = 0x[0-9a-f]+, \.dentry = 0x[0-9a-f]+ \}", first)


def test_a_big_struct_as_a_map_value_prints_at_exit() -> None:
    r = run("BEGIN { @t = *curtask; exit(); }")
    assert r.code == 0, r.err
    line = r.out.strip()
    assert line.startswith("@t: { .thread_info = { ") and f".pid = {os.getpid()}, " in line
