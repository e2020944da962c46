"""Tests for pytrace.repl.lexer, and a fuzz loop: every prefix of a corpus of one-liners
must complete, highlight and be judged (is_complete) without raising."""

from __future__ import annotations

import pytest
from prompt_toolkit.document import Document

from pytrace.parser import is_complete
from pytrace.repl.completer import current_word, suggestions
from pytrace.repl.lexer import ReplLexer, highlight

CORPUS = [
    'BEGIN { printf("hello\\n"); exit(); }',
    "t:syscalls:sys_enter_openat { @opens[comm] = count(); }",
    "tracepoint:syscalls:sys_enter_read /pid == 1/ { @bytes = sum(args.count); }",
    'uprobe:/bin/bash:readline { @lines = count(); }',
    "uretprobe:/bin/bash:readline { printf(\"%s\\n\", str(retval)); }",
    "interval:s:1 { print(@opens); clear(@opens); }",
    "profile:hz:99 { @[kstack] = count(); }",
    "k:vfs_read { @start[tid] = nsecs; }",
    "kr:vfs_read /@start[tid]/ { @us = hist((nsecs - @start[tid]) / 1000); "
    "delete(@start[tid]); }",
    "BEGIN { $x = 1; if ($x > 0) { printf(\"pos\\n\"); } else { printf(\"neg\\n\"); } }",
    "BEGIN { let $i = 0; while ($i < 5) { $i++; } unroll(3) { @c++; } }",
    "BEGIN { @t = (1, \"a\"); printf(\"%d %s\\n\", @t.0, @t.1); }",
    "#include <linux/sched.h>\nk:f { $t = (struct task_struct *)curtask; }",
    "#define N 10\nBEGIN { @a = N; }",
    "struct S { int a; }\nBEGIN { printf(\"%d\\n\", sizeof(struct S)); }",
    "BEGIN { /* block comment */ @x = 0x1f + 1_000; // line\n}",
    "config = { max_map_keys = 10 }\nBEGIN { @m[1] = lhist(2, 0, 10, 1); }",
    "END { printf(\"%d\\n\", $#); } BEGIN { @p = $1; }",
    "s:cpu-clock:1000 { @[cpu] = count(); } END { print(@, 5); }",
    "t:sched:sched_switch { @[args.prev_comm] = max(args.prev_pid); }",
    "BEGIN { for ($kv : @m) { printf(\"%d\\n\", $kv.0); } }",
]


def test_fragments_rebuild_the_text_and_classify_tokens() -> None:
    text = 't:a:b /pid == 1/ { @x[comm] = count(); $v = "s"; if (1) { } } // c'
    frags = highlight(text)
    assert "".join(t for _, t in frags) == text
    styles = dict((t, s) for s, t in frags)
    assert styles["t:a:b"] == "probe"
    assert styles["@x"] == "map" and styles["$v"] == "variable"
    assert styles["count"] == "builtin" and styles["if"] == "keyword"
    assert styles['"s"'] == "string" and styles["// c"] == "comment"
    assert styles["1"] == "number"


@pytest.mark.parametrize(("text", "tail", "style"), [
    ('BEGIN { printf("abc', '"abc', "string"),
    ("BEGIN { /* open", "/* open", "comment"),
    ("BEGIN { `", "`", "error"),
])
def test_partial_input_is_styled_not_rejected(text: str, tail: str, style: str) -> None:
    frags = highlight(text)
    assert "".join(t for _, t in frags) == text
    assert frags[-1] == (style, tail)


def test_lexing_resumes_after_a_bad_character() -> None:
    frags = highlight("BEGIN { ` @a }")
    assert ("error", "`") in frags and ("map", "@a") in frags


def test_prompt_toolkit_lexer_splits_lines() -> None:
    doc = Document('BEGIN {\n  @a = "x";\n}')
    get_line = ReplLexer().lex_document(doc)
    assert "".join(f[1] for f in get_line(1)) == '  @a = "x";'
    assert ("class:map", "@a") in get_line(1)
    assert get_line(5) == []


def test_every_prefix_never_raises() -> None:
    tps = ("syscalls:sys_enter_openat", "sched:sched_switch")
    complete = 0
    for line in CORPUS:
        assert is_complete(line), line
        for end in range(len(line) + 1):
            prefix = line[:end]
            assert "".join(t for _, t in highlight(prefix)) == prefix
            complete += is_complete(prefix)
            for cursor in {0, end // 2, end}:
                word = current_word(prefix, cursor)
                found = suggestions(prefix, cursor, ["@opens", "x"], tracepoints=tps,
                                    symbols=lambda p: ("main",))
                assert all(f.startswith(word) for f in found)
    assert complete > 0


@pytest.mark.parametrize("text", ["BEGIN {", 'BEGIN { printf("a', "BEGIN { /* x",
                                  "k:f /pid", "BEGIN { if (1) {"])
def test_open_entries_are_incomplete(text: str) -> None:
    assert not is_complete(text)


def test_new_keywords_are_highlighted() -> None:
    frags = highlight('macro f(x) { x } import "a.bt"; let @m = lruhash(2);')
    keywords = [t for s, t in frags if s == "keyword"]
    assert keywords == ["macro", "import", "let"]
    assert ("error", "1.5") in highlight("begin { $x = 1.5; }")


@pytest.mark.parametrize("text", ["macro f() { 1 }", "let @m = hash(4);",
                                  "begin { if $x { } }"])
def test_definitions_alone_are_complete_entries(text: str) -> None:
    assert is_complete(text)


def test_a_config_block_alone_waits_for_more() -> None:
    assert not is_complete("config = { max_map_keys = 2 }")
