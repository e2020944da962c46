"""Tests for pytrace.repl.scan: where the cursor is in a half-typed entry."""

from __future__ import annotations

import pytest

from pytrace.repl import scan


@pytest.mark.parametrize(("before", "code"), [
    ("", False), ("t:syscalls:sys_enter_read", False), ("BEGIN { ", True),
    ("BEGIN { } ", False), ("k:f /pid", True), ('BEGIN { printf("}"); ', True),
    ("BEGIN { /* } */ ", True), ("BEGIN { if (1) { } ", True),
])
def test_in_code(before: str, code: bool) -> None:
    assert scan.in_code(before) is code


def test_block_attach_points_of_the_block_being_typed() -> None:
    assert scan.block_attach_points("t:a:b, t:c:d { args.") == ["t:a:b", "t:c:d"]
    assert scan.block_attach_points("BEGIN { } t:x:y /pid == 1/ { $a = args.") == ["t:x:y"]
    assert scan.block_attach_points("t:x:y /args.") == ["t:x:y"]
    assert scan.block_attach_points("t:x:y { if (1) { args.") == ["t:x:y"]


def test_call_at_names_the_innermost_open_call_and_argument() -> None:
    assert scan.call_at("BEGIN { @h = hist(") == ("hist", 0)
    assert scan.call_at("BEGIN { @h = lhist($x, 0, ") == ("lhist", 2)
    assert scan.call_at("BEGIN { printf(\"%d,\", str(") == ("str", 0)
    assert scan.call_at("BEGIN { printf(\"%d\", count()") == ("printf", 1)
    assert scan.call_at("BEGIN { @m[") is None
    assert scan.call_at("BEGIN { x; ") is None


def test_access_before_gives_the_expression_and_partial_member() -> None:
    assert scan.access_before("t:a:b { args.fi") == ("args", ".", "fi")
    assert scan.access_before("BEGIN { curtask->mm->") == ("curtask->mm", "->", "")
    assert scan.access_before("BEGIN { ((struct task_struct *)$p)->pi") == (
        "((struct task_struct *)$p)", "->", "pi")
    # postfix binds before a cast: `(T *)$p->` accesses $p
    assert scan.access_before("BEGIN { (struct file *)$p->") == ("$p", "->", "")
    assert scan.access_before("BEGIN { x = 1 + args.") == ("args", ".", "")
    assert scan.access_before("BEGIN { pid") is None
    assert scan.access_before('BEGIN { printf("a.') is None  # inside a string


def test_typed_maps_and_variables() -> None:
    text = 'BEGIN { @ = count(); @x[1] = 2; $v = 3; printf("@no $no"); }'
    assert scan.typed_maps(text) == {"@", "@x"}
    assert scan.typed_vars(text) == {"$v"}
