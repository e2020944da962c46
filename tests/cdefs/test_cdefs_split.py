"""Splitting the C preamble from the bpftrace part, lines and columns kept."""

from __future__ import annotations

from pytrace.cdefs.split import scan_preamble, split_program

PROGRAM = """#!/usr/bin/env bpftrace
// tools start like this
#ifndef BPFTRACE_HAVE_BTF
#include <linux/sched.h>
not C at all
#endif
#define ADD(a, b) \\
   ((a) + (b))
struct S {
  int x;
}
typedef struct { int a; } pair_t;
enum E { A, B };
config = { max_strlen = 10 }
BEGIN { printf("%d\\n", ADD(1, 2)); }
"""


def test_preamble_and_body_keep_every_line() -> None:
    s = split_program(PROGRAM)
    assert s.has_preamble
    assert s.body.count("\n") == PROGRAM.count("\n") and len(s.body) == len(PROGRAM)
    body_lines, lines = s.body.split("\n"), PROGRAM.split("\n")
    assert body_lines[0] == lines[0]  # the shebang stays for the parser
    assert body_lines[13:15] == lines[13:15]  # config and the probe, unchanged
    assert all(not x.strip() for x in body_lines[1:13])
    c_lines = s.c_text.split("\n")
    assert not c_lines[0].strip() and c_lines[4] == "not C at all"
    assert c_lines[10] == "};"  # bpftrace allows the struct without its ';'
    assert not "".join(c_lines[13:]).strip()


def test_programs_without_preamble() -> None:
    for text in ("BEGIN { exit(); }", "  // c\nkprobe:f { }", "config = { x = 1 } BEGIN {}",
                 "struct_thing:x { }"):
        s = split_program(text)
        assert not s.has_preamble and s.body == text


def test_definition_forms() -> None:
    text = "struct a;\nunion u { int x; } __attribute__((packed));\n" \
           "typedef unsigned long ul;\nenum { X = 1 }\nBEGIN {}"
    end, missing = scan_preamble(text)
    assert text[end:].lstrip().startswith("BEGIN")
    assert len(missing) == 1 and text[missing[0] - 1] == "}"


def test_comments_inside_definitions() -> None:
    text = "struct a { int x; /* } */ int y; // }\n}\ni:s:1 { }"
    end, _ = scan_preamble(text)
    assert text[end:].strip() == "i:s:1 { }"
