"""Tests for pytrace.passes.compiletime: `Unreachable statement.` around folded ifs."""

from __future__ import annotations


def warnings_of(cp) -> list[str]:
    return [d.message for d in cp.diagnostics if not d.is_error]


def test_exit_in_an_if_folded_on_the_argument_count_is_quiet(checked):
    # `$#` is known when compiling: the usage check is folded, and what follows it is
    # reachable whenever the script is given its argument
    cp = checked('BEGIN { if ($# != 1) { printf("usage\\n"); exit(); } printf("go\\n"); }')
    assert warnings_of(cp) == []


def test_exit_in_both_branches_of_an_if_still_warns(checked):
    cp = checked('BEGIN { if (pid) { exit(); } else { exit(); } printf("never\\n"); }')
    assert warnings_of(cp) == ["Unreachable statement."]


def test_unconditional_exit_still_warns(checked):
    cp = checked('BEGIN { exit(); printf("never\\n"); }')
    assert warnings_of(cp) == ["Unreachable statement."]
