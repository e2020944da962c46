"""Tests for pytrace.repl.toolbar: what the bottom toolbar says for the input at hand."""

from __future__ import annotations

from pytrace.repl.toolbar import HINT, toolbar_text


def t(text: str, selected: str | None = None, status: str = "") -> str:
    return toolbar_text(text, len(text), selected, status)


def test_the_call_the_cursor_is_in_shows_its_signature() -> None:
    assert t("BEGIN { @h = hist(").startswith("hist(n[, k]) — log2 histogram")
    assert t("BEGIN { @ = lhist($x, 0, 100, ").startswith("lhist(n, min, max, step)")
    assert t('BEGIN { printf("%s", str(').startswith("str(ptr[, len])")


def test_the_word_or_the_menu_choice_comes_first() -> None:
    assert t("BEGIN { @ = count(); pi").startswith("BEGIN") is False
    assert t("BEGIN { @ = co", selected="count").startswith("count() — count the events")
    assert t("BEGIN { @[comm") .startswith("comm — name of the current task")
    text = "BEGIN { @[comm] = 1; }"
    assert toolbar_text(text, text.index("comm") + 2).startswith("comm —")


def test_meta_commands_show_their_usage() -> None:
    assert t(".watch ").startswith(".watch [@MAP ...] [INTERVAL] — ")
    assert t(".", selected=".top").startswith(".top [N] [@MAP ...] [INTERVAL]")


def test_otherwise_the_status_and_the_keys() -> None:
    assert t("") == HINT
    assert t("t:syscalls:", status="2 probes attached") == f"2 probes attached · {HINT}"
    assert t("BEGIN { @x = 1 + ") == HINT
