"""Hypothesis fuzzing of pytrace.parser: any text gives a Program or Diagnostics, never raises."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytrace import nodes
from pytrace.parser import is_complete, parse
from pytrace.source import Source

CORPUS = [
    "BEGIN { printf(\"hello\\n\"); exit(); }",
    "tracepoint:syscalls:sys_enter_openat { printf(\"%s %s\\n\", comm, str(args.filename)); }",
    "t:syscalls:sys_enter_read /pid == 1234/ { @bytes[comm] = sum(args->count); }",
    "kprobe:vfs_read { @start[tid] = nsecs; }",
    "kretprobe:vfs_read /@start[tid]/ { @ns = hist(nsecs - @start[tid]); delete(@start[tid]); }",
    "profile:hz:99 { @[kstack] = count(); }",
    "interval:s:1 { print(@c); clear(@c); }",
    "i:ms:100 { @x++; if (@x > 10) { exit(); } }",
    "uprobe:/bin/bash:readline { @[comm] = count(); }",
    "uretprobe:/bin/bash:readline { printf(\"%s\\n\", str(retval)); }",
    "uprobe:/lib/x.so:0x1234 /pid/ { @ = lhist(arg0, 0, 100, 10); }",
    "BEGIN { $x = (uint8)-1; $y = (struct task_struct *)curtask; print($y->pid); }",
    "BEGIN { @m[1, 2] = 3; @m[(1, 2)] = 4; for ($kv : @m) { print($kv.0); } }",
    "BEGIN { for ($i : 0..10) { if ($i == 5) { break; } } }",
    "BEGIN { $i = 0; while ($i < 10) { $i++; continue; } }",
    "BEGIN { unroll(5) { @x += 2; } }",
    "BEGIN { let $x: uint32 = 5; let $y; $y = $x << 2 | 1; }",
    "BEGIN { $t = (1, \"two\", 3); print($t.1); }",
    "BEGIN { $r = (a=1, b=2); }",
    "BEGIN { print(sizeof(struct task_struct)); print(offsetof(struct x, a.b)); }",
    "BEGIN { @x = $1 + $#; }",
    "BEGIN { $a = 1 ? 2 : 3; $b = !$a && ~$a || -$a; $c = *$a & $a; }",
    "#include <linux/sched.h>\nBEGIN { }",
    "#define MAX 10\nBEGIN { print(MAX); }",
    "struct X { int a; };\nBEGIN { }",
    "config = { max_map_keys = 10 }\nBEGIN { }",
    "#!/usr/bin/env bpftrace\nEND { print(1) }",
    "BEGIN, END { @ = count(); }",
    "software:faults:100 { @[comm] = count() }",
    "rawtracepoint:sys_enter { @[arg1] = count() }",
    "usdt:./prog:provider:probe { print(arg0) }",
    "watchpoint:0x1234:8:rw { print(1) }",
    "BEGIN { if (1) { } else if (2) { } else { return; } }",
    "BEGIN { @a[\"x\"] = 1; print(@a[\"x\"]); zero(@a); }",
    "BEGIN { printf(\"%d %x %s\\n\", 1, 0x1f, \"a\\tb\"); }",
    "BEGIN { $x = 1_000_000 + 1e6 + 017; }",
    "BEGIN { @s = stats(1); @a = avg(2); @mi = min(3); @ma = max(4); }",
    "kprobe:mod:func+16 { print(func) }",
    "uprobe:\"/path with space\":f { }",
    "BEGIN { /* c */ print(1); // x\n }",
]

TOKEN_RE = re.compile(r"\s+|\w+|\S")


def check(text: str) -> None:
    prog, diags = parse(Source("fuzz", text))
    if prog is None:
        assert diags and all(d.is_error for d in diags)
        for d in diags:
            assert d.message
            assert d.span is None or d.span.line >= 1
    else:
        assert isinstance(prog, nodes.Program) and diags == []
        assert prog.probes
    assert isinstance(is_complete(text), bool)


def test_corpus_is_valid() -> None:
    for text in CORPUS:
        prog, diags = parse(Source("corpus", text))
        assert diags == [], (text, diags)
        assert prog is not None


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.text(max_size=80))
def test_random_text_never_raises(text: str) -> None:
    check(text)


ALPHABET = st.sampled_from(list("{}()[];,:/*+-=<>!&|^~?.@$#\"'\\ \n\t0123456789xabcBEGIN_"))


@FUZZ
@given(st.lists(ALPHABET, max_size=60).map("".join))
def test_random_punctuation_never_raises(text: str) -> None:
    check("BEGIN { " + text)
    check(text)


@st.composite
def char_mutation(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(CORPUS))
    for _ in range(draw(st.integers(1, 3))):
        pos = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["delete", "insert", "duplicate"]))
        if kind == "delete":
            text = text[:pos] + text[pos + 1:]
        elif kind == "insert":
            text = text[:pos] + draw(st.characters()) + text[pos:]
        else:
            text = text[:pos] + text[pos:pos + 3] + text[pos:]
    return text


@st.composite
def token_mutation(draw: st.DrawFn) -> str:
    tokens = TOKEN_RE.findall(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 3))):
        if not tokens:
            break
        i = draw(st.integers(0, len(tokens) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "copy"]))
        if kind == "delete":
            del tokens[i]
        elif kind == "duplicate":
            tokens.insert(i, tokens[i])
        elif kind == "swap" and i + 1 < len(tokens):
            tokens[i], tokens[i + 1] = tokens[i + 1], tokens[i]
        else:
            tokens.insert(draw(st.integers(0, len(tokens))), tokens[i])
    return "".join(tokens)


@FUZZ
@given(char_mutation())
def test_char_mutations_never_raise(text: str) -> None:
    check(text)


@FUZZ
@given(token_mutation())
def test_token_mutations_never_raise(text: str) -> None:
    check(text)
